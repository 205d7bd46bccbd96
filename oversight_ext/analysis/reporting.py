"""Analyse a whole study and write it up: :func:`analyze` (frame in, tables and notes out),
:func:`report` (one self-contained HTML file: inline SVG charts, tables, the design, and
what could not be computed and why; no scripts, no network, readable offline)."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import polars as pl
import vl_convert as vlc
from tqdm.auto import tqdm

from oversight_ext.study.plan import AnalysisPlan

from . import charts, effects, metrics, mixed
from .agreement import agreement as rater_agreement
from .config import AnalysisConfig
from .frames import study_frame
from .multiplicity import tests_table
from .qc import qc_raters, qc_reliability, split_qc

__all__ = ["Analysis", "AnalysisConfig", "analyze", "report"]


@dataclass
class Analysis:
    """Every table an analysis produced, a note for everything it could not, and the
    warnings its steps raised (fallbacks an interval or a model rests on)."""

    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"tables": {k: v.to_dicts() for k, v in self.tables.items()}, "notes": list(self.notes), "warnings": list(self.warnings)}


def analyze(
    frame: pl.DataFrame, config: AnalysisConfig | None = None, *, plan: AnalysisPlan | None = None, progress: bool = False
) -> Analysis:
    """Metrics, agreement, effects (two-way cluster bootstrap, McNemar, order, mixed model)
    and the sandwiching table of a study frame. Never raises for thin data: a study with no
    judgments, one rater or no gold gets the tables it can support and notes for the rest.

    Judgments of QC items (``is_qc``) enter no estimate: they give the ``qc_raters`` and
    ``qc_reliability`` tables only. ``plan`` (the study's pre-registered
    :class:`~oversight_ext.study.plan.AnalysisPlan`) names the primary contrast, the
    adjustment of every other test (the ``tests`` table) and the QC threshold; without one
    every test is secondary."""
    config = config or AnalysisConfig()
    if config.raters not in ("auto", "all", "human", "simulated"):
        raise ValueError(f"raters={config.raters!r}: use 'auto', 'human', 'simulated' or 'all'")
    out = Analysis()
    frame = _choose_raters(frame, config.raters, out)
    if frame.height == 0:
        if not out.notes:
            out.notes.append("no judgments yet: nothing to analyse")
        return out
    frame, qc = split_qc(frame)
    frame = _quality_control(frame, qc, config, plan, out)
    gold = frame.filter(pl.col("label").is_not_null()) if "label" in frame.columns else frame.clear()
    if gold.height == 0:
        out.notes.append("no judged item has a gold label: accuracy, catch rate, calibration and effects need gold")
    if frame["rater"].n_unique() < 2:
        out.notes.append("one rater: agreement needs two or more, and intervals cannot reflect variation between raters")
    f = metrics.outcomes(frame, tolerance=config.tolerance)
    conditions = sorted(f["condition"].unique().to_list())
    control = effects.default_control(f)
    steps = [
        ("summary", lambda: metrics.summary(f, tolerance=config.tolerance)),
        ("accuracy", lambda: effects.condition_means(f, n_boot=config.n_boot, seed=config.seed, level=config.level)),
        ("calibration", lambda: metrics.calibration(f)),
        ("dispositions", lambda: metrics.dispositions(f)),
        ("over_reliance", lambda: metrics.over_reliance(f)),
        ("agreement", lambda: rater_agreement(f)),
        ("effects", lambda: _effects(f, config)),
        ("mcnemar", lambda: _mcnemar(f, control, conditions)),
        ("order_effects", lambda: effects.order_effects(f, n_boot=config.n_boot, seed=config.seed, level=config.level)),
        ("sandwich", lambda: metrics.sandwich(f, n_boot=config.n_boot, seed=config.seed)),
    ]
    if config.mixed_model:
        steps.append(("mixed_model", lambda: mixed.fit_mixed(f, mixed.MixedConfig(control=control, level=config.level))))
    for name, step in tqdm(steps, desc="analysis", disable=not progress):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                table = step()
        except (ValueError, np.linalg.LinAlgError, pl.exceptions.ColumnNotFoundError) as exc:
            out.notes.append(f"{name}: not computed: {exc}")
            continue
        out.warnings += list(dict.fromkeys(f"{name}: {w.message}" for w in caught if issubclass(w.category, UserWarning)))
        if table.height == 0:
            out.notes.append(f"{name}: not computed: {_why_empty(name, f, control, conditions)}")
            continue
        out.tables[name] = table
        if "note" in table.columns:
            out.notes += [f"{name}: {n}" for n in table["note"].drop_nulls().unique().to_list()]
    _multiplicity(out, plan)
    return out


def _choose_raters(frame: pl.DataFrame, raters: str, out: Analysis) -> pl.DataFrame:
    """People and simulated raters are analysed apart unless ``raters='all'`` asks to pool them."""
    if "rater_kind" not in frame.columns or frame.height == 0:
        return frame
    kinds = set(frame["rater_kind"].drop_nulls().to_list())
    chosen = raters if raters != "auto" else ("human" if "human" in kinds else "simulated")
    if chosen != "all":
        left_out = frame.filter(pl.col("rater_kind") != chosen).height
        frame = frame.filter(pl.col("rater_kind") == chosen)
        if left_out:
            other = "simulated raters" if chosen == "human" else "people"
            out.notes.append(
                f"raters={raters!r}: analysed {chosen} raters only; left out {left_out} judgments by {other}"
                " (raters='all' pools them, on request only)"
            )
    if frame.height:
        kinds_t = frame.group_by("rater_kind").agg(pl.len().alias("n"), pl.col("rater").n_unique().alias("raters")).sort("rater_kind")
        out.tables["raters"] = kinds_t
        if kinds_t["rater_kind"].to_list() == ["simulated"]:
            out.notes.append("every judgment here comes from simulated raters, not people")
        if kinds_t.height > 1:
            out.notes.append("raters='all': judgments by simulated raters and by people are pooled, as asked")
    return frame


def _quality_control(
    frame: pl.DataFrame, qc: pl.DataFrame, config: AnalysisConfig, plan: AnalysisPlan | None, out: Analysis
) -> pl.DataFrame:
    """QC tables, and raters below the pre-registered threshold left out when asked."""
    if qc.height == 0:
        return frame
    threshold = plan.qc_min_accuracy if plan is not None else None
    raters = qc_raters(qc, threshold=threshold, level=config.level)
    out.notes.append(f"left out {qc.height} judgments of {qc['item_id'].n_unique()} QC items from every estimate (QC tables only)")
    if raters.height:
        out.tables["qc_raters"] = raters
        out.tables["qc_reliability"] = reliability = qc_reliability(qc)
        out.notes += [f"qc_reliability: {n}" for n in reliability["note"].drop_nulls().to_list()]
    if threshold is not None and config.qc_exclude and raters.height:
        below = raters.filter(~pl.col("passes"))["rater"].to_list()
        if below:
            frame = frame.filter(~pl.col("rater").is_in(below))
            out.notes.append(
                f"left out {len(below)} rater(s) below the pre-registered QC accuracy {threshold:g}: {', '.join(below)}"
                " (qc_exclude=False keeps them)"
            )
    return frame


def _multiplicity(out: Analysis, plan: AnalysisPlan | None) -> None:
    primary = None
    if plan is not None and plan.primary_treatment is not None:
        primary = (plan.primary_treatment, plan.primary_outcome)
    else:
        out.notes.append("no pre-registered primary contrast ([analysis] primary_treatment): every test is secondary")
    method = plan.adjust if plan is not None else "holm"
    tests = tests_table(out.tables, primary=primary, method=method)
    if tests.height:
        out.tables = {"tests": tests, **out.tables}
        if primary is not None and not (tests["role"] == "primary").any():
            out.notes.append(f"the pre-registered primary contrast {primary[1]}: {primary[0]} vs control could not be computed")


def _effects(f: pl.DataFrame, config: AnalysisConfig) -> pl.DataFrame:
    parts = [
        effects.effect(f, outcome=o, n_boot=config.n_boot, seed=config.seed, level=config.level)
        for o in ("correct", "caught", "false_alarm")
        if o in f.columns and f[o].drop_nulls().len()
    ]
    return pl.concat(parts) if parts else pl.DataFrame()


def _mcnemar(f: pl.DataFrame, control: str | None, conditions: list[str]) -> pl.DataFrame:
    parts = [effects.mcnemar(f, treatment=c, control=control) for c in conditions if control and c != control]
    parts = [p for p in parts if p.height]
    return pl.concat(parts) if parts else pl.DataFrame()


def _why_empty(name: str, f: pl.DataFrame, control: str | None, conditions: list[str]) -> str:
    if name in ("effects", "mcnemar", "order_effects") and len(conditions) < 2:
        return f"needs two or more conditions with judgments of gold items (have {conditions})"
    if name in ("dispositions", "over_reliance"):
        return "no rater dispositions of AI comments (or no planted-wrong comments) in these judgments"
    if name == "mcnemar":
        return f"no item judged under both {control!r} and another condition"
    return "no judgments of gold items"


# ----------------------------------------------------------------------------- HTML


def build_charts(analysis: Analysis) -> dict[str, alt.Chart]:
    """The report's charts, for the tables the analysis has."""
    t = analysis.tables
    out: dict[str, alt.Chart] = {}
    if "accuracy" in t:
        out["Accuracy by condition"] = charts.accuracy_chart(t["accuracy"])
    if "sandwich" in t:
        out["Sandwiching"] = charts.sandwich_chart(t["sandwich"])
    if "calibration" in t:
        out["Calibration"] = charts.calibration_chart(t["calibration"])
    if "dispositions" in t:
        out["Dispositions of AI comments"] = charts.dispositions_chart(t["dispositions"])
    if "safety" in t:
        out["Safety vs audit budget (monitor + human)"] = charts.safety_chart(t["safety"])
    return out


def _table(frame: pl.DataFrame) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "" if v != v else f"{v:.4g}"
        if v is None:
            return ""
        return html.escape(str(v) if not isinstance(v, (list, dict)) else json.dumps(v, default=str))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in frame.iter_rows())
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.85em;display:block;overflow-x:auto}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.notes li{color:#8a4b00}
pre{background:#f7f7f7;padding:1em;overflow:auto}figure{margin:1em 0}"""


def _primary_section(analysis: Analysis) -> str:
    """The pre-registered primary contrast first, then how many secondary tests were adjusted."""
    tests = analysis.tables.get("tests")
    out = ["<h2>Primary contrast (pre-registered)</h2>"]
    if tests is None or not (tests["role"] == "primary").any():
        out.append("<p>No primary contrast was computed; every test below is secondary (see the notes).</p>")
    else:
        row = tests.filter(pl.col("role") == "primary").row(0, named=True)
        eff = analysis.tables["effects"]
        outcome, rest = row["test"].split(": ", 1)
        e = eff.filter((pl.col("outcome") == outcome) & (pl.col("treatment") == rest.split(" - ")[0])).row(0, named=True)
        out.append(
            f"<p><b>{html.escape(row['test'])}</b>: difference {e['difference']:+.3f}, "
            f"95% interval [{e['ci_low']:.3f}, {e['ci_high']:.3f}], p = {e['p_value']:.3g} (unadjusted: the one confirmatory test).</p>"
        )
    if tests is not None:
        sec = tests.filter(pl.col("role") == "secondary")
        if sec.height:
            out.append(
                f"<p>{sec.height} secondary tests, p-values adjusted by {html.escape(str(sec['method'][0]))} "
                "(table <i>tests</i>, column p_adjusted): exploratory, not confirmatory.</p>"
            )
    return "".join(out)


def render_html(study: dict[str, Any], analysis: Analysis, design: pl.DataFrame) -> str:
    """The report page: design, notes, charts as inline SVG, and every table."""
    name = html.escape(str(study.get("name", "")))
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Study {name}</title><style>{_CSS}</style></head><body>"]
    parts.append(f"<h1>Study {name}</h1><p>Report written {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC.</p>")
    parts.append("<h2>Design</h2>")
    facts = pl.DataFrame(
        {
            "fact": ["seed", "code version", "created", "owner", "assignments", "raters", "items"],
            "value": [
                str(study.get("seed")),
                str(study.get("code_version")),
                str(study.get("created_at")),
                str(study.get("owner")),
                str(design.height),
                str(design["rater"].n_unique() if design.height else 0),
                str(design["item_id"].n_unique() if design.height else 0),
            ],
        }
    )
    parts.append(_table(facts))
    if design.height:
        parts.append(
            _table(design.group_by("condition").agg(pl.len().alias("assignments"), pl.col("is_qc").sum().alias("qc")).sort("condition"))
        )
    for label, key in (("Study configuration", "config"), ("Analysis options", "analysis_config")):
        shown = html.escape(json.dumps(study.get(key), indent=2, default=str))
        parts.append(f"<details open><summary>{label}</summary><pre>{shown}</pre></details>")
    if analysis.warnings:
        parts.append("<h2>Warnings: fallbacks the figures rest on</h2>")
        parts.append("<ul class='notes'>" + "".join(f"<li>{html.escape(w)}</li>" for w in analysis.warnings) + "</ul>")
    parts.append("<h2>Notes: caveats and what could not be computed</h2>")
    if analysis.notes:
        parts.append("<ul class='notes'>" + "".join(f"<li>{html.escape(n)}</li>" for n in analysis.notes) + "</ul>")
    else:
        parts.append("<p>Everything was computed.</p>")
    parts.append(_primary_section(analysis))
    parts.append("<h2>Charts</h2>")
    for title, chart in build_charts(analysis).items():
        svg = vlc.vegalite_to_svg(chart.to_dict())
        parts.append(f"<figure><figcaption><b>{html.escape(title)}</b></figcaption>{svg}</figure>")
    parts.append("<h2>Tables</h2>")
    for key, table in analysis.tables.items():
        parts.append(f"<h3>{html.escape(key.replace('_', ' '))}</h3>{_table(table)}")
    parts.append("</body></html>")
    return "\n".join(parts)


def study_plan(study: Any) -> AnalysisPlan:
    """The stored study's analysis plan, its primary treatment defaulting to the first assisted
    condition (a study stored before plans existed gets that default too)."""
    stored = study.config.get("analysis") if hasattr(study, "config") else None
    try:
        plan = AnalysisPlan.from_dict(dict(stored) if stored else None)
    except ValueError:
        plan = AnalysisPlan()
    if plan.primary_treatment is None and getattr(study, "assisted_conditions", None):
        plan = replace(plan, primary_treatment=study.assisted_conditions[0].name)
    return plan


def _attention_table(store: Any, study: str, info: Any) -> pl.DataFrame | None:
    """Per condition, what raters had on screen (:mod:`.attention`), QC items left out; None
    when no judgment of the study carries an attention record."""
    from .attention import attention_frame, attention_report

    frame = attention_frame(store, study)
    qc = sorted(getattr(info, "qc_item_ids", ()) or ())
    if qc:
        frame = frame.filter(~pl.col("item_id").is_in(qc))
    if frame.is_empty() or not frame["recorded"].any():
        return None
    return attention_report(frame.filter(pl.col("recorded")))


def _safety_tables(store: Any, study: str, info: Any, config: AnalysisConfig, analysis: Analysis) -> None:
    """Detection by condition and the safety curve (:mod:`.safety`), for a study with an audit
    budget or sabotage items; a note instead when they cannot be computed."""
    from oversight_ext.items.sabotage.common import SOURCE

    from .safety import SafetyError, study_safety

    if getattr(info, "audit_budget_hunks", None) is None and not _has_items_of(store, study, SOURCE):
        return
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = study_safety(store, study, n_boot=max(config.n_boot, 100), seed=config.seed, level=config.level,
                                  tolerance=config.tolerance, raters=config.raters)  # fmt: skip
    except SafetyError as exc:
        analysis.notes.append(f"safety: not computed: {exc}")
        return
    analysis.warnings += list(dict.fromkeys(f"detection: {w.message}" for w in caught if issubclass(w.category, UserWarning)))
    if result.detection.height:
        analysis.tables["detection"] = result.detection
    analysis.tables["safety"] = result.curve
    analysis.notes += [f"safety: {n}" for n in result.notes]


def _has_items_of(store: Any, study: str, source: str) -> bool:
    """Whether some item of ``study`` comes from ``source`` (ids asked in chunks: SQLite caps bound parameters)."""
    ids = sorted({a.item_id for a in store.assignments(study)})
    for k in range(0, len(ids), 500):
        found = store.iter_items(source=source, ids=ids[k : k + 500])
        try:
            if next(found, None) is not None:
                return True
        finally:
            found.close()  # releases the connection the generator holds
    return False


def report(store: Any, study: str, out_path: str | os.PathLike[str], config: AnalysisConfig | None = None) -> Path:
    """Analyse ``study`` and write the report to ``out_path`` (one HTML file); returns the path."""
    out = Path(out_path)
    if out.exists() and out.is_dir():
        raise ValueError(f"out_path={str(out)!r} is a directory; give a file name such as report.html")
    info = store.study(study)
    analysis = analyze(study_frame(store, study), config, plan=study_plan(info))
    attention = _attention_table(store, study, info)
    if attention is not None:
        analysis.tables["attention"] = attention
    _safety_tables(store, study, info, config or AnalysisConfig(), analysis)
    page = render_html({**info.to_row(), "analysis_config": asdict(config or AnalysisConfig())}, analysis, store.assignments_frame(study))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out

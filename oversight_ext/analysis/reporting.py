"""Analyse a whole study and write it up: :func:`analyze` (frame in, tables and notes out),
:func:`report` (one self-contained HTML file: inline SVG charts, tables, the design, and
what could not be computed and why; no scripts, no network, readable offline)."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import polars as pl
import vl_convert as vlc
from tqdm.auto import tqdm

from . import charts, effects, metrics, mixed
from .agreement import agreement as rater_agreement
from .config import AnalysisConfig
from .frames import study_frame

__all__ = ["Analysis", "AnalysisConfig", "analyze", "report"]


@dataclass
class Analysis:
    """Every table an analysis produced, and a note for everything it could not."""

    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"tables": {k: v.to_dicts() for k, v in self.tables.items()}, "notes": list(self.notes)}


def analyze(frame: pl.DataFrame, config: AnalysisConfig | None = None, *, progress: bool = False) -> Analysis:
    """Metrics, agreement, effects (two-way cluster bootstrap, McNemar, order, mixed model)
    and the sandwiching table of a study frame. Never raises for thin data: a study with no
    judgments, one rater or no gold gets the tables it can support and notes for the rest."""
    config = config or AnalysisConfig()
    if config.raters not in ("all", "human", "simulated"):
        raise ValueError(f"raters={config.raters!r}: use 'all', 'human' or 'simulated'")
    out = Analysis()
    if config.raters != "all" and "rater_kind" in frame.columns:
        left_out = frame.filter(pl.col("rater_kind") != config.raters).height
        frame = frame.filter(pl.col("rater_kind") == config.raters)
        if left_out:
            out.notes.append(f"raters={config.raters!r}: left out {left_out} judgments by other raters; use raters='all' to include them")
    if "rater_kind" in frame.columns and frame.height:
        kinds = frame.group_by("rater_kind").agg(pl.len().alias("n"), pl.col("rater").n_unique().alias("raters")).sort("rater_kind")
        out.tables["raters"] = kinds
        if kinds["rater_kind"].to_list() == ["simulated"]:
            out.notes.append("every judgment here comes from simulated raters, not people")
        if kinds.height > 1:
            out.notes.append("judgments by simulated raters and by people are both included; set raters='human' to analyse people only")
    if frame.height == 0:
        if not out.notes:
            out.notes.append("no judgments yet: nothing to analyse")
        return out
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
            table = step()
        except (ValueError, np.linalg.LinAlgError, pl.exceptions.ColumnNotFoundError) as exc:
            out.notes.append(f"{name}: not computed: {exc}")
            continue
        if table.height == 0:
            out.notes.append(f"{name}: not computed: {_why_empty(name, f, control, conditions)}")
            continue
        out.tables[name] = table
        if "note" in table.columns:
            out.notes += [f"{name}: {n}" for n in table["note"].drop_nulls().unique().to_list()]
    return out


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
    parts.append("<h2>Notes: caveats and what could not be computed</h2>")
    if analysis.notes:
        parts.append("<ul class='notes'>" + "".join(f"<li>{html.escape(n)}</li>" for n in analysis.notes) + "</ul>")
    else:
        parts.append("<p>Everything was computed.</p>")
    parts.append("<h2>Charts</h2>")
    for title, chart in build_charts(analysis).items():
        svg = vlc.vegalite_to_svg(chart.to_dict())
        parts.append(f"<figure><figcaption><b>{html.escape(title)}</b></figcaption>{svg}</figure>")
    parts.append("<h2>Tables</h2>")
    for key, table in analysis.tables.items():
        parts.append(f"<h3>{html.escape(key.replace('_', ' '))}</h3>{_table(table)}")
    parts.append("</body></html>")
    return "\n".join(parts)


def report(store: Any, study: str, out_path: str | os.PathLike[str], config: AnalysisConfig | None = None) -> Path:
    """Analyse ``study`` and write the report to ``out_path`` (one HTML file); returns the path."""
    out = Path(out_path)
    if out.exists() and out.is_dir():
        raise ValueError(f"out_path={str(out)!r} is a directory; give a file name such as report.html")
    info = store.study(study)
    analysis = analyze(study_frame(store, study), config)
    page = render_html({**info.to_row(), "analysis_config": asdict(config or AnalysisConfig())}, analysis, store.assignments_frame(study))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out

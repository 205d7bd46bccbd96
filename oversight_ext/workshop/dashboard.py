"""The instructor dashboard: the class's progress and results as polars frames and altair charts.

The same figures back the notebook functions (``dashboard(store, study)`` shows them all) and
the owner-only REST route the JupyterLab panel polls (:func:`dashboard_data` returns the
aggregates and the charts' Vega-Lite specs). Everything is computed from the analysis package's
study frame (:func:`oversight_ext.analysis.frames.study_frame`) and metrics, so the dashboard
and the written report never disagree; its tables, like every estimate, leave out the
judgments of QC items (:func:`oversight_ext.analysis.qc.drops_qc`). Simulated raters are always marked: charts colour or
split them apart, and every table carries ``rater_kind``.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl
from statsmodels.stats.proportion import proportion_confint

from oversight_ext.analysis.frames import study_frame
from oversight_ext.analysis.metrics import accuracy, over_reliance
from oversight_ext.analysis.qc import drops_qc
from oversight_ext.store import Store
from oversight_ext.study.config import SLOT_PREFIX

__all__ = [
    "accuracy_chart",
    "condition_accuracy",
    "dashboard",
    "dashboard_data",
    "misleading_critiques",
    "misled_chart",
    "missed_chart",
    "most_missed",
    "participants",
    "participants_chart",
    "sandwich",
    "sandwich_chart",
]

_KIND_COLOURS = alt.Scale(domain=["human", "simulated"], range=["#1f77b4", "#bbbbbb"])


def _wilson(frame: pl.DataFrame, level: float) -> pl.DataFrame:
    """Add ``ci_low`` / ``ci_high``: the Wilson interval of ``n_correct`` out of ``n``."""
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, pl.Float64).alias("ci_low"), pl.lit(None, pl.Float64).alias("ci_high"))
    low, high = proportion_confint(frame["n_correct"].to_numpy(), frame["n"].to_numpy(), alpha=1 - level, method="wilson")
    return frame.with_columns(pl.Series("ci_low", low, pl.Float64), pl.Series("ci_high", high, pl.Float64))


def _kind_filter(frame: pl.DataFrame, include_simulated: bool) -> pl.DataFrame:
    return frame if include_simulated else frame.filter(pl.col("rater_kind") != "simulated")


# ---------------------------------------------------------------------------- tables


def participants(store: Store, study: str) -> pl.DataFrame:
    """One row per enrolled rater: ``rater``, ``rater_kind``, ``done`` and ``total`` assignments.

    Unclaimed open-enrolment slots are not participants and are left out.
    """
    design = store.assignments_frame(study).filter(~pl.col("rater").str.starts_with(SLOT_PREFIX))
    judged = store.judgments_frame(study=study, cannot_judge=True).select("assignment_id").unique()
    kinds = store.raters_frame().select(pl.col("id").alias("rater"), pl.col("kind").alias("rater_kind"))
    schema = {"rater": pl.Utf8, "rater_kind": pl.Utf8, "done": pl.Int64, "total": pl.Int64}
    if design.height == 0:
        return pl.DataFrame(schema=schema)
    done = design.select("rater", pl.col("id").is_in(judged["assignment_id"].implode()).alias("_done"))
    return (
        done.group_by("rater")
        .agg(pl.col("_done").sum().cast(pl.Int64).alias("done"), pl.len().cast(pl.Int64).alias("total"))
        .join(kinds, on="rater", how="left")
        .with_columns(pl.col("rater_kind").fill_null("human"))
        .select(list(schema))
        .sort("rater_kind", "rater")
    )


@drops_qc
def condition_accuracy(frame: pl.DataFrame, *, level: float = 0.95, include_simulated: bool = True) -> pl.DataFrame:
    """Accuracy per condition and rater kind with a Wilson ``level`` interval.

    The interval treats judgments as independent, which is right for a live classroom view;
    the report's effects (:func:`oversight_ext.analysis.effects.effect`) cluster by rater and item.
    """
    f = _kind_filter(frame, include_simulated)
    acc = accuracy(f, by=("condition", "condition_kind", "rater_kind"))
    return _wilson(acc, level)


@drops_qc
def sandwich(frame: pl.DataFrame, *, level: float = 0.95, include_simulated: bool = True) -> pl.DataFrame:
    """The sandwiching comparison: the model alone, people alone, and people with the model.

    ``who`` is "model alone" (each shown critique's verdict against gold, once per critique),
    "people alone" (unassisted judgments) or "people + model" (assisted ones), per condition.
    Oversight works when people with the model beat both of the others.
    """
    f = _kind_filter(frame, include_simulated).filter(pl.col("label").is_not_null())
    people = (
        accuracy(f, by=("condition", "condition_kind"))
        .with_columns(
            pl.when(pl.col("condition_kind") == "assisted").then(pl.lit("people + model")).otherwise(pl.lit("people alone")).alias("who")
        )
        .drop("condition_kind")
    )
    shown = f.filter(pl.col("critique_verdict").is_not_null()).unique("critique_id")
    model = (
        shown.with_columns((pl.col("critique_verdict") == pl.col("label")).alias("correct"))
        .pipe(accuracy, by=("condition",))
        .with_columns(pl.lit("model alone").alias("who"))
    )
    out = pl.concat([model.select(people.columns), people]) if model.height else people
    order = {"model alone": 0, "people alone": 1, "people + model": 2}
    return _wilson(out, level).sort(pl.col("who").replace_strict(order, return_dtype=pl.Int64), "condition")


@drops_qc
def most_missed(frame: pl.DataFrame, *, k: int = 10, include_simulated: bool = True) -> pl.DataFrame:
    """The ``k`` gold items most often judged wrong: ``item_id``, ``label``, ``n``, ``n_wrong``, ``miss_rate``."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r}: give the number of items to list, an integer >= 1")
    f = _kind_filter(frame, include_simulated).filter(pl.col("correct").is_not_null())
    return (
        f.group_by("item_id", "label")
        .agg(pl.len().cast(pl.Int64).alias("n"), (~pl.col("correct")).sum().cast(pl.Int64).alias("n_wrong"))
        .with_columns((pl.col("n_wrong") / pl.col("n")).alias("miss_rate"))
        .filter(pl.col("n_wrong") > 0)
        .sort(["miss_rate", "n", "item_id"], descending=[True, True, False])
        .head(k)
    )


@drops_qc
def misleading_critiques(frame: pl.DataFrame, *, k: int = 10, include_simulated: bool = True) -> pl.DataFrame:
    """The ``k`` critiques that misled most: wrong verdicts people followed, planted claims they kept.

    Built on :func:`oversight_ext.analysis.metrics.over_reliance` grouped by critique:
    ``followed`` of ``wrong_critiques`` judgments agreed with a wrong verdict;
    ``accepted_planted`` of ``planted_claims`` dispositions kept a planted-wrong comment.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r}: give the number of critiques to list, an integer >= 1")
    f = _kind_filter(frame, include_simulated).filter(pl.col("critique_id").is_not_null())
    if f.height == 0:
        return over_reliance(frame.clear(), by=("critique_id", "item_id")).with_columns(pl.lit(0, pl.Int64).alias("misled"))
    out = over_reliance(f, by=("critique_id", "item_id"))
    return (
        out.with_columns((pl.col("followed") + pl.col("accepted_planted")).alias("misled"))
        .filter(pl.col("misled") > 0)
        .sort(["misled", "critique_id"], descending=[True, False])
        .head(k)
    )


# ---------------------------------------------------------------------------- charts


def participants_chart(table: pl.DataFrame) -> alt.Chart:
    """Bars of assignments done per participant, simulated raters in grey."""
    return (
        alt.Chart(table, title="Participants: items done")
        .mark_bar()
        .encode(
            y=alt.Y("rater:N", sort=None, title=None),
            x=alt.X("done:Q", title="done"),
            color=alt.Color("rater_kind:N", scale=_KIND_COLOURS, title="rater"),
            tooltip=["rater", "rater_kind", "done", "total"],
        )
    )


def accuracy_chart(table: pl.DataFrame) -> alt.LayerChart:
    """Accuracy per condition with intervals; human and simulated raters side by side."""
    base = alt.Chart(table, title="Accuracy by condition").encode(
        x=alt.X("condition:N", title=None), xOffset="rater_kind:N", color=alt.Color("rater_kind:N", scale=_KIND_COLOURS, title="rater")
    )
    points = base.mark_point(filled=True, size=80).encode(
        y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), title="accuracy"),
        tooltip=["condition", "rater_kind", "n", "accuracy", "ci_low", "ci_high"],
    )
    return base.mark_rule().encode(y=alt.Y("ci_low:Q", title="accuracy"), y2="ci_high:Q") + points


def sandwich_chart(table: pl.DataFrame) -> alt.FacetChart:
    """Model alone, people alone, people + model: accuracy with intervals."""
    base = alt.Chart(table, title="Sandwiching: do people with the model beat both?").encode(
        y=alt.Y("who:N", sort=["model alone", "people alone", "people + model"], title=None),
        color=alt.Color("who:N", legend=None),
    )
    points = base.mark_point(filled=True, size=80).encode(
        x=alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1]), title="accuracy"),
        tooltip=["who", "condition", "n", "accuracy", "ci_low", "ci_high"],
    )
    return (base.mark_rule().encode(x=alt.X("ci_low:Q", title="accuracy"), x2="ci_high:Q") + points).facet(
        row=alt.Row("condition:N", title=None)
    )


def missed_chart(table: pl.DataFrame) -> alt.Chart:
    """The items most often judged wrong."""
    return (
        alt.Chart(table, title="Most-missed items")
        .mark_bar()
        .encode(
            y=alt.Y("item_id:N", sort="-x", title=None),
            x=alt.X("miss_rate:Q", scale=alt.Scale(domain=[0, 1]), title="share judged wrong"),
            color=alt.Color("label:N", title="gold"),
            tooltip=["item_id", "label", "n", "n_wrong", "miss_rate"],
        )
    )


def misled_chart(table: pl.DataFrame) -> alt.Chart:
    """The critiques people followed most when they were wrong."""
    return (
        alt.Chart(table, title="Critiques that misled most")
        .mark_bar()
        .encode(
            y=alt.Y("item_id:N", sort="-x", title=None),
            x=alt.X("misled:Q", title="times followed while wrong"),
            tooltip=["critique_id", "item_id", "followed", "wrong_critiques", "accepted_planted", "planted_claims"],
        )
    )


# ---------------------------------------------------------------------------- together


def _tables(store: Store, study: str, include_simulated: bool, level: float) -> dict[str, pl.DataFrame]:
    frame = study_frame(store, study)
    people = participants(store, study)
    return {
        "participants": _kind_filter(people, include_simulated),
        "accuracy": condition_accuracy(frame, level=level, include_simulated=include_simulated),
        "sandwich": sandwich(frame, level=level, include_simulated=include_simulated),
        "most_missed": most_missed(frame, include_simulated=include_simulated),
        "misleading": misleading_critiques(frame, include_simulated=include_simulated),
    }


def _charts(tables: dict[str, pl.DataFrame]) -> dict[str, Any]:
    return {
        "participants": participants_chart(tables["participants"]),
        "accuracy": accuracy_chart(tables["accuracy"]),
        "sandwich": sandwich_chart(tables["sandwich"]),
        "most_missed": missed_chart(tables["most_missed"]),
        "misleading": misled_chart(tables["misleading"]),
    }


def dashboard(store: Store, study: str, *, include_simulated: bool = True, level: float = 0.95) -> alt.VConcatChart:
    """Every dashboard chart, stacked: what the JupyterLab panel shows, for a notebook.

    Re-run the cell to refresh; the figures come from the store at the time of the call.
    """
    charts = _charts(_tables(store, study, include_simulated, level))
    return alt.vconcat(*charts.values()).resolve_scale(color="independent")


def dashboard_data(store: Store, study: str, *, include_simulated: bool = True, level: float = 0.95, svg: bool = False) -> dict[str, Any]:
    """The dashboard as JSON: each table's rows (aggregates only) and each chart's Vega-Lite spec.

    ``svg=True`` adds ``svgs``: each chart drawn to SVG on the server (vl-convert), which is
    what the JupyterLab panel shows, so it needs no charting library of its own.
    """
    tables = _tables(store, study, include_simulated, level)
    keep = {"most_missed": ["item_id", "label", "n", "n_wrong", "miss_rate"]}
    rows = {name: (t.select(keep[name]) if name in keep else t).to_dicts() for name, t in tables.items()}
    totals = tables["participants"]
    charts = {name: chart.to_dict() for name, chart in _charts(tables).items()}
    out: dict[str, Any] = {
        "study": study,
        "include_simulated": include_simulated,
        "n_participants": totals.filter(pl.col("rater_kind") == "human").height,
        "n_simulated": totals.filter(pl.col("rater_kind") == "simulated").height,
        "done": int(totals["done"].sum()) if totals.height else 0,
        "total": int(totals["total"].sum()) if totals.height else 0,
        "tables": rows,
        "charts": charts,
    }
    if svg:
        import vl_convert

        out["svgs"] = {name: vl_convert.vegalite_to_svg(spec) for name, spec in charts.items()}
    return out

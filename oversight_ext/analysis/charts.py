"""Altair charts of a study's results. Each builder takes the frame an analysis function
returns (named in its docstring) and returns an ``alt.Chart``; :mod:`.report` renders them
to inline SVG, a notebook displays them as they are."""

from __future__ import annotations

import altair as alt
import polars as pl

__all__ = ["accuracy_chart", "calibration_chart", "dispositions_chart", "safety_chart", "sandwich_chart"]

_WIDTH = 360


def accuracy_chart(means: pl.DataFrame, *, title: str = "Accuracy by condition") -> alt.Chart:
    """Points with interval bars, from :func:`.effects.condition_means` (``condition``,
    ``mean``, ``ci_low``, ``ci_high``, ``n``)."""
    data = means
    base = alt.Chart(data).encode(y=alt.Y("condition:N", title=None, sort=None))
    bars = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("ci_low:Q", title="accuracy (95% two-way cluster interval)", scale=alt.Scale(domain=[0, 1])), x2="ci_high:Q"
    )
    points = base.mark_point(filled=True, size=80).encode(
        x="mean:Q",
        tooltip=[
            "condition",
            alt.Tooltip("mean:Q", format=".3f"),
            "n",
            alt.Tooltip("ci_low:Q", format=".3f"),
            alt.Tooltip("ci_high:Q", format=".3f"),
        ],
    )
    return (bars + points).properties(width=_WIDTH, title=title)  # type: ignore[return-value]


def calibration_chart(bins: pl.DataFrame, *, title: str = "Calibration") -> alt.Chart:
    """Accuracy against stated confidence per condition, from :func:`.metrics.calibration`;
    the dashed diagonal is perfect calibration."""
    diagonal = (
        alt.Chart(pl.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]})).mark_line(strokeDash=[4, 4], color="gray").encode(x="x:Q", y="y:Q")
    )
    base = alt.Chart(bins).encode(
        x=alt.X("mean_confidence:Q", title="stated confidence", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("accuracy:Q", title="accuracy", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("condition:N"),
    )
    lines = base.mark_line() + base.mark_point(filled=True).encode(
        size=alt.Size("n:Q", title="judgments"),
        tooltip=["condition", "bin", "n", alt.Tooltip("mean_confidence:Q", format=".2f"), alt.Tooltip("accuracy:Q", format=".3f")],
    )
    return (diagonal + lines).properties(width=_WIDTH, height=_WIDTH, title=title)  # type: ignore[return-value]


def dispositions_chart(dispositions: pl.DataFrame, *, title: str = "What raters did with AI comments") -> alt.Chart:
    """Stacked shares of keep / edit / reject per condition, honest and planted-wrong comments
    side by side, from :func:`.metrics.dispositions`."""
    data = dispositions.with_columns(
        pl.when(pl.col("planted")).then(pl.lit("planted-wrong comments")).otherwise(pl.lit("other comments")).alias("comments")
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("condition:N", title=None),
            x=alt.X("share:Q", stack="normalize", title="share of comments", axis=alt.Axis(format="%")),
            color=alt.Color("action:N", scale=alt.Scale(domain=["keep", "edit", "reject"], range=["#4c78a8", "#f2cf5b", "#e45756"])),
            column=alt.Column("comments:N", title=None),
            tooltip=["condition", "comments", "action", "n", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(width=_WIDTH // 2, title=title)
    )


def sandwich_chart(sandwich: pl.DataFrame, *, title: str = "Sandwiching: human, critic, human + critic, gold") -> alt.Chart:
    """One bar per judge (unassisted human, critic alone, human + critic, gold) with interval
    bars where known, from :func:`.metrics.sandwich` (the Bowman et al. 2022 table as a picture)."""
    data = sandwich
    order = sandwich["judge"].to_list()
    base = alt.Chart(data).encode(y=alt.Y("judge:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)))
    bars = base.mark_bar().encode(
        x=alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1]), title="accuracy against gold"),
        color=alt.Color("role:N", legend=None),
        tooltip=["judge", alt.Tooltip("accuracy:Q", format=".3f"), "n"],
    )
    rules = base.mark_rule(color="black").encode(x="ci_low:Q", x2="ci_high:Q")
    return (bars + rules).properties(width=_WIDTH, title=title)  # type: ignore[return-value]


def safety_chart(curve: pl.DataFrame, *, title: str = "Safety at each audit budget: monitor + human") -> alt.Chart:
    """Safety against the audit budget (log scale), one line per variant with its bootstrap
    interval as a band, from :func:`.safety.safety_curve`."""
    data = curve.filter(pl.col("safety").is_not_null())
    budgets = sorted(set(data["budget"].to_list()))
    x = alt.X(
        "budget:Q",
        title="audit budget (share of items audited)",
        scale=alt.Scale(type="log", domain=[min(budgets), max(budgets)], nice=False),
        axis=alt.Axis(format="%", values=budgets),
    )
    base = alt.Chart(data).encode(
        x=x, color=alt.Color("variant:N", title=None, legend=alt.Legend(orient="bottom", columns=2, labelLimit=300))
    )
    band = base.mark_area(opacity=0.15).encode(
        y=alt.Y("ci_low:Q", title="safety (flawed items audited and caught)", scale=alt.Scale(domain=[0, 1])), y2="ci_high:Q"
    )
    line = base.mark_line(point=True).encode(
        y="safety:Q",
        tooltip=["variant", alt.Tooltip("budget:Q", format=".0%"), alt.Tooltip("safety:Q", format=".3f"),
                 alt.Tooltip("ci_low:Q", format=".3f"), alt.Tooltip("ci_high:Q", format=".3f")],
    )  # fmt: skip
    return (band + line).properties(width=_WIDTH, height=_WIDTH * 2 // 3, title=title)  # type: ignore[return-value]

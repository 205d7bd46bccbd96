"""One primary test, the rest secondary with adjusted p-values.

A report that runs two contrasts on three outcomes, McNemar, a mixed model and order
effects holds a dozen tests; at 0.05 each, one of them is likely "significant" by chance.
The pre-registered primary contrast (:class:`oversight_ext.study.plan.AnalysisPlan`) keeps
its raw p-value: it is the one confirmatory test. Every other test is one family of
secondary tests, adjusted by Holm (family-wise error; the default) or Benjamini-Hochberg
(false discovery rate), as the plan declares. statsmodels' ``multipletests`` does the
arithmetic; :func:`tests_table` decides which test is which.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from statsmodels.stats.multitest import multipletests

__all__ = ["adjust", "tests_table"]

_METHODS = {"holm": "holm", "bh": "fdr_bh"}


def adjust(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values ("holm" or "bh"); nulls stay null and do not count."""
    if method not in _METHODS:
        raise ValueError(f"method={method!r}: use 'holm' or 'bh'")
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=_METHODS[method])[1]
    return out


def tests_table(tables: dict[str, pl.DataFrame], *, primary: tuple[str, str] | None, method: str) -> pl.DataFrame:
    """Every test in the analysis' tables, one row each: ``source`` (table), ``test`` (what
    it compares), ``role`` (primary | secondary), ``p_value``, ``p_adjusted`` (the raw
    value for the primary test), ``method``.

    ``primary`` is (treatment, outcome) of the pre-registered contrast in the ``effects``
    table; None (no plan) makes every test secondary."""
    rows: list[dict[str, object]] = []
    if "effects" in tables:
        for r in tables["effects"].iter_rows(named=True):
            is_primary = primary is not None and (r["treatment"], r["outcome"]) == primary
            rows.append(
                {
                    "source": "effects",
                    "test": f"{r['outcome']}: {r['treatment']} - {r['control']}",
                    "role": "primary" if is_primary else "secondary",
                    "p_value": r["p_value"],
                }
            )
    if "mcnemar" in tables:
        for r in tables["mcnemar"].iter_rows(named=True):
            rows.append({"source": "mcnemar", "test": f"McNemar {r['treatment']} vs {r['control']}", "p_value": r["p_value"]})
    if "mixed_model" in tables:
        for r in tables["mixed_model"].filter((pl.col("kind") == "fixed") & (pl.col("term") != "(Intercept)")).iter_rows(named=True):
            rows.append({"source": "mixed_model", "test": f"mixed model {r['term']}", "p_value": r["p_value"]})
    if "order_effects" in tables:
        for r in tables["order_effects"].iter_rows(named=True):
            rows.append({"source": "order_effects", "test": f"order (late - early) in {r['condition']}", "p_value": r["p_value"]})
    schema = {"source": pl.Utf8, "test": pl.Utf8, "role": pl.Utf8, "p_value": pl.Float64, "p_adjusted": pl.Float64, "method": pl.Utf8}
    if not rows:
        return pl.DataFrame(schema=schema)
    for r in rows:
        r.setdefault("role", "secondary")
    p = np.array([np.nan if r["p_value"] is None else float(r["p_value"]) for r in rows])  # type: ignore[arg-type]
    secondary = np.array([r["role"] == "secondary" for r in rows])
    adjusted = p.copy()
    adjusted[secondary] = adjust(p[secondary], method)
    for r, a, s in zip(rows, adjusted, secondary):
        r["p_adjusted"] = None if not np.isfinite(a) else float(a)
        r["method"] = method if s else "none (primary)"
    order = {"primary": 0, "secondary": 1}
    return pl.DataFrame(rows, schema=schema).sort(pl.col("role").replace_strict(order, return_dtype=pl.Int64), maintain_order=True)

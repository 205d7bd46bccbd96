"""Agreement between raters: Krippendorff's alpha, Fleiss' kappa, pairwise Cohen's kappa.

Alpha comes from the ``krippendorff`` package (fed value counts per item, so a million
judgments never become a rater x item matrix), Fleiss' kappa from statsmodels. Cohen's
kappa for every pair of raters is the scikit-learn formula computed for all pairs at once:
with one sparse rater x item indicator matrix per category, the pairs' contingency tables
are the products ``M_k @ M_l.T``; tests check each pair against
``sklearn.metrics.cohen_kappa_score``.
"""

from __future__ import annotations

from collections.abc import Sequence

import krippendorff
import numpy as np
import polars as pl
from scipy import sparse
from statsmodels.stats.inter_rater import fleiss_kappa

from .qc import drops_qc

__all__ = ["agreement", "pairwise_kappa"]


def _order(values: list, order: Sequence | None, value: str) -> tuple[list, bool]:
    """The values in scale order, and whether that order means something (declared, or
    numeric): ordinal alpha must never rank text labels alphabetically (low < medium < high
    would become high < low < medium)."""
    if order is not None:
        unknown = sorted(set(map(str, values)) - set(map(str, order)), key=str)
        if unknown:
            raise ValueError(f"order={list(order)!r} lacks the value {unknown[0]!r} of column {value!r}; list every value in scale order")
        return [v for v in order if v in set(values)], True
    try:
        return sorted(values, key=float), True
    except (TypeError, ValueError):
        return sorted(values, key=str), False


def _codes(frame: pl.DataFrame, value: str, order: Sequence | None = None) -> tuple[pl.DataFrame, int]:
    f = frame.filter(pl.col(value).is_not_null())
    # Codes follow the scale's order (declared, or numeric), which ordinal alpha relies on;
    # mapping the few distinct values beats ranking a million strings.
    order, _ = _order(f[value].unique().to_list(), order, value)
    f = f.with_columns(
        pl.col(value).replace_strict({v: k for k, v in enumerate(order)}, return_dtype=pl.Int64).alias("_v"),
        pl.col("rater").cast(pl.Utf8).cast(pl.Categorical).to_physical().cast(pl.Int64).alias("_r"),
        pl.col("item_id").cast(pl.Utf8).cast(pl.Categorical).to_physical().cast(pl.Int64).alias("_i"),
    )
    # Dense codes 0..n-1 within this frame (the categorical codes are global to the process).
    f = f.with_columns(pl.col("_r", "_i").rank("dense").cast(pl.Int64) - 1)
    n_values = int(f["_v"].to_numpy().max()) + 1 if f.height else 0
    return f, n_values


@drops_qc
def pairwise_kappa(frame: pl.DataFrame, *, value: str = "verdict", min_shared: int = 2) -> pl.DataFrame:
    """Cohen's kappa of every pair of raters who judged at least ``min_shared`` items in common.

    Returns ``rater_a``, ``rater_b`` (a < b), ``n_shared``, ``kappa`` (null when both raters
    gave one and the same value throughout, where kappa is undefined).
    """
    if min_shared < 1:
        raise ValueError(f"min_shared={min_shared!r}: give the least number of shared items a pair needs (>= 1)")
    schema = {"rater_a": pl.Utf8, "rater_b": pl.Utf8, "n_shared": pl.Int64, "kappa": pl.Float64}
    f, k = _codes(frame, value)
    if f.height == 0:
        return pl.DataFrame(schema=schema)
    raters = f.select("_r", "rater").unique("_r").sort("_r")["rater"].cast(pl.Utf8).to_list()
    n_r, n_i = len(raters), int(f["_i"].to_numpy().max()) + 1
    r, i, v = (f[c].to_numpy() for c in ("_r", "_i", "_v"))
    mats = [sparse.csr_matrix((np.ones(int((v == c).sum())), (r[v == c], i[v == c])), shape=(n_r, n_i)) for c in range(k)]
    total = sparse.csr_matrix((np.ones(len(r)), (r, i)), shape=(n_r, n_i))
    shared = sparse.triu(total @ total.T, k=1).tocoo()
    keep = shared.data >= min_shared
    a, b, n = shared.row[keep], shared.col[keep], shared.data[keep]
    if len(a) == 0:
        return pl.DataFrame(schema=schema)
    agree = np.zeros(len(a))
    expected = np.zeros(len(a))
    rows_seen = np.zeros(len(a))
    cols_seen = np.zeros(len(a))
    both_seen = np.zeros(len(a))
    for c in range(k):
        if c == k - 1 and k == 2:
            # The last of two values needs no products: what is left of the shared items.
            row_c, col_c = n - rows_seen, n - cols_seen
            both = n - rows_seen - cols_seen + both_seen
        else:
            both = (mats[c] @ mats[c].T)[a, b].A1
            # How often each rater of the pair gave value c on the items they share.
            gave = (mats[c] @ total.T).tocsr()
            row_c, col_c = gave[a, b].A1, gave[b, a].A1
            rows_seen, cols_seen, both_seen = rows_seen + row_c, cols_seen + col_c, both_seen + both
        agree += both
        expected += (row_c / n) * (col_c / n)
    observed = agree / n
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = np.where(expected < 1, (observed - expected) / (1 - expected), np.nan)
    names = np.array(raters, dtype=object)
    return pl.DataFrame(
        {"rater_a": names[a].tolist(), "rater_b": names[b].tolist(), "n_shared": n.astype(np.int64), "kappa": kappa}, schema=schema
    ).with_columns(pl.col("kappa").fill_nan(None))


def _text_unordered(frame: pl.DataFrame, value: str, order: Sequence | None) -> bool:
    """True when ``value`` holds text labels with no declared or numeric order."""
    if order is not None or frame.schema[value].is_numeric():
        return False
    return not _order(frame[value].drop_nulls().unique().to_list(), None, value)[1]


def _alpha(counts: np.ndarray, level: str, domain: list[float] | None) -> float | None:
    pairable = counts[counts.sum(1) >= 2]
    if pairable.shape[0] == 0 or (pairable.sum(0) > 0).sum() < 2:
        return None
    return float(krippendorff.alpha(value_counts=pairable, value_domain=domain, level_of_measurement=level))  # type: ignore[arg-type]


def _fleiss(counts: np.ndarray) -> tuple[float | None, int, str]:
    """Fleiss' kappa on every item rated twice or more, when they all have the same number
    of ratings; else none, and a note pointing to Krippendorff's alpha (which takes unequal
    numbers). A subset of items with the modal count would be a biased sample of items."""
    per_item = counts.sum(1)
    table = counts[per_item >= 2]
    if table.shape[0] < 2 or (table.sum(0) > 0).sum() < 2:
        return None, int(table.shape[0]), ""
    sizes = np.unique(table.sum(1))
    if sizes.size > 1:
        return (
            None,
            0,
            (
                f"Fleiss' kappa not computed: items have {int(sizes.min())} to {int(sizes.max())} ratings and it needs equal numbers;"
                " Krippendorff's alpha (which takes unequal numbers) uses all of them"
            ),
        )
    return float(fleiss_kappa(table, method="fleiss")), int(table.shape[0]), ""


@drops_qc
def agreement(
    frame: pl.DataFrame,
    by: Sequence[str] = ("condition",),
    *,
    value: str = "verdict",
    level: str = "nominal",
    min_shared: int = 2,
    order: Sequence | None = None,
) -> pl.DataFrame:
    """Inter-rater agreement per group.

    Columns: ``n_items`` judged by two or more raters, ``krippendorff_alpha`` (``level``:
    nominal, ordinal, interval or ratio; ordinal on text needs ``order``, the scale's
    declared order), ``fleiss_kappa`` over the ``fleiss_items`` items (all items rated twice
    or more; none when their numbers of ratings differ, with a note), ``cohen_kappa``: the
    mean over ``n_pairs`` rater pairs sharing ``min_shared`` or more items (Light's kappa),
    ``cohen_kappa_weighted``: the same weighted by the pairs' shared items,
    ``n_pairs_undefined``: pairs where kappa is undefined (both raters constant), left out of
    both means, and ``note`` saying what could not be computed.
    """
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise ValueError(f"level={level!r}: use 'nominal', 'ordinal', 'interval' or 'ratio'")
    schema = {
        **{c: pl.Utf8 for c in by},
        "n_items": pl.Int64,
        "krippendorff_alpha": pl.Float64,
        "fleiss_kappa": pl.Float64,
        "fleiss_items": pl.Int64,
        "cohen_kappa": pl.Float64,
        "n_pairs": pl.Int64,
        "cohen_kappa_weighted": pl.Float64,
        "n_pairs_undefined": pl.Int64,
        "note": pl.Utf8,
    }
    rows = []
    frame = frame.select(list(dict.fromkeys([*by, "rater", "item_id", value])))
    groups = frame.select(list(by)).unique().sort(list(by)).iter_rows() if by else [()]
    for key in groups:
        sub = frame.filter(*[pl.col(c) == v for c, v in zip(by, key)]) if by else frame
        if level != "nominal" and _text_unordered(sub, value, order):
            raise ValueError(
                f"level={level!r} on text values of {value!r} needs their order: pass order=[...] (e.g. the study's scale);"
                " sorting labels alphabetically would misorder them"
            )
        f, k = _codes(sub, value, order)
        row: dict[str, object] = dict(zip(by, key))
        if f.height == 0:
            rows.append({**row, "n_items": 0, "note": "no judgments"})
            continue
        n_i = int(f["_i"].to_numpy().max()) + 1
        counts = np.zeros((n_i, k))
        np.add.at(counts, (f["_i"].to_numpy(), f["_v"].to_numpy()), 1)
        all_pairs = pairwise_kappa(sub, value=value, min_shared=min_shared)
        pairs = all_pairs.drop_nulls("kappa")
        undefined = all_pairs.height - pairs.height
        fleiss, fleiss_items, fleiss_note = _fleiss(counts)
        # Interval and ratio alpha need the values themselves, not just their order.
        numeric = sub.schema[value].is_numeric()
        domain = f.select("_v", value).unique("_v").sort("_v")[value].cast(pl.Float64).to_list() if numeric else None
        if level in ("interval", "ratio") and not numeric:
            raise ValueError(f"level={level!r} needs numeric values but column {value!r} holds text; use level='nominal' or 'ordinal'")
        alpha = _alpha(counts, level, domain)
        notes = [fleiss_note] if fleiss_note else []
        if undefined:
            notes.append(
                f"Cohen's kappa undefined for {undefined} of {all_pairs.height} rater pairs (both constant): left out of the means"
            )
        if alpha is None:
            notes.append("alpha needs items judged by two or more raters and two or more distinct values")
        if pairs.height == 0:
            notes.append(f"Cohen's kappa needs rater pairs sharing {min_shared}+ items with varied verdicts")
        row.update(
            n_items=int((counts.sum(1) >= 2).sum()),
            krippendorff_alpha=alpha,
            fleiss_kappa=fleiss,
            fleiss_items=fleiss_items,
            cohen_kappa=float(pairs["kappa"].mean()) if pairs.height else None,  # type: ignore[arg-type]
            n_pairs=pairs.height,
            cohen_kappa_weighted=float(np.average(pairs["kappa"], weights=pairs["n_shared"])) if pairs.height else None,
            n_pairs_undefined=undefined,
            note="; ".join(notes) or None,
        )
        rows.append(row)
    return pl.DataFrame(rows, schema=schema)

"""Agreement on declared scales and unbalanced designs, against krippendorff, scikit-learn
and statsmodels."""

from __future__ import annotations

import krippendorff
import numpy as np
import polars as pl
import pytest
from sklearn.metrics import cohen_kappa_score

from oversight_ext.analysis import agreement, pairwise_kappa

SCALE = ("low", "medium", "high")


def ratings(seed: int, n_items: int = 40, n_raters: int = 8, per_item: tuple[int, int] = (2, 5)) -> pl.DataFrame:
    """Text labels on an ordered scale; a varying number of ratings per item."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_items):
        truth = rng.integers(3)
        for r in rng.choice(n_raters, rng.integers(per_item[0], per_item[1] + 1), replace=False):
            v = int(np.clip(truth + rng.integers(-1, 2) * (rng.random() < 0.4), 0, 2))
            rows.append({"rater": f"r{r}", "item_id": f"i{i}", "verdict": SCALE[v]})
    return pl.DataFrame(rows)


def test_ordinal_alpha_takes_the_declared_order_not_the_alphabet() -> None:
    f = ratings(0)
    got = agreement(f, by=(), level="ordinal", order=SCALE).row(0, named=True)
    wide = f.with_columns(pl.col("verdict").replace_strict({v: k for k, v in enumerate(SCALE)}, return_dtype=pl.Float64))
    data = wide.to_pandas().pivot(index="rater", columns="item_id", values="verdict").to_numpy()
    ref = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal")
    alphabetical = krippendorff.alpha(
        reliability_data=f.with_columns(pl.col("verdict").replace_strict({"high": 0.0, "low": 1.0, "medium": 2.0}))
        .to_pandas()
        .pivot(index="rater", columns="item_id", values="verdict")
        .to_numpy(),
        level_of_measurement="ordinal",
    )
    print(
        f"ordinal alpha vs krippendorff: max abs diff {abs(got['krippendorff_alpha'] - ref):.2e}; alphabetical order would be off by {abs(ref - alphabetical):.3f}"
    )
    assert abs(got["krippendorff_alpha"] - ref) < 1e-12 and abs(ref - alphabetical) > 0.02
    with pytest.raises(ValueError, match="needs their order"):
        agreement(f, by=(), level="ordinal")
    with pytest.raises(ValueError, match="lacks the value 'high'"):
        agreement(f, by=(), level="ordinal", order=("low", "medium"))


def test_weighted_kappa_counts_undefined_pairs_and_unbalanced_fleiss_says_so() -> None:
    f = ratings(1)
    # Two raters who always say "medium" on the same items: their pair's kappa is undefined.
    extra = pl.DataFrame({"rater": ["z1"] * 3 + ["z2"] * 3, "item_id": ["i0", "i1", "i2"] * 2, "verdict": ["medium"] * 6})
    f = pl.concat([f, extra])
    row = agreement(f, by=()).row(0, named=True)
    pairs = pairwise_kappa(f)
    wide = f.to_pandas().pivot(index="item_id", columns="rater", values="verdict")
    kappas, weights, undefined = [], [], 0
    for a, b, n, _ in pairs.iter_rows():
        both = wide[[a, b]].dropna()
        with np.errstate(invalid="ignore", divide="ignore"):
            k = cohen_kappa_score(both[a], both[b])
        if np.isnan(k):
            undefined += 1
        else:
            kappas.append(k)
            weights.append(n)
    ref = float(np.average(kappas, weights=weights))
    print(f"shared-item weighted Cohen's kappa vs scikit-learn: max abs diff {abs(row['cohen_kappa_weighted'] - ref):.2e}")
    assert abs(row["cohen_kappa_weighted"] - ref) < 1e-12
    assert row["n_pairs_undefined"] == undefined >= 1 and "undefined for" in row["note"]
    assert row["fleiss_kappa"] is None and row["fleiss_items"] == 0 and "Krippendorff" in row["note"]

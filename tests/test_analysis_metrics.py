"""Metrics and agreement against reference implementations (numpy/pandas by hand,
scikit-learn, statsmodels, krippendorff) on random known-answer frames, to 1e-9."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from oversight_ext.analysis import accuracy, agreement, calibration, calibration_error, pairwise_kappa, summary
from oversight_ext.records import CONFIDENCE_LEVELS


def random_frame(
    seed: int, n_raters: int = 9, n_items: int = 40, per_item: int = 4, values: tuple[str, ...] = ("buggy", "correct")
) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_items):
        label = values[i % len(values)]
        lean = rng.random()
        for r in rng.choice(n_raters, per_item, replace=False):
            verdict = label if rng.random() < lean else values[rng.integers(len(values))]
            rows.append(
                {
                    "rater": f"r{r}",
                    "item_id": f"i{i}",
                    "condition": "a" if (r + i) % 2 else "b",
                    "label": label,
                    "verdict": verdict,
                    "confidence": float(rng.choice(CONFIDENCE_LEVELS)),
                    "time_on_task_s": float(rng.exponential(60)),
                }
            )
    return pl.DataFrame(rows)


def test_accuracy_and_calibration_error_match_a_pandas_reference() -> None:
    f = random_frame(0)
    df = f.to_pandas()
    df["correct"] = df["verdict"] == df["label"]
    ref = df.groupby("condition")["correct"].mean()
    got = accuracy(f).to_pandas().set_index("condition")["accuracy"]
    assert np.allclose(got.loc[ref.index], ref, atol=1e-12)
    # ECE with one bin per confidence level: sum_b n_b / n * |acc_b - conf_b|.
    for cond, g in df.groupby("condition"):
        per = g.groupby("confidence").agg(n=("correct", "size"), acc=("correct", "mean"))
        ece = float(np.sum(per["n"] / per["n"].sum() * np.abs(per["acc"] - per.index.to_numpy())))
        got_ece = calibration_error(f).filter(pl.col("condition") == cond)["calibration_error"].item()
        assert abs(got_ece - ece) < 1e-9
    bins = calibration(f)
    assert set(bins["bin"].to_list()) <= set(range(5)) and bins.group_by("condition").agg(pl.col("n").sum())["n"].sum() == f.height
    s = summary(f).to_pandas().set_index("condition")
    assert np.allclose(s.loc[ref.index, "median_time_s"], df.groupby("condition")["time_on_task_s"].median(), atol=1e-12)


@pytest.mark.parametrize("values", [("buggy", "correct"), ("a", "b", "c")])
def test_pairwise_cohen_kappa_equals_scikit_learn_for_every_pair(values: tuple[str, ...]) -> None:
    f = random_frame(1, values=values)
    pairs = pairwise_kappa(f, min_shared=2)
    assert pairs.height > 10
    wide = f.to_pandas().pivot(index="item_id", columns="rater", values="verdict")
    worst = 0.0
    for a, b, n, kappa in pairs.iter_rows():
        both = wide[[a, b]].dropna()
        assert len(both) == n
        ref = cohen_kappa_score(both[a], both[b])
        if np.isnan(ref):
            assert kappa is None
        else:
            worst = max(worst, abs(kappa - ref))
            assert abs(kappa - ref) < 1e-9
    print(f"pairwise Cohen's kappa vs scikit-learn ({pairs.height} pairs, {len(values)} values): max abs diff {worst:.2e}")


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_krippendorff_alpha_and_fleiss_kappa_equal_the_reference_packages(level: str) -> None:
    f = random_frame(2, values=("1", "2", "3", "4"))
    got = agreement(f, by=(), value="verdict", level=level).row(0, named=True)
    wide = f.to_pandas().pivot(index="rater", columns="item_id", values="verdict").astype(float)
    ref_alpha = krippendorff.alpha(reliability_data=wide.to_numpy(), level_of_measurement=level)
    assert abs(got["krippendorff_alpha"] - ref_alpha) < 1e-9
    # Every item has four ratings, so Fleiss' kappa uses them all.
    ratings = np.array(f.group_by("item_id").agg(pl.col("verdict").cast(pl.Int64))["verdict"].to_list())
    table, _ = aggregate_raters(ratings)
    print(
        f"{level} alpha vs krippendorff: max abs diff {abs(got['krippendorff_alpha'] - ref_alpha):.2e};"
        f" Fleiss' kappa vs statsmodels: {abs(got['fleiss_kappa'] - fleiss_kappa(table)):.2e}"
    )
    assert got["fleiss_items"] == 40 and abs(got["fleiss_kappa"] - fleiss_kappa(table)) < 1e-9
    pairs = pairwise_kappa(f).drop_nulls("kappa")
    assert abs(got["cohen_kappa"] - pairs["kappa"].mean()) < 1e-12 and got["n_pairs"] == pairs.height


def test_agreement_says_what_it_cannot_compute() -> None:
    one = pd.DataFrame({"rater": ["r0"] * 3, "item_id": ["i0", "i1", "i2"], "condition": "a", "verdict": ["buggy", "correct", "buggy"]})
    row = agreement(pl.from_pandas(one)).row(0, named=True)
    assert row["krippendorff_alpha"] is None and row["cohen_kappa"] is None and row["n_pairs"] == 0
    assert "two or more raters" in row["note"] and "Cohen" in row["note"]
    with pytest.raises(ValueError, match="level='bogus'"):
        agreement(pl.from_pandas(one), level="bogus")

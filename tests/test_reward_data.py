"""Reward datasets and label aggregation: pairs, K-way groups, ties, splits, export, judgments in a real store."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from oversight_ext.records import Assignment, Item, Judgment
from oversight_ext.reward import data
from oversight_ext.reward.labels import aggregate, judgment_labels, rater_reliability, votes
from oversight_ext.store import Store


def make_item(i: int, label: str, pair: str | None, body: str = "x") -> Item:
    after = f"def f():\n    return {body}\n"
    diff = f"--- a/f.py\n+++ b/f.py\n@@ -1,2 +1,2 @@\n def f():\n-    return 0\n+    return {body}\n"
    return Item(
        id=f"it{i}", diff=diff, spec=f"task {pair}", after=after, before="def f():\n    return 0\n", pair_id=pair,
        label=label, bug_lines=(2,) if label == "buggy" else (), path="f.py",
    )  # fmt: skip


def paired_items(n_pairs: int) -> list[Item]:
    out = []
    for p in range(n_pairs):
        out += [make_item(2 * p, "correct", f"p{p}", f"ok{p}"), make_item(2 * p + 1, "buggy", f"p{p}", f"bad{p}")]
    return out


def test_pairs_from_gold_put_correct_over_buggy_and_keep_groups() -> None:
    items = [*paired_items(3), make_item(10, "correct", "p0", "ok-again"), make_item(11, "buggy", None)]
    pairs = data.pairs_from_items(items)
    assert pairs.schema == pl.Schema(data.PAIR_SCHEMA)
    hard = pairs.filter(~pl.col("tie"))
    assert hard.height == 4 and all("bad" in r for r in hard["rejected"]) and all("ok" in c for c in hard["chosen"])
    # Two correct members of group p0 form a tie, kept in the same group as its hard pairs.
    ties = pairs.filter(pl.col("tie"))
    assert ties.height == 1 and ties["group_id"][0] == "p0"
    assert data.pairs_from_items(items, text_format="diff")["chosen"][0].startswith("--- a/f.py")
    assert data.pairs_from_items(items, max_pairs_per_group=1).filter(pl.col("group_id") == "p0").height == 1


def test_rankings_give_weighted_kway_groups_and_ties() -> None:
    r = pl.DataFrame({"group_id": ["g"] * 4, "text": list("abcd"), "rank": [1, 2, 2, 3]})
    pairs = data.pairs_from_rankings(r)
    assert pairs.height == 6 and pairs["tie"].sum() == 1
    assert np.isclose(pairs["weight"].sum(), 1.0)
    assert set(pairs.filter(~pl.col("tie"))["chosen"]) <= {"a", "b", "c"}
    with pytest.raises(ValueError, match="rank"):
        data.pairs_from_rankings(pl.DataFrame({"group_id": ["g"], "text": ["a"]}))


def test_split_by_pair_never_leaks_a_pair_id() -> None:
    pairs = data.pairs_from_items(paired_items(20))
    train, held = data.split_by_pair(pairs, 0.25, seed=3)
    assert held.height == 5 and train.height == 15
    assert not set(train["pair_id"]) & set(held["pair_id"])
    again, _ = data.split_by_pair(pairs, 0.25, seed=3)
    assert again.equals(train)


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_export_and_read_back_in_trl_columns(tmp_path: Path, suffix: str) -> None:
    pairs = data.pairs_from_items(paired_items(4)).with_columns(pl.lit(0.5).alias("margin"))
    path = data.export(pairs, tmp_path / f"prefs{suffix}")
    back = data.read_preferences(path)
    assert back.equals(pairs)
    from datasets import Dataset

    ds = Dataset.from_parquet(str(path)) if suffix == ".parquet" else Dataset.from_json(str(path))
    assert {"chosen", "rejected", "margin"} <= set(ds.column_names)


def test_read_minimal_preference_file_and_reject_bad_ones(tmp_path: Path) -> None:
    p = tmp_path / "p.jsonl"
    p.write_text('{"chosen": "good", "rejected": "bad"}\n{"chosen": "fine", "rejected": "worse", "margin": 1.0}\n')
    df = data.read_preferences(p)
    assert df["margin"].to_list() == [0.0, 1.0] and df["pair_id"].n_unique() == 2
    q = tmp_path / "q.jsonl"
    q.write_text('{"prompt": "x", "chosen": "good"}\n')
    with pytest.raises(ValueError, match="rejected"):
        data.read_preferences(q)
    with pytest.raises(ValueError, match="does not exist"):
        data.read_preferences(tmp_path / "none.jsonl")
    with pytest.raises(ValueError, match="suffix"):
        data.export(df, tmp_path / "x.csv")


def test_check_trainable_messages() -> None:
    pairs = data.pairs_from_items(paired_items(2))
    data.check_trainable(pairs, "pairwise")
    with pytest.raises(ValueError, match="empty"):
        data.check_trainable(pairs.head(0), "pairwise")
    with pytest.raises(ValueError, match="tie"):
        data.check_trainable(pairs.with_columns(pl.lit(True).alias("tie")), "pairwise")
    pts = data.pointwise_from_items([it for it in paired_items(2) if it.label == "buggy"])
    with pytest.raises(ValueError, match="identical"):
        data.check_trainable(pts, "pointwise")


def simulated_votes(n_items: int, accuracies: list[float], seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n_items)
    rows = []
    for r, acc in enumerate(accuracies):
        right = rng.random(n_items) < acc
        for i in range(n_items):
            v = truth[i] if right[i] else 1 - truth[i]
            rows.append(
                {"item_id": f"i{i:03d}", "rater": f"r{r}", "condition": "c", "kind": "", "vote": int(v), "confidence": 0.6, "weight": 1.0}
            )
    return pl.DataFrame(rows), truth


def test_dawid_skene_beats_majority_when_raters_differ() -> None:
    v, truth = simulated_votes(300, [0.95, 0.62, 0.6, 0.58, 0.55], seed=0)
    acc = {}
    for m in ("majority", "confidence", "dawid_skene"):
        lab = aggregate(v, m)
        assert lab.height == 300 and lab["label"].is_between(0, 1).all()
        acc[m] = float(((lab.sort("item_id")["label"].to_numpy() > 0.5) == truth).mean())
    assert acc["dawid_skene"] > acc["majority"] + 0.05, acc
    with pytest.raises(ValueError, match="aggregation"):
        aggregate(v, "vote")


def _study(store: Store) -> tuple[list[Item], dict[str, str]]:
    """Four raters; 'good' is right everywhere, 'bad' is wrong on unassisted items; QC measures them."""
    items = paired_items(6)
    store.add_items(items)
    config = {"conditions": [{"name": "with-ai", "kind": "assisted"}, {"name": "alone", "kind": "unassisted"}]}
    assignments, verdicts = [], {}
    for rater in ("good", "bad"):
        store.add_rater(rater, kind="simulated")
        for k, it in enumerate(items):
            cond = "with-ai" if k % 4 < 2 else "alone"
            a = Assignment(id=f"{rater}-{it.id}", study="s", rater=rater, item_id=it.id, condition=cond, position=k, is_qc=k >= 10)
            assignments.append(a)
            wrong = rater == "bad" and (cond == "alone" or a.is_qc)
            verdicts[a.id] = ({"correct": "buggy", "buggy": "correct"}[it.label] if wrong else it.label) or "correct"  # type: ignore[index]
    store.create_study("s", config, assignments, seed=0, code_version="test")
    for a in assignments:
        store.submit(
            Judgment(
                submission_id=str(uuid.uuid4()),
                assignment_id=a.id,
                rater=a.rater,
                verdict=verdicts[a.id],
                confidence=0.8,
                time_on_task_s=5.0,
            )
        )  # type: ignore[arg-type]
    return items, verdicts


def test_labels_from_judgments_by_condition_and_reliability(store: Store) -> None:
    items, _ = _study(store)
    rel = rater_reliability(store, "s").sort("rater")
    assert rel["rater"].to_list() == ["bad", "good"]
    assert rel["qc_n"].to_list() == [2, 2] and rel["reliability"].to_list() == [0.25, 0.75]
    v = votes(store, "s", conditions=["assisted"])
    assert set(v["kind"]) == {"assisted"} and v.height == 2 * 6  # QC items left out
    gold = {it.id: 1.0 if it.label == "correct" else 0.0 for it in items}
    assisted = judgment_labels(store, "s", method="majority", conditions=["assisted"])
    assert all(gold[r["item_id"]] == r["label"] for r in assisted.iter_rows(named=True))
    # Unassisted: the raters disagree; only reliability weighting lets the good rater win.
    flat = judgment_labels(store, "s", method="majority", conditions=["unassisted"], reliability_weighting=False)
    assert set(flat["label"]) == {0.5}
    weighted = judgment_labels(store, "s", method="majority", conditions=["unassisted"])
    assert all(gold[r["item_id"]] == r["label"] for r in weighted.iter_rows(named=True))
    cw = votes(store, "s", condition_weights={"assisted": 0.25, "alone": 2.0}, reliability_weighting=False)
    assert set(cw.filter(pl.col("kind") == "assisted")["weight"]) == {0.25} and set(
        cw.filter(pl.col("condition") == "alone")["weight"]
    ) == {2.0}
    pairs = data.pairs_from_items(items, labels=judgment_labels(store, "s", method="dawid_skene"))
    hard = pairs.filter(~pl.col("tie"))
    assert hard.height >= 3 and all(gold[c] == 1.0 for c in hard["chosen_id"])


def test_fold_splits_hold_every_pair_out_exactly_once() -> None:
    frame = data.pairs_from_items(paired_items(11))
    splits = data.fold_splits(frame, 4, seed=0)
    assert len(splits) == 4
    held_ids = [pid for _, held in splits for pid in held["pair_id"].to_list()]
    assert sorted(held_ids) == sorted(frame["pair_id"].to_list())  # each pair_id held out once
    for train, held in splits:
        assert not set(train["pair_id"]) & set(held["pair_id"]) and train.height + held.height == frame.height
    assert sorted(h.height for _, h in splits) == [2, 3, 3, 3]
    assert [h["pair_id"].to_list() for _, h in data.fold_splits(frame, 4, seed=0)] == [h["pair_id"].to_list() for _, h in splits]
    for bad, msg in ((1, "integer >= 2"), (12, "at most 11 folds")):
        with pytest.raises(ValueError, match=msg):
            data.fold_splits(frame, bad, seed=0)


_CODE = '''import math


def area(r):
    """Area of a circle of radius r."""
    if r < 0:
        raise ValueError("negative radius")
    return math.pi * r * r


def clamp(x, lo, hi):
    return max(lo, min(x, hi))
'''


def test_plant_bugs_gives_distinct_parseable_one_change_mutants() -> None:
    import ast

    from oversight_ext.diffs import changed_lines, make_diff
    from oversight_ext.items.mutate import plant_bugs

    got = plant_bugs(_CODE, 6, np.random.default_rng(0))
    texts = [text for _, text in got]
    assert len(texts) == 6 == len(set(texts)) and _CODE not in texts
    for change, text in got:
        ast.parse(text)
        assert change.operator and 1 <= len(changed_lines(make_diff(_CODE, text, "c.py"))["c.py"]) <= 3
    # Same generator state, same mutants; code without a function or that does not parse gives none.
    assert [t for _, t in plant_bugs(_CODE, 6, np.random.default_rng(0))] == texts
    assert plant_bugs("x = 1\n", 3, np.random.default_rng(0)) == [] == plant_bugs("def f(:\n", 3, np.random.default_rng(0))


def test_mutation_pairs_mirror_a_fix_pair_and_stay_with_their_source_pair() -> None:
    items = [
        Item(id="good", diff=make_item(0, "correct", "p").diff, spec="circle task", after=_CODE, pair_id="p", label="correct", path="c.py"),
        make_item(1, "buggy", "p", "bad"),
        make_item(2, "correct", "q", "ok"),  # its code has no mutable site beyond a constant
        make_item(3, "buggy", "q", "bad2"),
    ]
    items.append(
        Item(id="js", diff="--- a/x.js\n+++ b/x.js\n", language="javascript", after="function f() {}", pair_id="r", label="correct")
    )
    items.append(
        Item(id="js-bad", diff="--- a/x.js\n+++ b/x.js\n", language="javascript", after="function f() { x }", pair_id="r", label="buggy")
    )
    pairs = data.pairs_from_items(items, text_format="spec+diff")
    by_id = {it.id: it for it in items}
    extra = data.mutation_pairs(pairs, by_id, 3, text_format="spec+diff", seed=1)
    assert extra.columns == pairs.columns and not extra["tie"].any()
    assert set(extra["pair_id"]) <= {"p", "q"}  # never the JavaScript pair
    p_rows = extra.filter(pl.col("pair_id") == "p")
    assert p_rows.height == 3 and p_rows["group_id"].n_unique() == 3
    for row in p_rows.iter_rows(named=True):
        assert row["chosen"].startswith("circle task\n\n--- a/c.py") and row["rejected"].startswith("circle task\n\n--- a/c.py")
        # chosen removes the planted lines that rejected adds: the two diffs are mirror images.
        added = {ln[1:] for ln in row["rejected"].splitlines() if ln.startswith("+") and not ln.startswith("+++")}
        removed = {ln[1:] for ln in row["chosen"].splitlines() if ln.startswith("-") and not ln.startswith("---")}
        assert added and added == removed
    assert data.mutation_pairs(pairs, by_id, 0).height == 0
    with pytest.raises(ValueError, match="per_pair = -1 is invalid"):
        data.mutation_pairs(pairs, by_id, -1)


def test_critique_text_and_pairs_that_read_the_critique() -> None:
    from oversight_ext.records import Comment, Critique
    from oversight_ext.reward.config import RewardTrainingConfig

    items = paired_items(2)
    flag = Comment(id="c1", path="f.py", start_line=2, end_line=2, text="Returns bad0, the example expects ok0.", severity="critical")
    crit = {
        "it1": Critique(
            id="k1", item_id="it1", assistant="exec", comments=(flag,), verdict="buggy", confidence=0.9, summary="Buggy: fails 1 case."
        ),
        "it0": Critique(id="k0", item_id="it0", assistant="exec", verdict="correct", confidence=0.85, summary="Looks correct."),
        "it2": Critique(id="k2", item_id="it2", assistant="exec", status="failed", reason="timed out after 10 s"),
    }
    assert data.critique_text(crit["it1"]) == (
        "Critique: verdict buggy, confidence 0.90. Buggy: fails 1 case.\n- line 2 (new, critical bug): Returns bad0, the example expects ok0."
    )
    pairs = data.pairs_from_items(items, text_format="diff", critiques=crit).sort("pair_id")
    first, second = pairs.row(0, named=True), pairs.row(1, named=True)
    assert first["chosen"] == "Critique: verdict correct, confidence 0.85. Looks correct.\n\n" + items[0].diff
    assert first["rejected"].startswith("Critique: verdict buggy, confidence 0.90.") and first["rejected"].endswith(items[1].diff)
    assert second["chosen"].startswith("Critique: none (the critic failed: timed out after 10 s).\n\n")
    assert second["rejected"].startswith("Critique: none (no critique of this item).\n\n")
    # Without critiques the texts are the items alone; pointwise rows read them the same way.
    assert data.pairs_from_items(items, text_format="diff").sort("pair_id")["chosen"][0] == items[0].diff
    assert data.pointwise_from_items(items, text_format="diff", critiques=crit)["text"][1] == first["rejected"]
    with pytest.raises(ValueError, match="cannot be combined: pairs with planted bugs have no critique"):
        RewardTrainingConfig(critique="exec", mutation_pairs=2)

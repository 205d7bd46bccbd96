"""The assignment table: balance, no repeats, determinism, Latin-square counterbalancing, QC."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oversight_ext.study import StudyConfig, assign, latin_square
from oversight_ext.study.design import qc_count


def make_config(n_conditions: int = 2, overlap: int = 1, n_raters: int = 8, **kw: object) -> StudyConfig:
    base: dict[str, object] = {
        "name": "s",
        "seed": 3,
        "conditions": [{"name": f"c{i}"} for i in range(n_conditions)],
        "overlap": overlap,
        "raters": [f"r{i:02d}" for i in range(n_raters)],
    }
    base.update(kw)
    return StudyConfig.from_dict(base)


def items(n: int) -> list[str]:
    return [f"i{i:03d}" for i in range(n)]


def check_balance(config: StudyConfig, table: list, n_items: int) -> None:
    main = [a for a in table if not a.is_qc]
    # No rater sees an item twice (QC items included).
    assert len({(a.rater, a.item_id) for a in table}) == len(table)
    # Each item is rated under each condition by exactly `overlap` raters.
    cells = Counter((a.item_id, a.condition) for a in main)
    assert set(cells.values()) == {config.overlap}
    assert len(cells) == n_items * len(config.conditions)
    # Loads: each rater's number of study items within one of every other's (per group).
    per_rater = Counter(a.rater for a in main)
    if config.design == "within":
        assert max(per_rater.values()) - min(per_rater.values()) <= 1
        counts = Counter((a.rater, a.condition) for a in main)
        for r in config.rater_ids():
            row = [counts[(r, c)] for c in config.condition_names]
            assert max(row) - min(row) <= 1, (r, row)
    else:
        assert all(len({a.condition for a in main if a.rater == r}) == 1 for r in per_rater)
    # Positions form 0..n-1 per rater.
    for r in per_rater:
        assert sorted(a.position for a in table if a.rater == r) == list(range(sum(1 for a in table if a.rater == r)))


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(
    n_conditions=st.integers(1, 4),
    overlap=st.integers(1, 3),
    extra_raters=st.integers(0, 9),
    n_items=st.integers(1, 30),
    seed=st.integers(0, 2**31),
    design=st.sampled_from(["within", "between"]),
)
def test_balance_holds_for_any_size(n_conditions: int, overlap: int, extra_raters: int, n_items: int, seed: int, design: str) -> None:
    n_raters = n_conditions * overlap + extra_raters
    config = make_config(n_conditions, overlap, n_raters, seed=seed, design=design)
    table = assign(config, items(n_items))
    check_balance(config, table, n_items)


def test_same_seed_same_table_and_other_seed_other_table() -> None:
    config = make_config(3, 2, 9, qc_rate=0.1)
    qc = [f"q{i}" for i in range(4)]
    a = assign(config, items(20), qc_item_ids=qc)
    assert a == assign(config, items(20), qc_item_ids=qc)
    b = assign(make_config(3, 2, 9, qc_rate=0.1, seed=4), items(20), qc_item_ids=qc)
    assert [(x.rater, x.item_id, x.condition) for x in a] != [(x.rater, x.item_id, x.condition) for x in b]


def test_latin_square_is_williams() -> None:
    for n in range(1, 7):
        rows = latin_square(n)
        assert len(rows) == (2 * n if n % 2 and n > 1 else n)
        for row in rows:
            assert sorted(row) == list(range(n))
        for col in range(n):  # each condition equally often at each position
            assert len(set(Counter(row[col] for row in rows).values())) == 1
        pairs = Counter((row[i], row[i + 1]) for row in rows for i in range(n - 1))
        if n > 1:  # first-order carry-over balanced: every ordered pair equally often
            assert len(pairs) == n * (n - 1) and len(set(pairs.values())) == 1
    with pytest.raises(ValueError, match="at least one condition"):
        latin_square(0)


@pytest.mark.parametrize("order", ["interleaved", "blocked"])
def test_order_is_counterbalanced(order: str) -> None:
    # 2 conditions, 8 raters: Williams rows (c0, c1) and (c1, c0), four raters each.
    config = make_config(2, 1, 8, order=order)
    table = assign(config, items(24))
    queues: dict[str, list[str]] = {}
    for a in sorted(table, key=lambda a: (a.rater, a.position)):
        queues.setdefault(a.rater, []).append(a.condition)
    first = Counter(q[0] for q in queues.values())
    assert first == {"c0": 4, "c1": 4}
    for q in queues.values():
        assert Counter(q) == {"c0": 3, "c1": 3}
        if order == "interleaved":
            assert all(q[i] != q[i + 1] for i in range(len(q) - 1)), q
        else:
            assert q == [q[0]] * 3 + [q[-1]] * 3 and q[0] != q[-1]
    # Mean position of each condition is the same across raters (no condition always first).
    mean_pos = {c: sum(a.position for a in table if a.condition == c) / sum(1 for a in table if a.condition == c) for c in ("c0", "c1")}
    assert abs(mean_pos["c0"] - mean_pos["c1"]) < 1e-9


def test_three_conditions_each_first_equally_often() -> None:
    config = make_config(3, 1, 12)
    table = assign(config, items(12))
    firsts = Counter(a.condition for a in table if a.position == 0)
    assert firsts == {"c0": 4, "c1": 4, "c2": 4}


def test_qc_items_at_rate_under_qc_condition_with_time_limit() -> None:
    config = make_config(2, 1, 4, qc_rate=0.2, time_limit_s=300, conditions=[{"name": "plain"}, {"name": "other"}])
    qc = [f"q{i}" for i in range(6)]
    table = assign(config, items(20), qc_item_ids=qc)
    check_balance(config, table, 20)
    for r in config.rater_ids():
        queue = [a for a in table if a.rater == r]
        n_qc = sum(a.is_qc for a in queue)
        assert n_qc == qc_count(10, 0.2) == 2
        assert all(a.condition == "plain" for a in queue if a.is_qc)
    assert {a.time_limit_s for a in table} == {300.0}
    assert {a.item_id for a in table if a.is_qc} <= set(qc)


def test_open_slots_get_slot_ids_and_display_follows_condition() -> None:
    config = StudyConfig.from_dict(
        {
            "name": "open",
            "seed": 1,
            "open_slots": 4,
            "conditions": [{"name": "u"}, {"name": "v", "kind": "assisted", "assistant": "lint", "display": "verdict"}],
        }
    )
    table = assign(config, items(6))
    assert {a.rater for a in table} == {"slot:001", "slot:002", "slot:003", "slot:004"}
    assert {a.display for a in table if a.condition == "v"} == {"verdict"}
    assert all(a.id == f"open:{a.rater}:{a.position:05d}" for a in table)


def test_bad_item_lists_are_refused() -> None:
    config = make_config()
    with pytest.raises(ValueError, match="no items"):
        assign(config, [])
    with pytest.raises(ValueError, match="each item once"):
        assign(config, ["a", "a"])
    with pytest.raises(ValueError, match="QC items apart"):
        assign(config, ["a", "b"], qc_item_ids=["a"])


@pytest.mark.parametrize("design", ["within", "between"])
def test_open_slots_are_balanced_in_arrival_order(design: str) -> None:
    # Open enrolment fills slots in arrival order: each block of slots (one per Latin-square
    # row, or per condition) must cover every row / condition, in a seeded random order.
    firsts = []
    for seed in (1, 2):
        config = StudyConfig.from_dict(
            {"name": "o", "seed": seed, "open_slots": 12, "design": design, "conditions": [{"name": f"c{i}"} for i in range(3)]}
        )
        table = assign(config, items(30))
        first = [next(a.condition for a in table if a.rater == r and a.position == 0) for r in config.rater_ids()]
        queues = [tuple(a.condition for a in sorted(table, key=lambda a: a.position) if a.rater == r)[:3] for r in config.rater_ids()]
        block = 6 if design == "within" else 3
        for start in range(0, 12, block):
            if design == "within":
                assert len(set(queues[start : start + block])) == block  # six different Latin rows
            else:
                assert sorted(first[start : start + block]) == ["c0", "c1", "c2"]
        firsts.append(first)
    assert firsts[0] != firsts[1]

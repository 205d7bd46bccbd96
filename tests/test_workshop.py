"""The workshop layer over a real store: dashboard tables and charts, reveal, simulated classmates."""

from __future__ import annotations

import json
import os
from pathlib import Path

import altair as alt
import polars as pl
import pytest

from oversight_ext.identity import read_tokens
from oversight_ext.records import Judgment
from oversight_ext.store import Store
from oversight_ext.workshop import (
    OwnerRequired,
    dashboard,
    dashboard_data,
    is_revealed,
    misleading_critiques,
    mix_in_simulated,
    most_missed,
    my_results,
    participants,
    sandwich,
    set_reveal,
    simulated_count,
)
from oversight_ext.workshop.practice import practice_critiques, practice_study


def _judge(store: Store, rater: str, *, right: bool) -> int:
    """``rater`` judges their whole queue, always right or always wrong; returns how many."""
    n = 0
    for a in store.assignments("class", rater=rater):
        label = store.get_item(a.item_id).label
        verdict = label if right else ("correct" if label == "buggy" else "buggy")
        store.submit(
            Judgment(submission_id=f"{rater}-{a.id}", assignment_id=a.id, rater=rater, verdict=verdict, confidence=0.8, time_on_task_s=30.0)
        )
        n += 1
    return n


@pytest.fixture
def klass(store: Store) -> Store:
    practice_study(store, "class", raters=["ann", "ben"], n_items=6, owner="prof", seed=3)
    return store


def test_practice_critiques_plant_the_asked_share_wrong() -> None:
    from oversight_ext.items.mutate import generate_items

    items = generate_items("textwrap", 40, 0)
    crits = practice_critiques(items, wrong_rate=0.25, seed=1)
    wrong = [c for c, it in zip(crits, items) if c.verdict != it.label]
    assert wrong and all(c.planted for c in wrong)
    assert 0.1 < len(wrong) / len(items) < 0.45
    assert all(not c.planted for c, it in zip(crits, items) if c.verdict == it.label)
    with pytest.raises(ValueError, match="wrong_rate"):
        practice_critiques(items, wrong_rate=1.5)


def test_dashboard_tables_follow_the_judgments(klass: Store) -> None:
    assert participants(klass, "class")["done"].to_list() == [0, 0]
    n_ann = _judge(klass, "ann", right=True)
    n_ben = _judge(klass, "ben", right=False)
    people = participants(klass, "class")
    assert dict(zip(people["rater"], people["done"])) == {"ann": n_ann, "ben": n_ben}

    data = dashboard_data(klass, "class")
    acc = pl.DataFrame(data["tables"]["accuracy"])
    assert acc["n"].sum() == n_ann + n_ben
    assert all(lo <= a <= hi for lo, a, hi in zip(acc["ci_low"], acc["accuracy"], acc["ci_high"]))
    # ann always right and ben always wrong: every item judged by both is half missed.
    from oversight_ext.analysis.frames import study_frame

    frame = study_frame(klass, "class")
    missed = most_missed(frame, k=3)
    assert missed.height <= 3 and (missed["n_wrong"] >= 1).all()
    sand = sandwich(frame)
    assert set(sand["who"]) <= {"model alone", "people alone", "people + model"}
    model = sand.filter(pl.col("who") == "model alone")
    shown = frame.filter(pl.col("critique_id").is_not_null()).unique("critique_id")
    assert model["n"].sum() == shown.height
    assert model["n_correct"].sum() == (shown["critique_verdict"] == shown["label"]).sum()
    misled = misleading_critiques(frame)
    # Only ben ever agrees with a wrong verdict (ann is always right).
    wrong_shown = shown.filter(pl.col("critique_verdict") != pl.col("label"))
    assert (
        misled["followed"].sum()
        == frame.filter((pl.col("rater") == "ben") & pl.col("critique_id").is_in(wrong_shown["critique_id"].implode())).height
    )
    assert json.dumps(data)  # JSON-able for the REST route
    svgs = dashboard_data(klass, "class", svg=True)["svgs"]
    assert set(svgs) == set(data["charts"]) and all(v.lstrip().startswith("<svg") for v in svgs.values())
    assert isinstance(dashboard(klass, "class"), alt.VConcatChart)


def test_dashboard_of_an_empty_class_has_every_table(klass: Store) -> None:
    data = dashboard_data(klass, "class")
    assert data["done"] == 0 and data["tables"]["accuracy"] == [] and data["tables"]["misleading"] == []
    dashboard(klass, "class").to_dict()


def test_reveal_is_owner_only_and_gates_own_results(klass: Store) -> None:
    _judge(klass, "ann", right=True)
    with pytest.raises(PermissionError, match="not revealed"):
        my_results(klass, "class", "ann")
    with pytest.raises(OwnerRequired, match="only its owner"):
        set_reveal(klass, "class", True, by="ann")
    assert not is_revealed(klass, "class")
    set_reveal(klass, "class", True, by="prof")
    mine = my_results(klass, "class", "ann")
    assert mine.height == len(klass.assignments("class", rater="ann"))
    assert mine["correct"].all()
    assert my_results(klass, "class", "ben").height == 0  # ben's rows are his alone (none yet)
    set_reveal(klass, "class", False, by="prof")
    with pytest.raises(PermissionError):
        my_results(klass, "class", "ann")
    with pytest.raises(ValueError, match="on="):
        set_reveal(klass, "class", "yes", by="prof")  # type: ignore[arg-type]


def test_simulated_classmates_are_marked(store: Store) -> None:
    practice_study(store, "open", open_slots=6, n_items=6, owner="prof", seed=2)
    with pytest.raises(OwnerRequired):
        mix_in_simulated(store, "open", 2, by="student")
    created = mix_in_simulated(store, "open", 3, by="prof", seed=5)
    assert created > 0 and simulated_count(store, "open") == 3
    assert mix_in_simulated(store, "open", 3, by="prof", seed=5) == 0  # idempotent
    data = dashboard_data(store, "open")
    assert data["n_simulated"] == 3 and data["n_participants"] == 0
    assert {r["rater_kind"] for r in data["tables"]["accuracy"]} == {"simulated"}
    assert dashboard_data(store, "open", include_simulated=False)["tables"]["accuracy"] == []


def test_tokens_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"t-1": "ann"}))
    os.chmod(path, 0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        read_tokens(path)
    os.chmod(path, 0o600)
    assert read_tokens(path) == {"t-1": "ann"}


def test_workshop_cli(sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from oversight_ext.cli import main

    assert (
        main(["workshop", "practice", "cls", "--owner", "prof", "--slots", "4", "--items", "4", "--overlap", "1", "--db", sqlite_url]) == 0
    )
    assert main(["workshop", "simulate", "cls", "--raters", "2", "--by", "prof", "--db", sqlite_url]) == 0
    assert main(["workshop", "reveal", "cls", "--by", "ann", "--db", sqlite_url]) == 2
    assert "only its owner" in capsys.readouterr().err
    assert main(["workshop", "reveal", "cls", "--by", "prof", "--db", sqlite_url]) == 0
    out = tmp_path / "dash.html"
    assert main(["workshop", "dashboard", "cls", "--out", str(out), "--db", sqlite_url]) == 0
    assert "vega" in out.read_text()
    with Store(sqlite_url) as store:
        assert is_revealed(store, "cls") and simulated_count(store, "cls") == 2

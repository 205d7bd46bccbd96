"""The critic protocol, spec loading, store caching, and the lint / replay / planted backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_assistants_arbiter import CLAMP, CLAMP_BUG, clamp_item

from oversight_ext.assistants import (
    AssistantConfig,
    BaseCritic,
    Claim,
    Critic,
    Draft,
    critique_id,
    critique_items,
    list_assistants,
    load_assistant,
)
from oversight_ext.assistants.protocol import critique_item
from oversight_ext.assistants.spec import find_spec
from oversight_ext.diffs import make_diff
from oversight_ext.records import Item

BEFORE = '''def total(xs):
    """Sum of xs.

    >>> total([1, 2, 3])
    6
    """
    s = 0
    for i in range(len(xs)):
        s += xs[i]
    return s
'''
AFTER = BEFORE.replace("range(len(xs))", "range(len(xs) - 1)")


def make_item(item_id: str = "t:1", before: str = BEFORE, after: str = AFTER, label: str = "buggy") -> Item:
    bug = [n for n, (a, b) in enumerate(zip(before.splitlines(), after.splitlines()), 1) if a != b]
    return Item(
        id=item_id,
        diff=make_diff(before, after, "total.py"),
        spec="Sum of xs.\n>>> total([1, 2, 3])\n6",
        path="total.py",
        before=before,
        after=after,
        label=label,  # type: ignore[arg-type]
        bug_lines=tuple(bug) if label == "buggy" else (),
    )


class Scripted(BaseCritic):
    """A backend whose draft the test chooses (or which raises)."""

    def __init__(self, draft: Draft | Exception) -> None:
        super().__init__("scripted", "f" * 64)
        self.draft = draft
        self.calls = 0

    def review(self, item: Item) -> Draft:
        self.calls += 1
        if isinstance(self.draft, Exception):
            raise self.draft
        return self.draft


def test_specs_ship_and_load_by_name() -> None:
    names = list_assistants()
    for name in ("lint", "planted", "replay", "ruff-all", "pylint"):
        assert name in names
    critic = load_assistant("lint")
    assert isinstance(critic, Critic)
    assert critic.name == "lint" and len(critic.spec_hash) == 64


def test_overrides_change_hash_and_unknown_keys_become_params() -> None:
    a = load_assistant("planted", base="lint", rate=0.3, seed=7)
    b = load_assistant("planted", base="lint", rate=0.5, seed=7)
    c = load_assistant("planted", base="lint", rate=0.3, seed=7)
    assert a.spec_hash != b.spec_hash and a.spec_hash == c.spec_hash
    assert a.rate == 0.3 and a.seed == 7  # type: ignore[attr-defined]


def test_unknown_assistant_error_names_it_and_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match=r"'nope' not found.*lint"):
        load_assistant("nope")
    (tmp_path / "mine.toml").write_text('name = "mine"\nbackend = "lint"\n[params]\nscope = "file"\n')
    monkeypatch.setenv("OVERSIGHT_ASSISTANTS", str(tmp_path))
    assert "mine" in list_assistants() and find_spec("mine") == tmp_path / "mine.toml"
    assert load_assistant("mine").scope == "file"  # type: ignore[attr-defined]
    (tmp_path / "bad.toml").write_text('name = "bad"\nbackend = "telepathy"\n')
    with pytest.raises(ValueError, match="backend = 'telepathy' is unknown"):
        load_assistant(tmp_path / "bad.toml")
    with pytest.raises(ValueError, match="verbosity"):
        AssistantConfig(name="x", backend="lint", verbosity=3)


def test_crash_becomes_failed_critique_with_reason() -> None:
    c = critique_item(Scripted(RuntimeError("model server exploded")), make_item())
    assert c.status == "failed" and "model server exploded" in (c.reason or "")
    assert c.id == critique_id("scripted", "f" * 64, "t:1") == "scripted:ffffffffffff:t:1"


def test_lines_that_do_not_exist_are_dropped_and_counted() -> None:
    draft = Draft(claims=[Claim(8, "off by one"), Claim(999, "imaginary line")], verdict="buggy", confidence=0.9)
    c = critique_item(Scripted(draft), make_item())
    assert [x.start_line for x in c.comments] == [8]
    assert c.hallucinated == 1 and c.status == "partial" and "do not exist" in (c.reason or "")
    only_bad = critique_item(Scripted(Draft(claims=[Claim(500, "nowhere")])), make_item())
    assert only_bad.status == "failed" and only_bad.comments == () and only_bad.hallucinated == 1


def test_invalid_backend_output_is_a_failed_critique_not_a_crash() -> None:
    c = critique_item(Scripted(Draft(verdict="buggy", confidence=float("nan"))), make_item())
    assert c.status == "failed" and "invalid critique" in (c.reason or "")


def test_critique_items_caches_in_store(store) -> None:  # type: ignore[no-untyped-def]
    items = [make_item(f"t:{i}") for i in range(5)]
    store.add_items(items)
    critic = Scripted(Draft(claims=[Claim(8, "off by one")], verdict="buggy", confidence=0.8))
    first = critique_items(items, critic, store=store, max_workers=2, progress=False)
    assert [c.item_id for c in first] == [i.id for i in items] and critic.calls == 5
    assert store.count("critiques") == 5
    again = critique_items(items, critic, store=store, max_workers=2, progress=False)
    assert critic.calls == 5 and [c.id for c in again] == [c.id for c in first]
    assert store.find_critique("t:3", critic.spec_hash).comments[0].start_line == 8


def test_failed_critiques_are_returned_but_not_cached(sqlite_store) -> None:  # type: ignore[no-untyped-def]
    items = [make_item("t:1")]
    sqlite_store.add_items(items)
    critic = Scripted(TimeoutError("slow"))
    out = critique_items(items, critic, store=sqlite_store, progress=False)
    assert out[0].status == "failed" and sqlite_store.count("critiques") == 0
    critique_items(items, critic, store=sqlite_store, progress=False)
    assert critic.calls == 2  # retried, not served from cache
    with pytest.raises(ValueError, match="max_workers"):
        critique_items(items, critic, max_workers=0)


def test_lint_flags_changed_lines_only() -> None:
    after = AFTER.replace("    return s\n", "    return undefined_name\n")
    item = make_item(after=after)
    c = critique_item(load_assistant("lint"), item)
    assert c.status == "ok" and c.verdict == "buggy"
    assert any("F821" in x.text and x.start_line == 10 for x in c.comments)
    changed = {8, 10}
    assert all(x.start_line in changed for x in c.comments)
    whole = critique_item(load_assistant("ruff-all"), item)
    assert len(whole.comments) >= len(c.comments)
    java = Item(id="j", diff=item.diff, language="java", before=BEFORE, after=AFTER, path="total.py")
    assert critique_item(load_assistant("lint"), java).status == "failed"


def test_replay_reads_file_and_reports_missing_items(tmp_path: Path) -> None:
    file = tmp_path / "crit.jsonl"
    rows = [
        {"item_id": "t:1", "verdict": "buggy", "confidence": 0.7, "comments": [{"start_line": 8, "text": "loop stops early"}]},
        {"item_id": "t:2", "comments": [{"start_line": 40, "text": "past the end"}, {"text": "no line"}]},
    ]
    file.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    critic = load_assistant("replay", file=str(file))
    c1 = critique_item(critic, make_item("t:1"))
    assert c1.status == "ok" and c1.comments[0].start_line == 8 and c1.verdict == "buggy"
    c2 = critique_item(critic, make_item("t:2"))
    assert c2.hallucinated == 2 and c2.status == "failed"
    c3 = critique_item(critic, make_item("t:3"))
    assert c3.status == "failed" and "no critique of item 't:3'" in (c3.reason or "")
    file.write_text("not json\n")
    assert "line 1 is not JSON" in (critique_item(load_assistant("replay", file=str(file)), make_item()).reason or "")


def test_planted_is_wrong_by_construction_and_marked() -> None:
    critic = load_assistant("planted", base="lint", rate=1.0, seed=3)
    buggy = critique_item(critic, make_item("b", label="buggy"))
    assert buggy.planted and buggy.verdict == "correct" and buggy.confidence and buggy.confidence >= 0.8
    fixed = make_item("c", before=AFTER, after=BEFORE, label="correct")
    wrong = critique_item(critic, fixed)
    assert wrong.planted and wrong.verdict == "buggy" and wrong.comments and all(x.planted for x in wrong.comments)
    view = wrong.rater_view()
    assert "planted" not in view and all("planted" not in x for x in view["comments"])
    never = critique_item(load_assistant("planted", base="lint", rate=0.0), make_item("b"))
    assert not never.planted and not any(x.planted for x in never.comments)


def test_a_planted_looks_correct_uses_the_base_critics_own_words() -> None:
    bug = clamp_item(CLAMP, CLAMP_BUG, "introduce_bug")
    real = critique_item(load_assistant("exec"), bug)
    assert real.summary.startswith("Behaviour changed on")
    counts = real.summary.split(". ", 1)[1]  # "1 example/test case(s), 40 differential input(s)."
    assert "differential input(s)" in counts
    planted = critique_item(load_assistant("planted", base="exec", rate=1.0, seed=3), bug)
    # what exec says when it finds nothing, with the counts of its real run on this item
    assert planted.planted and planted.verdict == "correct" and planted.confidence == 0.75
    assert planted.summary == f"No failing case or behaviour change found. {counts}"
    # a base without fixed wording keeps the generic sentence
    assert load_assistant("lint").benign_summary(real) is None  # type: ignore[attr-defined]


def test_planted_rate_is_respected_and_repeatable() -> None:
    critic = load_assistant("planted", base="lint", rate=0.3, seed=11)
    items = [make_item(f"x:{i}") for i in range(200)]
    chosen = [critic.plants(it) for it in items]  # type: ignore[attr-defined]
    assert 0.2 < sum(chosen) / len(chosen) < 0.4
    assert chosen == [load_assistant("planted", base="lint", rate=0.3, seed=11).plants(it) for it in items]  # type: ignore[attr-defined]
    assert chosen != [load_assistant("planted", base="lint", rate=0.3, seed=12).plants(it) for it in items]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="rate = 2"):
        load_assistant("planted", base="lint", rate=2)


def test_planted_flags_survive_the_store(sqlite_store) -> None:  # type: ignore[no-untyped-def]
    items = [make_item("b", label="buggy"), make_item("c", before=AFTER, after=BEFORE, label="correct")]
    sqlite_store.add_items(items)
    critic = load_assistant("planted", base="lint", rate=1.0, seed=1)
    critique_items(items, critic, store=sqlite_store, progress=False)
    stored = sqlite_store.find_critique("c", critic.spec_hash)
    assert stored.planted and stored.comments and all(x.planted for x in stored.comments)
    assert sqlite_store.find_critique("b", critic.spec_hash).planted
    assert all("planted" not in x for x in stored.rater_view()["comments"])


def test_specs_ship_inside_the_package_and_the_list_command_names_them(capsys) -> None:
    import oversight_ext.assistants as pkg
    from oversight_ext.cli import main

    shipped = Path(pkg.__file__).parent / "specs"
    assert find_spec("exec").parent == shipped and find_spec("exec-lm").parent == shipped
    assert main(["assistants", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["exec"]["backend"] == "exec" and rows["exec"]["spec"] == str(shipped / "exec.toml")
    assert {"exec", "exec-tests", "planted", "lint"} <= set(rows)
    with pytest.raises(SystemExit) as exc:  # the command the study-config error message names exists
        main(["assistants", "list", "--help"])
    assert exc.value.code == 0

"""Ensemble merging, critic evaluation metrics, and the `oversight critique` / `eval-critics` commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from oversight_ext.assistants import Claim, load_assistant
from oversight_ext.assistants.backends.ensemble import merge_claims
from oversight_ext.assistants.evaluation import score_critiques, summarise, sweep_verbosity, tradeoff_chart, tradeoff_frame
from oversight_ext.assistants.protocol import critique_item
from oversight_ext.items import write_jsonl
from oversight_ext.records import Comment, Critique
from tests.test_assistants_protocol import AFTER, BEFORE, make_item

ROOT = Path(__file__).resolve().parents[1]


def test_merge_deduplicates_nearby_claims_and_combines_scores() -> None:
    merged = merge_claims(
        [
            ("exec", Claim(8, "fails example", score=0.9)),
            ("lint", Claim(9, "B007 unused loop var", score=0.5)),
            ("lint", Claim(3, "docstring", score=0.3)),
        ]
    )
    assert [c.start_line for c in merged] == [3, 8]
    top = merged[1]
    assert top.score == pytest.approx(1 - 0.1 * 0.5) and "[exec] fails example" in top.text and "[lint]" in top.text


def test_ensemble_verbosity_trades_comments_for_precision() -> None:
    item = make_item(after="import os\n" + AFTER)  # lint flags line 1 (F401), exec the loop (line 9)
    loud = critique_item(load_assistant("ensemble", verbosity=1.0), item)
    quiet = critique_item(load_assistant("ensemble", verbosity=0.5), item)
    assert loud.status == "ok" and quiet.status == "ok"
    assert len(loud.comments) > len(quiet.comments) >= 1
    assert quiet.verdict == "buggy" and any(c.start_line == 9 for c in quiet.comments)  # the changed loop line
    # a behaviour change no example arbitrates is a low-scored claim: at verbosity 0.5 it must not flag the item
    from tests.test_assistants_exec import GOOD, item

    ambiguous = item(GOOD, GOOD.replace("x > best", "x >= best + 2"), label="correct", spec="running_max([1, 5]) == [1, 5]")
    calm = critique_item(load_assistant("ensemble", verbosity=0.5), ambiguous)
    assert calm.verdict != "buggy" and calm.comments == ()
    with pytest.raises(ValueError, match="members"):
        load_assistant("ensemble", members=[])


def crit(item_id: str, lines: list[int], verdict: str | None = None, hallucinated: int = 0) -> Critique:
    comments = [Comment(id=f"c{i}", path="total.py", start_line=ln, end_line=ln, text="x") for i, ln in enumerate(lines)]
    return Critique(
        id=f"k:{item_id}",
        item_id=item_id,
        assistant="k",
        comments=tuple(comments),
        verdict=verdict,
        hallucinated=hallucinated,
        latency_s=0.5,
    )  # type: ignore[arg-type]


def test_metrics_against_gold() -> None:
    buggy = [make_item(f"b{i}") for i in range(4)]  # gold bug line 8
    correct = [make_item(f"c{i}", before=AFTER, after=BEFORE, label="correct") for i in range(4)]
    crits = [crit("b0", [9]), crit("b1", [2]), crit("b2", []), crit("b3", [7, 3], hallucinated=2)]
    crits += [crit("c0", []), crit("c1", [], verdict="buggy"), crit("c2", [1]), crit("c3", [], verdict="correct")]
    frame = score_critiques(buggy + correct, crits)
    s = summarise(frame, n_boot=200, seed=1)
    assert s["catch_rate"]["estimate"] == 0.5  # b0 (+-1) and b3
    assert s["false_alarm_rate"]["estimate"] == 0.5  # c1 (verdict) and c2 (comment)
    assert s["precision"]["estimate"] == pytest.approx(2 / 5)
    assert s["hallucinated_rate"]["estimate"] == pytest.approx(2 / 7)
    assert s["mean_latency_s"]["estimate"] == pytest.approx(0.5)
    lo, hi = s["catch_rate"]["ci_low"], s["catch_rate"]["ci_high"]
    assert 0.0 <= lo < 0.5 < hi <= 1.0
    with pytest.raises(ValueError, match="n_boot"):
        summarise(frame, n_boot=0)


def test_verbosity_sweep_and_chart(tmp_path: Path) -> None:
    items = [make_item("b"), make_item("c", before=AFTER, after=BEFORE, label="correct")]
    swept = sweep_verbosity(load_assistant("lint"), items, [0.0, 0.5, 1.0], progress=False)
    frame = tradeoff_frame(items, swept, assistant="lint")
    assert frame["verbosity"].to_list() == [0.0, 0.5, 1.0]
    fa = frame["false_alarm_rate"].to_list()
    assert fa == sorted(fa)  # saying more never alarms less
    chart = tradeoff_chart(frame)
    chart.save(str(tmp_path / "t.svg"))
    assert (tmp_path / "t.svg").read_text().startswith("<svg")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oversight_ext.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.mark.slow
def test_cli_eval_critics_json_and_critique_into_store(tmp_path: Path) -> None:
    items = [make_item("b1"), make_item("c1", before=AFTER, after=BEFORE, label="correct")]
    file = tmp_path / "items.jsonl"
    write_jsonl(items, file)
    r = run_cli("eval-critics", "--items", str(file), "--assistant", "exec", "--json", "--boot", "50", "--quiet", "--with-tests")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for key in ("catch_rate", "false_alarm_rate", "precision", "hallucinated_rate", "mean_latency_s"):
        assert set(out[key]) >= {"estimate", "ci_low", "ci_high"}
    assert out["catch_rate"]["estimate"] == 1.0 and out["false_alarm_rate"]["estimate"] == 0.0
    assert "UPPER BOUND" in out["upper_bound_with_tests"]["label"]
    r = run_cli("eval-critics", "--items", str(file), "--assistant", "nope")
    assert r.returncode == 2 and "'nope' not found" in r.stderr
    db = tmp_path / "o.db"
    from oversight_ext.store import Store

    with Store(f"sqlite:///{db}") as s:
        s.add_items(items)
    r = run_cli("critique", "--db", str(db), "--assistant", "lint", "--quiet")
    assert r.returncode == 0 and "2 new critique(s) stored" in r.stdout, r.stderr
    r = run_cli("critique", "--db", str(db), "--assistant", "lint", "--quiet")
    assert "0 new critique(s) stored, 2 from cache" in r.stdout

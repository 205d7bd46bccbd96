"""Fail when the suite did not exercise the real parts it must: PostgreSQL, Chromium and R's lme4.

Reads pytest's JUnit XML. Under OVERSIGHT_REQUIRE_ALL=1 (CI) a missing PostgreSQL or
Chromium already fails its fixtures; this also catches those tests being deselected or
skipped for any other reason. Run with a subset of tests (`-k ...`) it only reports.
"""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET


def main(path: str) -> int:
    cases = ET.parse(path).getroot().iter("testcase")
    ran = {"postgres": 0, "browser": 0, "lme4": 0}
    skipped = {"postgres": 0, "browser": 0, "lme4": 0}
    for case in cases:
        name = f"{case.get('classname', '')}.{case.get('name', '')}"
        kinds = [
            k for k, marker in (("postgres", "[postgres"), ("browser", "tests.browser."), ("lme4", "test_analysis_lme4.")) if marker in name
        ]
        for kind in kinds:
            if case.find("skipped") is not None:
                skipped[kind] += 1
            elif case.find("failure") is None and case.find("error") is None:
                ran[kind] += 1
    print(f"real-part tests passed: PostgreSQL {ran['postgres']}, Chromium {ran['browser']}, R lme4 {ran['lme4']}; skipped: {skipped}")
    if os.environ.get("OVERSIGHT_REQUIRE_ALL") != "1":
        return 0
    bad = [k for k in ran if ran[k] == 0 or skipped[k]]
    if bad:
        print(f"error: {', '.join(bad)} tests did not all run (OVERSIGHT_REQUIRE_ALL=1)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""Sabotage monitors: a suspicion score in [0, 1] for every hunk of a diff.

- :mod:`.security`: bandit and source-to-sink checks on what the diff adds, and access checks
  weakened by their shape (:mod:`.access`);
- :mod:`.tamper`: changes to tests, assertions, markers, conftest, mocks; tested literals
  special-cased in code; the old tests run against the new code;
- :mod:`.probe`: calls built from the constants the diff's new conditions compare with, run on
  both versions in the sandbox, a witness where they differ;
- :mod:`.naturalness`: a code LM (SmolLM2, the ``lm`` extra) on a few hunks of new code, how
  much less likely the new lines are than the old;
- :mod:`.combined`: all of them, combined by max or frozen, calibrated ensemble weights;
- :mod:`.critic`: the ``monitor`` assistant backend; :mod:`.measure`: AUC, catch at audit budgets.
"""

"""The submission schema is the one place the confidence levels and submission fields are written.

Python reads it (records, the review service's payload check) and the front end's
``src/types.ts`` is checked against it here, so a level or a field changed in one place and
not the other fails this file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from oversight_ext import records
from oversight_ext.submission import (
    BINARY_LEVELS,
    CONFIDENCE_LEVELS,
    KNOWN_LEVELS,
    LIKELIHOOD_LEVELS,
    PAYLOAD_FIELDS,
    REQUIRED_FIELDS,
    SubmissionError,
    check_submission,
    submission_schema,
)

ROOT = Path(__file__).resolve().parents[1]
TYPES_TS = ROOT / "src" / "types.ts"
SCHEMA_PATH = ROOT / "oversight_ext" / "schema" / "submission.schema.json"


def ts_block(name: str) -> str:
    """The body of ``export interface NAME { ... }`` in types.ts."""
    match = re.search(r"export interface " + name + r" \{\n(.*?)\n\}", TYPES_TS.read_text(), re.S)
    assert match, f"types.ts has no interface {name}"
    return match.group(1)


def ts_fields(name: str) -> dict[str, str]:
    """Field name -> TypeScript type text of an interface (one field a line)."""
    fields = {}
    for line in ts_block(name).splitlines():
        m = re.match(r"\s*(\w+)\??: (.+);$", line)
        if m:
            fields[m.group(1)] = m.group(2)
    return fields


def ts_union(name: str) -> set[str]:
    match = re.search(r"export type " + name + r" = ([^;]+);", TYPES_TS.read_text())
    assert match, f"types.ts has no type {name}"
    return set(re.findall(r"'([^']*)'", match.group(1)))


def enum(prop: dict[str, Any]) -> set[Any]:
    return {v for v in prop["enum"] if v is not None}


def good_payload(**change: Any) -> dict[str, Any]:
    body = {
        "submission_id": "6f1c4f0e-1b7e-4c59-9a55-2a0f3d1e7b10",
        "assignment_id": "s1:ada:00001",
        "verdict": "buggy",
        "confidence": 0.8,
        "time_on_task_s": 12.5,
        "flags": [{"path": "calc.py", "line": 3, "side": "new", "comment": "off by one"}],
        "dispositions": [{"comment_id": "c1", "action": "edit", "reason": "nitpick", "edited_text": "shorter"}],
        "likert": None,
        "comment": "",
        "supersedes": None,
        "started_at": "2026-01-01T10:00:00Z",
        "submitted_at": "2026-01-01T10:00:12Z",
    }
    return {**body, **change}


def test_the_schema_file_is_valid_json_schema_shipped_in_the_package() -> None:
    raw = json.loads(SCHEMA_PATH.read_text())
    jsonschema.validators.validator_for(raw).check_schema(raw)
    assert submission_schema() == raw


def test_python_reads_levels_and_fields_from_the_schema() -> None:
    schema = submission_schema()
    # The default levels (no study known) are the likelihood scale; ``confidence`` itself lists
    # the levels of every scale, since which one applies is the study's to say at submit.
    assert records.CONFIDENCE_LEVELS == CONFIDENCE_LEVELS == tuple(schema["$defs"]["ConfidenceLikelihood"]["enum"])
    assert len(CONFIDENCE_LEVELS) == 5 and list(CONFIDENCE_LEVELS) == sorted(CONFIDENCE_LEVELS)
    assert tuple(schema["properties"]["confidence"]["enum"]) == KNOWN_LEVELS == tuple(sorted({*BINARY_LEVELS, *LIKELIHOOD_LEVELS}))
    assert set(schema["properties"]) == PAYLOAD_FIELDS and tuple(schema["required"]) == REQUIRED_FIELDS
    # The client sends the Judgment's own fields, less the ones the server fills.
    judgment_fields = {f for f in records.Judgment.__dataclass_fields__}
    assert judgment_fields >= PAYLOAD_FIELDS
    assert judgment_fields - PAYLOAD_FIELDS == {"rater", "study", "item_id", "condition", "simulated", "received_at"}
    props, defs = schema["properties"], schema["$defs"]
    assert enum(props["verdict"]) == set(records.LABELS)
    assert enum(defs["LineFlag"]["properties"]["side"]) == set(records.SIDES)
    assert enum(defs["Disposition"]["properties"]["action"]) == set(records.ACTIONS)
    assert enum(defs["Disposition"]["properties"]["reason"]) == set(records.REASONS)
    assert set(defs["LineFlag"]["properties"]) == set(records.LineFlag.__dataclass_fields__)
    assert set(defs["Disposition"]["properties"]) == set(records.Disposition.__dataclass_fields__)


def test_types_ts_matches_the_schema() -> None:
    schema = submission_schema()
    levels = re.search(r"export const CONFIDENCE_LEVELS = \[([^\]]*)\]", TYPES_TS.read_text())
    assert levels, "types.ts has no CONFIDENCE_LEVELS array"
    assert [float(x) for x in levels.group(1).split(",")] == list(CONFIDENCE_LEVELS)

    payload = ts_fields("JudgmentPayload")
    assert set(payload) == set(schema["properties"])
    assert set(re.findall(r"'([^']*)'", payload["verdict"])) == enum(schema["properties"]["verdict"])
    for name, ts in payload.items():
        nullable = "null" in schema["properties"][name].get("type", []) or None in schema["properties"][name].get("enum", [])
        required = name in schema["required"]
        # A required field is never null in TypeScript; a field the schema lets be null may be null there.
        assert not (required and "null" in ts), (name, ts)
        assert nullable or required or name in ("flags", "dispositions", "comment") or "null" not in ts, (name, ts)

    for record in ("LineFlag", "Disposition"):
        assert set(ts_fields(record)) == set(schema["$defs"][record]["properties"]), record
    assert ts_union("Side") == enum(schema["$defs"]["LineFlag"]["properties"]["side"])
    assert ts_union("Action") == enum(schema["$defs"]["Disposition"]["properties"]["action"])
    assert ts_union("Reason") == enum(schema["$defs"]["Disposition"]["properties"]["reason"])


def test_a_good_payload_passes_and_records_accept_it() -> None:
    body = good_payload()
    check_submission(body)
    judgment = records.Judgment.from_dict({**body, "rater": "ada"})
    assert judgment.confidence == 0.8 and judgment.flags[0].line == 3


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"confidence": 0.5}, "confidence", "0.42"),
        ({"confidence": True}, "confidence", "0.42"),
        ({"verdict": "maybe"}, "verdict", "buggy"),
        ({"time_on_task_s": -1}, "time_on_task_s", "seconds"),
        ({"likert": 9}, "likert", "1-7"),
        ({"flags": [{"path": "calc.py", "line": 0}]}, "flags", "flags[0].line"),
        ({"dispositions": [{"comment_id": "c1", "action": "shrug"}]}, "dispositions", "dispositions[0].action"),
        ({"rater": "bob"}, "rater", "send only"),
        ({"submission_id": "x" * 129}, "submission_id", "UUID"),
    ],
)
def test_a_bad_payload_names_the_field_value_and_fix(change: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(SubmissionError) as caught:
        check_submission(good_payload(**change))
    assert caught.value.field == field
    message = str(caught.value)
    assert f"'{field}'" in message and words in message, message


def test_the_schema_file_accepts_each_scale_and_the_study_narrows_it() -> None:
    """A validator with only the shipped file accepts a level of either scale; the server's
    check with a study's levels accepts that study's scale only."""
    raw = json.loads(SCHEMA_PATH.read_text())
    plain = jsonschema.validators.validator_for(raw)(raw)
    for level in (*BINARY_LEVELS, *LIKELIHOOD_LEVELS):
        assert plain.is_valid(good_payload(confidence=level)), level
    assert not plain.is_valid(good_payload(confidence=0.5))
    check_submission(good_payload(confidence=0.55), levels=BINARY_LEVELS)
    with pytest.raises(SubmissionError, match=r"0\.55"):
        check_submission(good_payload(confidence=0.25), levels=BINARY_LEVELS)


def test_a_missing_field_and_a_non_object_are_refused() -> None:
    body = good_payload()
    del body["confidence"]
    with pytest.raises(SubmissionError, match=r"'confidence'.*missing") as caught:
        check_submission(body)
    assert caught.value.field == "confidence"
    with pytest.raises(SubmissionError, match="JSON object") as caught:
        check_submission([1, 2])
    assert caught.value.field is None

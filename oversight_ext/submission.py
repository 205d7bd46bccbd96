"""The judgment submission's JSON schema: the one place its fields and confidence levels are written.

``oversight_ext/schema/submission.schema.json`` ships in the package. The records read the
confidence levels from it, the review service checks every payload a client sends against it
(REST and notebook widget alike), and a test checks the front end's ``src/types.ts`` against it.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

__all__ = [
    "CONFIDENCE_LEVELS",
    "PAYLOAD_FIELDS",
    "REQUIRED_FIELDS",
    "SubmissionError",
    "check_submission",
    "submission_schema",
]

SCHEMA_FILE = "schema/submission.schema.json"


class SubmissionError(ValueError):
    """A submission payload the schema refuses; ``field`` is the top-level field at fault."""

    def __init__(self, field: str | None, value: Any, problem: str, fix: str) -> None:
        shown = repr(value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        where = f"judgment field {field!r} = {shown}" if field else f"the judgment {shown}"
        super().__init__(f"{where} is invalid: {problem}; {fix}")
        self.field = field
        self.value = value


@functools.cache
def submission_schema() -> dict[str, Any]:
    """The parsed JSON schema (a fresh copy is not made: do not modify it)."""
    text = resources.files("oversight_ext").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


#: The five confidence levels a rater chooses from.
CONFIDENCE_LEVELS: tuple[float, ...] = tuple(float(c) for c in submission_schema()["properties"]["confidence"]["enum"])
#: The fields a client may send with a judgment; everything else is the server's to fill.
PAYLOAD_FIELDS: frozenset[str] = frozenset(submission_schema()["properties"])
#: The fields every submission must carry.
REQUIRED_FIELDS: tuple[str, ...] = tuple(submission_schema()["required"])


@functools.cache
def _validator() -> Any:
    # jsonschema costs about 0.1 s to import: only the review service needs it, so load it on first use.
    import jsonschema

    cls = jsonschema.validators.validator_for(submission_schema())
    cls.check_schema(submission_schema())
    return cls(submission_schema())


def check_submission(payload: Any) -> None:
    """Raise :class:`SubmissionError` naming the field, the value and the fix if ``payload`` breaks the schema."""
    errors = sorted(_validator().iter_errors(payload), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:
        return
    error = errors[0]
    path = list(error.absolute_path)
    if not path:
        if error.validator == "additionalProperties" and isinstance(payload, dict):
            unknown = sorted(set(payload) - PAYLOAD_FIELDS)
            name = unknown[0] if unknown else None
            raise SubmissionError(name, payload.get(name), "not a field a client sends", f"send only {sorted(PAYLOAD_FIELDS)}")
        if error.validator == "required" and isinstance(payload, dict):
            missing = next(f for f in REQUIRED_FIELDS if f not in payload)
            raise SubmissionError(missing, None, "missing", f"send it (required: {list(REQUIRED_FIELDS)})")
        raise SubmissionError(None, payload, error.message, "send a JSON object with the fields of submission.schema.json")
    field = str(path[0])
    described = submission_schema()["properties"].get(field, {}).get("description", "")
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[1:])
    problem = f"{field}{where}: {error.message}" if where else error.message
    raise SubmissionError(field, payload[field] if isinstance(payload, dict) else payload, problem, f"give {described}")

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
    "BINARY_LEVELS",
    "CONFIDENCE_LEVELS",
    "CONFIDENCE_SCALES",
    "KNOWN_LEVELS",
    "LIKELIHOOD_LEVELS",
    "PAYLOAD_FIELDS",
    "REQUIRED_FIELDS",
    "SubmissionError",
    "check_submission",
    "default_levels",
    "scale_of",
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


def _levels(schema_part: dict[str, Any]) -> tuple[float, ...]:
    return tuple(float(c) for c in schema_part["enum"])


#: The five levels of Bowman et al. 2022: they come from a four-choice task (25% is chance), so
#: they fit no yes/no verdict; likert studies and studies stored before scales were declared keep them.
LIKELIHOOD_LEVELS: tuple[float, ...] = _levels(submission_schema()["$defs"]["ConfidenceLikelihood"])
#: The same levels as the default where no study is known (a client whose server sends no levels,
#: the simulator's default); the schema's ``confidence`` lists the levels of every scale.
CONFIDENCE_LEVELS: tuple[float, ...] = LIKELIHOOD_LEVELS
#: The scale of a binary (buggy/correct) verdict: 55, 65, 75, 85, 95%. Five levels, like the old
#: scale, so the panel keeps its layout; each is the centre of one of five equal bins spanning
#: chance (50%) to certainty, so a level is the mean probability its calibration bin stands for and
#: the reliability diagram has equal-width bins. No 50%: a rater who gives a verdict leans to it
#: (55% says "barely"); no 100%: a review never warrants certainty, and 100% makes log loss infinite.
#: The two scales share no level, so a stored confidence tells which scale it was given on.
BINARY_LEVELS: tuple[float, ...] = _levels(submission_schema()["$defs"]["ConfidenceBinary"])
#: Each scale by name.
CONFIDENCE_SCALES: dict[str, tuple[float, ...]] = {"binary": BINARY_LEVELS, "likelihood": LIKELIHOOD_LEVELS}
#: Every level of every scale: what a stored judgment may hold, and what the schema's ``confidence`` lists.
KNOWN_LEVELS: tuple[float, ...] = tuple(sorted({*BINARY_LEVELS, *LIKELIHOOD_LEVELS}))
#: The fields a client may send with a judgment; everything else is the server's to fill.
PAYLOAD_FIELDS: frozenset[str] = frozenset(submission_schema()["properties"])
#: The fields every submission must carry.
REQUIRED_FIELDS: tuple[str, ...] = tuple(submission_schema()["required"])


def default_levels(verdict_scale: str) -> tuple[float, ...]:
    """The confidence levels a new study with this verdict scale offers when it declares none:
    the binary levels for a "binary" verdict, the likelihood levels for a "likert" one."""
    return BINARY_LEVELS if verdict_scale == "binary" else LIKELIHOOD_LEVELS


def scale_of(confidences: Any) -> tuple[float, ...]:
    """The one known scale holding every value of ``confidences`` (the scales share no level).

    Raises ValueError when the values mix scales or hold a level of none: analyse each study
    on its own scale."""
    values = {round(float(c), 6) for c in confidences if c is not None}
    for levels in CONFIDENCE_SCALES.values():
        if values <= {round(c, 6) for c in levels}:
            return levels
    named = ", ".join(f"{name} {levels}" for name, levels in CONFIDENCE_SCALES.items())
    raise ValueError(
        f"confidence values {sorted(values)} do not all lie on one scale ({named}); "
        "analyse the judgments of each study, or each scale, separately (pass levels=)"
    )


@functools.cache
def _validator(levels: tuple[float, ...] | None = None) -> Any:
    # jsonschema is slow to import (2.5 s here: with jupyter-events its format extra builds the
    # rfc3987-syntax grammar at import): only the review service needs it, so load it on first use.
    import jsonschema

    schema = submission_schema()
    if levels is not None:
        confidence = {**schema["properties"]["confidence"], "enum": list(levels)}
        schema = {**schema, "properties": {**schema["properties"], "confidence": confidence}}
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def check_submission(payload: Any, *, levels: tuple[float, ...] | None = None) -> None:
    """Raise :class:`SubmissionError` naming the field, the value and the fix if ``payload`` breaks the schema.

    ``levels`` replaces the schema's default confidence levels (a study's own, or
    :data:`KNOWN_LEVELS` before the study is known)."""
    validator = _validator(None if levels is None else tuple(float(c) for c in levels))
    errors = sorted(validator.iter_errors(payload), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
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
            missing = next(f for f in error.validator_value if f not in payload)
            if missing in REQUIRED_FIELDS:
                raise SubmissionError(missing, None, "missing", f"send it (required: {list(REQUIRED_FIELDS)})")
            raise SubmissionError(missing, None, "missing", "send verdict and confidence, or cannot_judge with a reason instead")
        raise SubmissionError(None, payload, error.message, "send a JSON object with the fields of submission.schema.json")
    field = str(path[0])
    if field in ("verdict", "confidence") and error.validator == "not":
        problem = "a cannot-judge submission carries no verdict or confidence"
        raise SubmissionError(field, payload[field], problem, "leave verdict and confidence out, or send no cannot_judge")
    described = submission_schema()["properties"].get(field, {}).get("description", "")
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[1:])
    problem = f"{field}{where}: {error.message}" if where else error.message
    raise SubmissionError(field, payload[field] if isinstance(payload, dict) else payload, problem, f"give {described}")

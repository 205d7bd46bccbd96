"""The pre-registered analysis plan of a study: its ``[analysis]`` table.

One contrast is primary (a treatment condition against the control, on one outcome): it
is the study's confirmatory test and keeps its raw p-value. Every other test the report
runs (other contrasts and outcomes, McNemar, the mixed model, order effects) is secondary
and reported with p-values adjusted for multiplicity by the declared method. Raters whose
accuracy on the gold quality-control items falls below ``qc_min_accuracy`` can be left out
of every estimate; the threshold is fixed here, before the data, or it is not pre-registered.

    [analysis]
    primary_treatment = "critic"      # default: the first assisted condition
    primary_outcome = "correct"       # correct | caught | false_alarm
    adjust = "holm"                   # holm | bh (Benjamini-Hochberg)
    qc_min_accuracy = 0.6             # optional
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from oversight_ext.options import option

__all__ = ["OUTCOMES", "AnalysisPlan"]

#: Outcomes a primary contrast can name (columns :func:`oversight_ext.analysis.outcomes` derives).
OUTCOMES = ("correct", "caught", "false_alarm")


@dataclass(frozen=True)
class AnalysisPlan:
    """What the study's analysis confirms and how it corrects for the rest."""

    primary_treatment: str | None = option(
        "condition whose contrast with the control is the primary test (default: first assisted)", default=None
    )
    primary_outcome: Literal["correct", "caught", "false_alarm"] = option("outcome of the primary contrast", default="correct")
    adjust: Literal["holm", "bh"] = option("p-value adjustment of every secondary test: 'holm' (FWER) or 'bh' (FDR)", default="holm")
    qc_min_accuracy: float | None = option("leave out raters whose QC accuracy is below this share (none: keep all)", default=None)

    def __post_init__(self) -> None:
        from .config import StudyConfigError  # the plan is part of the study's config

        if self.primary_treatment is not None and (not isinstance(self.primary_treatment, str) or not self.primary_treatment):
            raise StudyConfigError("analysis.primary_treatment", self.primary_treatment, "name one of the study's conditions")
        if self.primary_outcome not in OUTCOMES:
            raise StudyConfigError("analysis.primary_outcome", self.primary_outcome, f"use one of {list(OUTCOMES)}")
        if self.adjust not in ("holm", "bh"):
            raise StudyConfigError("analysis.adjust", self.adjust, "use 'holm' (family-wise error) or 'bh' (false discovery rate)")
        q = self.qc_min_accuracy
        if q is not None and (isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 <= q <= 1):
            raise StudyConfigError("analysis.qc_min_accuracy", q, "give a share between 0 and 1, or leave it out")

    @classmethod
    def from_dict(cls, data: Any) -> AnalysisPlan:
        from .config import StudyConfigError

        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise StudyConfigError("analysis", data, "give an [analysis] table")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise StudyConfigError(f"analysis.{unknown[0]}", data[unknown[0]], f"unknown key; known keys are {names}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

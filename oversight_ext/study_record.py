"""The typed study the store returns: its frozen config, and every fact derived from it, once.

A study is defined by ``oversight_ext.study.StudyConfig`` (validated, strict) and stored as
``StudyConfig.to_dict()``. Everything that reads a stored study (the review service, the
analysis frame, reward labels, practice, preregistration, creation) reads this record, so
each derived fact (whether a condition is assisted, which assistant it shows, the QC
condition and items, time limits) has one definition here.

Reading is lenient on purpose: databases written before the config was strict, and tests or
tools that store a partial config, still load. What a stored config leaves out takes the
default ``StudyConfig`` gives it, and the one rule for a condition's kind covers the rest:

- a condition's ``kind`` when the config gives one;
- otherwise "assisted" when the condition names an assistant, else "unassisted";
- a condition the config does not describe: "assisted" when the assignment shows a
  critique (the frozen table decides), else "unassisted".

This module sits at the bottom of the package (beside ``records``): it imports nothing else
of it at run time but ``submission`` (the confidence scales; stdlib only), so the store can
build the record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from oversight_ext.submission import LIKELIHOOD_LEVELS

if TYPE_CHECKING:
    from oversight_ext.records import Assignment, Display

__all__ = ["SLOT_PREFIX", "ConditionKind", "Study", "StudyCondition"]

#: Rater ids of open-enrolment slots start with this; people claim them with ``enroll``.
SLOT_PREFIX = "slot:"

ConditionKind = Literal["unassisted", "assisted"]


@dataclass(frozen=True)
class StudyCondition:
    """One condition of a stored study, with its kind resolved by the module's one rule."""

    name: str
    kind: ConditionKind = "unassisted"
    assistant: str | None = None
    planted_rate: float = 0.0
    display: Display = "evidence"
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_assisted(self) -> bool:
        return self.kind == "assisted"

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> StudyCondition:
        """A condition from its stored table (``ConditionConfig`` as a dict, or an older, partial one)."""
        assistant = data.get("assistant") or None
        kind: ConditionKind
        if data.get("kind") in ("unassisted", "assisted"):
            kind = "assisted" if data["kind"] == "assisted" else "unassisted"
        else:
            kind = "assisted" if assistant else "unassisted"
        display: Display = data["display"] if data.get("display") in ("verdict", "ranked") else "evidence"
        return cls(
            name=str(data["name"]),
            kind=kind,
            assistant=None if assistant is None else str(assistant),
            planted_rate=float(data.get("planted_rate") or 0.0),
            display=display,
            overrides=dict(data.get("overrides") or {}),
        )


@dataclass(frozen=True)
class Study:
    """A stored study: its frozen config (typed), seed, code version, owner and QC items.

    ``config`` is the stored form, exactly as stored; the other fields are read from it.
    ``study["config"]``-style access (``study[key]``) gives the stored row's columns for code
    written against the plain row the store returned before this record existed.
    """

    name: str
    config: Mapping[str, Any]
    conditions: tuple[StudyCondition, ...] = ()
    seed: int = 0
    code_version: str = ""
    owner: str | None = None
    created_at: dt.datetime | None = None
    design: Literal["within", "between"] = "within"
    overlap: int = 1
    raters: tuple[str, ...] = ()
    open_slots: int = 0
    order: Literal["interleaved", "blocked"] = "interleaved"
    qc_rate: float = 0.0
    qc_condition: str | None = None
    time_limit_s: float | None = None
    #: Hunks per item a rater may open in depth (None: no audit budget).
    audit_budget_hunks: int | None = None
    verdict_scale: Literal["binary", "likert"] = "binary"
    #: The confidence levels the study offers. A stored config without them predates declared
    #: scales: its raters chose from the five likelihood levels, and its judgments are analysed on them.
    confidence_levels: tuple[float, ...] = LIKELIHOOD_LEVELS
    drop_failed_critiques: bool = True
    description: str = ""
    items: Mapping[str, Any] = field(default_factory=dict)
    #: Items the frozen table shows as gold quality-control items.
    qc_item_ids: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ building

    @classmethod
    def from_config(
        cls,
        config: Any,
        *,
        name: str | None = None,
        seed: int | None = None,
        code_version: str = "",
        owner: str | None = None,
        created_at: dt.datetime | None = None,
        qc_item_ids: Iterable[str] = (),
    ) -> Study:
        """The record of a study defined by ``config``: a ``StudyConfig`` or its stored dict form."""
        stored: dict[str, Any] = dict(config.to_dict() if hasattr(config, "to_dict") else (config or {}))
        conditions = tuple(
            StudyCondition.from_stored(c) for c in stored.get("conditions") or () if isinstance(c, Mapping) and c.get("name") is not None
        )
        settings = {f.name: stored[f.name] for f in dataclasses.fields(cls) if f.name in _SETTINGS and stored.get(f.name) is not None}
        for key in ("raters",):
            if key in settings:
                settings[key] = tuple(settings[key])
        if "confidence_levels" in settings:
            settings["confidence_levels"] = tuple(float(c) for c in settings["confidence_levels"]) or LIKELIHOOD_LEVELS
        seed_ = seed if seed is not None else stored.get("seed", 0)
        return cls(
            name=name if name is not None else str(stored.get("name", "")),
            config=stored,
            conditions=conditions,
            seed=int(seed_) if isinstance(seed_, int) else 0,
            code_version=code_version,
            owner=owner,
            created_at=created_at,
            qc_item_ids=frozenset(qc_item_ids),
            **settings,
        )

    def to_row(self) -> dict[str, Any]:
        """The study as the store's ``studies`` row: name, config, seed, code_version, owner, created_at."""
        return {
            "name": self.name,
            "config": self.config,
            "seed": self.seed,
            "code_version": self.code_version,
            "owner": self.owner,
            "created_at": self.created_at,
        }

    def __getitem__(self, key: str) -> Any:
        return self.to_row()[key]

    # ------------------------------------------------------------------ conditions

    @property
    def condition_names(self) -> list[str]:
        return [c.name for c in self.conditions]

    def condition(self, name: str) -> StudyCondition | None:
        """The condition called ``name``, or None when the config does not describe it."""
        return next((c for c in self.conditions if c.name == name), None)

    def condition_kind(self, name: str, *, shows_critique: bool = False) -> ConditionKind:
        """ "assisted" or "unassisted" by the module's one rule.

        ``shows_critique`` (whether the assignment carries a critique) decides only for a
        condition the config does not describe.
        """
        cond = self.condition(name)
        if cond is not None:
            return cond.kind
        return "assisted" if shows_critique else "unassisted"

    def kind_of(self, assignment: Assignment) -> ConditionKind:
        """The kind of the condition ``assignment`` is shown under."""
        return self.condition_kind(assignment.condition, shows_critique=assignment.critique_id is not None)

    def is_assisted(self, name: str, *, shows_critique: bool = False) -> bool:
        return self.condition_kind(name, shows_critique=shows_critique) == "assisted"

    def condition_kinds(self) -> dict[str, ConditionKind]:
        """Condition name -> kind, for the conditions the config describes."""
        return {c.name: c.kind for c in self.conditions}

    def assistant_of(self, name: str) -> str | None:
        """The assistant an assisted condition shows (None for unassisted or undescribed ones)."""
        cond = self.condition(name)
        return cond.assistant if cond is not None and cond.is_assisted else None

    @property
    def assisted_conditions(self) -> list[StudyCondition]:
        return [c for c in self.conditions if c.is_assisted]

    @property
    def control_condition(self) -> str | None:
        """The comparison condition: the first unassisted one, else the first (None without conditions)."""
        return next((c.name for c in self.conditions if not c.is_assisted), self.conditions[0].name if self.conditions else None)

    @property
    def treatment_conditions(self) -> list[str]:
        """The conditions compared against :attr:`control_condition`."""
        return [c.name for c in self.conditions if c.name != self.control_condition]

    # ------------------------------------------------------------------ QC, raters, time

    @property
    def qc_condition_name(self) -> str | None:
        """The condition QC items are shown under in a within-subject design."""
        return self.qc_condition if self.qc_condition is not None else self.control_condition

    def is_qc(self, item_id: str) -> bool:
        return item_id in self.qc_item_ids

    @property
    def n_raters(self) -> int:
        return len(self.raters) or self.open_slots

    @property
    def is_open(self) -> bool:
        """Open enrolment: newcomers claim slots instead of a fixed list of raters."""
        return bool(self.open_slots)

    def time_limit_of(self, assignment: Assignment) -> float | None:
        """Seconds the rater has for ``assignment``: its own limit, else the study's (None: none)."""
        return assignment.time_limit_s if assignment.time_limit_s is not None else self.time_limit_s


# Top-level config keys read into typed fields (the rest stay in ``config`` only).
_SETTINGS = frozenset(
    {
        "design",
        "overlap",
        "raters",
        "open_slots",
        "order",
        "qc_rate",
        "qc_condition",
        "time_limit_s",
        "audit_budget_hunks",
        "verdict_scale",
        "confidence_levels",
        "drop_failed_critiques",
        "description",
        "items",
    }
)

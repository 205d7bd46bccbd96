"""What a study is: conditions, an item selector, the design and the raters.

A study is defined once, as a TOML file or a Python object of the same schema
(:class:`StudyConfig`). Validation happens on construction, so a bad file is refused before
anything is written, with a message that names the key, the value and what to change.
``StudyConfig.to_dict()`` is what the store keeps in ``studies.config``; the store hands it
back as a typed :class:`oversight_ext.records.Study`, which defines every derived fact once.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from oversight_ext.options import option
from oversight_ext.records import DISPLAYS, Display

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from oversight_ext.study.plan import AnalysisPlan
from oversight_ext.study_record import SLOT_PREFIX, Study
from oversight_ext.submission import CONFIDENCE_SCALES, default_levels

__all__ = ["SLOT_PREFIX", "ConditionConfig", "ItemSelector", "StudyConfig", "StudyConfigError", "UnbalancedDesignWarning"]


class UnbalancedDesignWarning(UserWarning):
    """A design whose conditions cannot get equal numbers of raters."""


class StudyConfigError(ValueError):
    """A study definition holds a value it must not; the message says what to change."""

    def __init__(self, key: str, value: Any, fix: str) -> None:
        shown = repr(value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        super().__init__(f"study {key} = {shown} is invalid: {fix}")
        self.key = key
        self.value = value
        self.fix = fix


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _from_mapping(cls: type, data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise StudyConfigError(where, data, "give a table (TOML) or dict of settings")
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise StudyConfigError(f"{where}.{unknown[0]}" if where else unknown[0], data[unknown[0]], f"unknown key; known keys are {names}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


@dataclass(frozen=True)
class ConditionConfig:
    """One experimental condition: how (and whether) an AI critique is shown."""

    name: str = option("condition name, unique within the study (e.g. 'unassisted', 'critic')")
    kind: Literal["unassisted", "assisted"] = option("'unassisted' (no critique) or 'assisted'", default="unassisted")
    assistant: str | None = option("assisted only: name of a spec in assistants/ or a path to one", default=None)
    planted_rate: float = option(
        "assisted only: share of critiques made deliberately wrong by the 'planted' critic wrapped around `assistant`", default=0.0
    )
    display: Display = option(
        "'evidence' shows line comments (and a monitor's hunk ranking), 'verdict' only the overall verdict, "
        "'ranked' only a monitor's suspicion ranking of the hunks (no comments, no verdict)",
        default="evidence",
    )
    overrides: dict[str, Any] = option("spec fields replaced when loading the assistant", default_factory=dict)

    def __post_init__(self) -> None:
        where = f"conditions[{self.name!r}]"
        if not isinstance(self.name, str) or not self.name.strip() or ":" in self.name:
            raise StudyConfigError("conditions.name", self.name, "give each condition a non-empty name without ':'")
        if self.kind not in ("unassisted", "assisted"):
            raise StudyConfigError(f"{where}.kind", self.kind, "use 'unassisted' or 'assisted'")
        if self.display not in DISPLAYS:
            raise StudyConfigError(f"{where}.display", self.display, "use 'evidence', 'verdict' or 'ranked'")
        if isinstance(self.planted_rate, bool) or not isinstance(self.planted_rate, (int, float)) or not 0 <= self.planted_rate <= 1:
            raise StudyConfigError(f"{where}.planted_rate", self.planted_rate, "give a share between 0 and 1")
        if not isinstance(self.overrides, dict):
            raise StudyConfigError(f"{where}.overrides", self.overrides, "give a table of spec fields")
        if self.kind == "assisted":
            if not isinstance(self.assistant, str) or not self.assistant.strip():
                fix = "an assisted condition names its assistant (see `oversight eval-critics --list`)"
                raise StudyConfigError(f"{where}.assistant", self.assistant, fix)
        elif self.assistant is not None or self.planted_rate or self.overrides:
            fix = "an unassisted condition has no assistant, planted_rate or overrides; set kind = 'assisted'"
            raise StudyConfigError(f"{where}.kind", self.kind, fix)

    @classmethod
    def from_dict(cls, data: Any) -> ConditionConfig:
        kwargs = _from_mapping(cls, data, "conditions")
        if "name" not in kwargs:
            raise StudyConfigError("conditions.name", None, "every condition needs a name")
        return cls(**kwargs)


@dataclass(frozen=True)
class ItemSelector:
    """Which stored items a study uses. Every filter is optional; all given ones apply."""

    source: str | None = option("only items of this source (e.g. 'demo', 'quixbugs')", default=None)
    language: str | None = option("only items in this language (e.g. 'python')", default=None)
    ids: tuple[str, ...] = option("only these item ids", default=())
    require_gold: bool = option("only items with a gold label", default=True)
    label_balance: bool = option("take as many buggy as correct items", default=False)
    limit: int | None = option("at most this many items (a seeded sample when there are more)", default=None)

    def __post_init__(self) -> None:
        for name in ("source", "language"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise StudyConfigError(f"items.{name}", value, "give a non-empty string or leave it out")
        if not isinstance(self.ids, tuple) or not all(isinstance(i, str) and i for i in self.ids):
            raise StudyConfigError("items.ids", self.ids, "give a list of item id strings")
        if self.limit is not None and (not _is_int(self.limit) or self.limit < 1):
            raise StudyConfigError("items.limit", self.limit, "give a whole number >= 1 or leave it out")
        for name in ("require_gold", "label_balance"):
            if not isinstance(getattr(self, name), bool):
                raise StudyConfigError(f"items.{name}", getattr(self, name), "give true or false")
        if self.label_balance and not self.require_gold:
            raise StudyConfigError("items.require_gold", self.require_gold, "label_balance needs gold labels; set require_gold = true")

    @classmethod
    def from_dict(cls, data: Any) -> ItemSelector:
        return cls(**_from_mapping(cls, data, "items"))


@dataclass(frozen=True)
class StudyConfig:
    """A study: conditions, items, design, raters and seed. Same schema as the TOML file."""

    name: str = option("unique study name; assignment ids start with it")
    conditions: tuple[ConditionConfig, ...] = option("the conditions compared (at least one)")
    seed: int = option("seed of every random choice: item sample, table, order, QC placement")
    items: ItemSelector = option("which stored items to use", default_factory=ItemSelector)
    design: Literal["within", "between"] = option("'within': every rater sees every condition; 'between': one each", default="within")
    overlap: int = option("k: raters per item and condition (each a different person)", default=1)
    raters: tuple[str, ...] = option("rater ids (Jupyter user names); leave empty for open enrolment", default=())
    open_slots: int = option("open enrolment: number of rater slots newcomers claim in order", default=0)
    order: Literal["interleaved", "blocked"] = option(
        "'interleaved': conditions alternate along the queue; 'blocked': one block per condition; both in Latin-square order",
        default="interleaved",
    )
    qc_rate: float = option("share of each queue given to gold quality-control items (0 to 0.5)", default=0.0)
    qc_condition: str | None = option(
        "within-subject: condition QC items are shown under (default: the first unassisted one); between-subject: each rater's own",
        default=None,
    )
    time_limit_s: float | None = option("seconds a rater has per item (none: no limit)", default=None)
    audit_budget_hunks: int | None = option(
        "hunks of each item a rater may open for in-depth inspection (none: no limit); the rest stay collapsed", default=None
    )
    verdict_scale: Literal["binary", "likert"] = option("'binary' verdict or a 1-7 'likert' scale", default="binary")
    confidence_levels: tuple[float, ...] | None = option(
        "the confidence levels raters choose from (leave out: 0.55-0.95 for a binary verdict, 0.25/0.42/0.6/0.8/1.0 for likert)",
        default=None,
    )
    drop_failed_critiques: bool = option(
        "leave out items a critic failed on, in every condition, so conditions compare like with like", default=True
    )
    description: str = option("what the study asks, for the preregistration", default="")
    analysis: AnalysisPlan = option(
        "the pre-registered analysis plan: primary contrast, adjustment, QC threshold", default_factory=AnalysisPlan
    )

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or ":" in self.name:
            raise StudyConfigError("name", self.name, "give a non-empty study name without ':'")
        if not _is_int(self.seed):
            raise StudyConfigError("seed", self.seed, "the seed must be an integer, e.g. seed = 7 (no quotes, no decimals)")
        conds = tuple(ConditionConfig.from_dict(c) if isinstance(c, dict) else c for c in self.conditions)
        object.__setattr__(self, "conditions", conds)
        if not conds or not all(isinstance(c, ConditionConfig) for c in conds):
            raise StudyConfigError("conditions", self.conditions, "give at least one [[conditions]] table")
        names = [c.name for c in conds]
        if len(set(names)) != len(names):
            raise StudyConfigError("conditions", names, "give each condition a different name")
        if isinstance(self.items, dict):
            object.__setattr__(self, "items", ItemSelector.from_dict(self.items))
        if not isinstance(self.items, ItemSelector):
            raise StudyConfigError("items", self.items, "give an [items] table")
        if self.design not in ("within", "between"):
            raise StudyConfigError("design", self.design, "use 'within' or 'between'")
        if self.order not in ("interleaved", "blocked"):
            raise StudyConfigError("order", self.order, "use 'interleaved' or 'blocked'")
        if self.verdict_scale not in ("binary", "likert"):
            raise StudyConfigError("verdict_scale", self.verdict_scale, "use 'binary' or 'likert'")
        self._check_confidence_levels()
        if not _is_int(self.overlap) or self.overlap < 1:
            raise StudyConfigError("overlap", self.overlap, "give a whole number of raters per item and condition, >= 1")
        self._check_raters()
        if isinstance(self.qc_rate, bool) or not isinstance(self.qc_rate, (int, float)) or not 0 <= self.qc_rate <= 0.5:
            raise StudyConfigError("qc_rate", self.qc_rate, "give a share between 0 and 0.5")
        if self.qc_condition is not None and self.qc_condition not in names:
            raise StudyConfigError("qc_condition", self.qc_condition, f"name one of the conditions {names}")
        if self.time_limit_s is not None and (
            isinstance(self.time_limit_s, bool) or not isinstance(self.time_limit_s, (int, float)) or not 1 <= self.time_limit_s <= 86400
        ):
            raise StudyConfigError("time_limit_s", self.time_limit_s, "give seconds between 1 and 86400, or leave it out for no limit")
        if self.audit_budget_hunks is not None and (not _is_int(self.audit_budget_hunks) or not 1 <= self.audit_budget_hunks <= 100000):
            raise StudyConfigError(
                "audit_budget_hunks",
                self.audit_budget_hunks,
                "give a whole number of hunks between 1 and 100000, or leave it out for no limit",
            )
        if not isinstance(self.drop_failed_critiques, bool):
            raise StudyConfigError("drop_failed_critiques", self.drop_failed_critiques, "give true or false")
        if not isinstance(self.description, str):
            raise StudyConfigError("description", self.description, "give a string")
        if not isinstance(self.analysis, AnalysisPlan):
            object.__setattr__(self, "analysis", AnalysisPlan.from_dict(self.analysis))
        primary = self.analysis.primary_treatment
        if primary is not None and primary not in names:
            raise StudyConfigError("analysis.primary_treatment", primary, f"name one of the conditions {names}")

    def _check_confidence_levels(self) -> None:
        """Resolve the default scale, and refuse levels no known scale has, or levels below chance
        (50%) for a binary verdict: there a rater's confidence is the probability of being right."""
        levels = self.confidence_levels
        if levels is None:
            object.__setattr__(self, "confidence_levels", default_levels(self.verdict_scale))
            return
        scales = " or ".join(f"{list(v)} ({k})" for k, v in CONFIDENCE_SCALES.items())
        if isinstance(levels, (str, bytes)) or not isinstance(levels, (list, tuple)):
            raise StudyConfigError("confidence_levels", levels, f"give a list of levels, {scales}, or leave it out")
        as_floats = tuple(float(c) if isinstance(c, (int, float)) and not isinstance(c, bool) else c for c in levels)
        if as_floats not in CONFIDENCE_SCALES.values():
            raise StudyConfigError("confidence_levels", levels, f"use one of the known scales, {scales}, or leave it out")
        if self.verdict_scale == "binary" and min(as_floats) < 0.5:
            raise StudyConfigError(
                "confidence_levels",
                levels,
                f"levels below 50% are below chance for a yes/no verdict; use {list(default_levels('binary'))} or leave it out",
            )
        object.__setattr__(self, "confidence_levels", as_floats)

    def _check_raters(self) -> None:
        if not isinstance(self.raters, tuple) or not all(isinstance(r, str) and r.strip() for r in self.raters):
            raise StudyConfigError("raters", self.raters, "give a list of rater ids (Jupyter user names)")
        if len(set(self.raters)) != len(self.raters):
            raise StudyConfigError("raters", self.raters, "list each rater once")
        if any(r.startswith(SLOT_PREFIX) for r in self.raters):
            raise StudyConfigError("raters", self.raters, f"rater ids starting with {SLOT_PREFIX!r} are reserved for open-enrolment slots")
        if not _is_int(self.open_slots) or self.open_slots < 0:
            raise StudyConfigError("open_slots", self.open_slots, "give a whole number of slots >= 0")
        if bool(self.raters) == bool(self.open_slots):
            raise StudyConfigError(
                "raters", self.raters, "give either a list of raters or open_slots = N for open enrolment (exactly one of the two)"
            )
        n, c, k = self.n_raters, len(self.conditions), self.overlap
        if self.design == "within" and n < c * k:
            raise StudyConfigError(
                "overlap",
                k,
                f"a within-subject design needs at least conditions x overlap = {c} x {k} = {c * k} raters "
                f"(each item is rated under every condition by different raters) but the study has {n}; lower overlap or add raters",
            )
        if self.design == "between" and n % c:
            # Unequal arms are legal but cost power and confound rater with load; say so, and how to balance.
            lower, upper = n - n % c, n + c - n % c
            warnings.warn(
                f"a between-subject design with {n} raters and {c} conditions cannot balance: arms get {n // c} or {n // c + 1} raters;"
                f" use {lower} or {upper} raters (a multiple of {c}) for equal arms",
                UnbalancedDesignWarning,
                stacklevel=3,
            )
        if self.design == "between" and n // c < k:
            raise StudyConfigError(
                "overlap",
                k,
                f"a between-subject design needs at least overlap = {k} raters in each of its {c} conditions "
                f"({c * k} in all) but the study has {n}; lower overlap or add raters",
            )

    # ------------------------------------------------------------------ derived facts

    @property
    def n_raters(self) -> int:
        return len(self.raters) or self.open_slots

    @property
    def condition_names(self) -> list[str]:
        return [c.name for c in self.conditions]

    def condition(self, name: str) -> ConditionConfig:
        for c in self.conditions:
            if c.name == name:
                return c
        raise StudyConfigError("condition", name, f"name one of the conditions {self.condition_names}")

    @property
    def qc_condition_name(self) -> str:
        return str(self.as_study().qc_condition_name)

    def as_study(self) -> Study:
        """This config as the typed record the store returns once it is stored (derived facts live there)."""
        return Study.from_config(self)

    def rater_ids(self) -> list[str]:
        """The table's rater ids: the listed raters, or one slot id per open slot."""
        if self.raters:
            return list(self.raters)
        width = max(3, len(str(self.open_slots)))
        return [f"{SLOT_PREFIX}{i:0{width}d}" for i in range(1, self.open_slots + 1)]

    # ------------------------------------------------------------------ (de)serialisation

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/TOML-able form; ``from_dict(to_dict())`` gives an equal config."""
        out = dataclasses.asdict(self)
        out["conditions"] = [dataclasses.asdict(c) for c in self.conditions]
        out["items"] = {**dataclasses.asdict(self.items), "ids": list(self.items.ids)}
        out["raters"] = list(self.raters)
        out["confidence_levels"] = list(self.confidence_levels or ())
        return out

    @classmethod
    def from_dict(cls, data: Any) -> StudyConfig:
        kwargs = _from_mapping(cls, data, "")
        for key in ("name", "conditions", "seed"):
            if key not in kwargs:
                raise StudyConfigError(key, None, f"the study needs `{key}`")
        return cls(**kwargs)

    @classmethod
    def from_study(cls, study: Study) -> StudyConfig:
        """The validated config a stored study was created from (refuses a partial, hand-stored one).

        A study stored before confidence scales were declared (no ``confidence_levels``) keeps
        the levels its raters chose from, the record's (:attr:`Study.confidence_levels`: the five
        likelihood levels), not the default a new study would get today."""
        stored = dict(study.config)
        if stored.get("confidence_levels"):
            return cls.from_dict(stored)
        config = cls.from_dict({**stored, "confidence_levels": None})
        # Set after validation: the old levels go below chance for a binary verdict, which a new
        # study may not declare, but this study was run on them and its judgments hold them.
        object.__setattr__(config, "confidence_levels", tuple(study.confidence_levels))
        return config

    @classmethod
    def from_toml(cls, path: str | Path) -> StudyConfig:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise StudyConfigError("file", str(path), f"not valid TOML ({exc}); fix the syntax") from None
        try:
            return cls.from_dict(data)
        except StudyConfigError as exc:
            raise StudyConfigError(exc.key, exc.value, f"{exc.fix} (in {path})") from None

"""Creating a study (items, critiques, frozen table), enrolling raters, and its status."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from oversight_ext import __version__
from oversight_ext.records import Assignment, Critique, Item
from oversight_ext.store import Conflict, Store
from oversight_ext.store import schema as tables

from .config import SLOT_PREFIX, ConditionConfig, StudyConfig, StudyConfigError
from .design import assign
from .selection import select_items, split_qc

__all__ = ["code_version", "create_study", "enroll", "load_config", "study_status"]

log = logging.getLogger(__name__)


def code_version() -> str:
    """``oversight_ext.__version__``, plus ``git describe`` of the source tree when it is a checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    return f"{__version__} git:{out}"[:64] if out else __version__


def load_config(store: Store, study: str) -> StudyConfig:
    """The validated config a stored study was created from (its typed record: ``store.study(study)``)."""
    return StudyConfig.from_study(store.study(study))


def _critic(cond: ConditionConfig, seed: int) -> Any:
    from oversight_ext.assistants import load_assistant

    if cond.planted_rate > 0:
        return load_assistant("planted", base=cond.assistant, rate=cond.planted_rate, seed=seed, **cond.overrides)
    return load_assistant(str(cond.assistant), **cond.overrides)


def check_assistants(config: StudyConfig) -> None:
    """Refuse a study whose assisted conditions name assistants that do not exist."""
    assisted = config.as_study().assisted_conditions
    if not assisted:
        return
    try:
        from oversight_ext.assistants import list_assistants
    except ImportError as exc:
        fix = f"the assistants package cannot be imported ({exc})"
        raise StudyConfigError("conditions.assistant", assisted[0].assistant, fix) from None
    known = list_assistants()
    for c in assisted:
        if c.assistant not in known and not Path(str(c.assistant)).is_file():
            raise StudyConfigError(
                f"conditions[{c.name!r}].assistant", c.assistant, f"unknown assistant; use one of {sorted(known)} or a path to a spec file"
            )


def _critique(store: Store, config: StudyConfig, items: Sequence[Item], progress: bool) -> dict[str, dict[str, Critique]]:
    """Critiques of ``items`` per assisted condition, stored (cached by item and spec hash)."""
    out: dict[str, dict[str, Critique]] = {}
    study = config.as_study()
    for cond in config.conditions:
        if not study.is_assisted(cond.name):
            continue
        from oversight_ext.assistants import critique_items

        critiques = critique_items(list(items), _critic(cond, config.seed), store=store, progress=progress)
        store.add_critiques(critiques)  # idempotent: makes sure the table can refer to them
        out[cond.name] = {c.item_id: c for c in critiques}
    return out


def create_study(store: Store, config: StudyConfig, *, owner: str | None = None, progress: bool = False) -> list[Assignment]:
    """Select items, critique them for assisted conditions, and freeze the assignment table.

    Nothing is written unless every step succeeds (critiques, being cached per item and
    critic, may stay stored). The seed and code version are stored beside the table.
    """
    if config.name in store.study_names():
        raise Conflict(f"study {config.name!r} already exists; its assignments are frozen. Choose another name")
    check_assistants(config)
    items, qc_items = split_qc(config, select_items(store, config.items, config.seed))
    critiques = _critique(store, config, items + qc_items, progress)
    if config.drop_failed_critiques:
        failed: dict[str, str] = {}
        for by_item in critiques.values():
            failed.update({i: c.reason or "failed" for i, c in by_item.items() if c.status == "failed"})
        for cond_name, by_item in critiques.items():
            n_ok = sum(1 for it in items if by_item[it.id].status != "failed")
            if n_ok == 0:
                reason = next((c.reason for c in by_item.values() if c.status == "failed"), "")
                raise StudyConfigError(
                    f"conditions[{cond_name!r}]",
                    config.condition(cond_name).assistant,
                    f"this condition has no items: its critic failed on all {len(items)} items (e.g. {reason!r}); "
                    "fix the assistant or choose another",
                )
        if failed:
            log.warning("study %r: left out %d item(s) a critic failed on, in every condition", config.name, len(failed))
        items = [it for it in items if it.id not in failed]
        qc_items = [it for it in qc_items if it.id not in failed]
        if not items:
            raise StudyConfigError("conditions", config.condition_names, "no item has a usable critique in every assisted condition")
    table = assign(config, [it.id for it in items], qc_item_ids=[it.id for it in qc_items])
    table = [dataclasses.replace(a, critique_id=critiques[a.condition][a.item_id].id) if a.condition in critiques else a for a in table]
    store.create_study(config.name, config, table, seed=config.seed, code_version=code_version(), owner=owner)
    return table


def enroll(store: Store, study: str, rater: str) -> list[Assignment]:
    """Hand ``rater`` their queue: the one they hold, else the lowest-numbered free slot.

    Slots are claimed in a fixed order, so enrolment is deterministic given the order in
    which people arrive; the table itself (items, conditions, order) never changes.
    """
    if not isinstance(rater, str) or not rater.strip() or rater.startswith(SLOT_PREFIX):
        raise ValueError(f"enroll(rater={rater!r}): give a rater id (a user name) not starting with {SLOT_PREFIX!r}")
    config = load_config(store, study)
    held = store.assignments(study, rater=rater)
    if held:
        return _keep_one_slot(store, study, rater, held) if config.open_slots else held
    if config.raters:
        raise ValueError(f"enroll(rater={rater!r}): study {study!r} has a fixed rater list; ask its owner to create a study that lists you")
    a = tables.assignments
    with store.engine.connect() as conn:
        slots = sorted(set(conn.execute(sa.select(a.c.rater).where(a.c.study == study, a.c.rater.like(f"{SLOT_PREFIX}%"))).scalars()))
    for slot in slots:
        # A conditional update claims the slot atomically: a concurrent claim of the same
        # slot finds no rows left to update and moves on to the next one.
        try:
            with store.engine.begin() as conn:
                claimed = conn.execute(a.update().where(a.c.study == study, a.c.rater == slot).values(rater=rater)).rowcount
        except sa.exc.IntegrityError:
            # The same person claimed another slot sharing an item at the same moment (two
            # tabs): the unique (study, rater, item) constraint refused this one; keep that.
            return _keep_one_slot(store, study, rater)
        if claimed:
            return _keep_one_slot(store, study, rater)
    raise Conflict(f"study {study!r} is full: all {config.open_slots} open slots are taken; create a study with more open_slots")


def _keep_one_slot(store: Store, study: str, rater: str, held: list[Assignment] | None = None) -> list[Assignment]:
    """If concurrent enrolments gave ``rater`` several slots, hand back all but the lowest."""
    held = store.assignments(study, rater=rater) if held is None else held
    slots = sorted({x.id[len(study) + 1 : x.id.rindex(":")] for x in held})
    if len(slots) > 1:
        a = tables.assignments
        judged = {j.assignment_id for j in store.judgments(study=study, rater=rater, current=False, cannot_judge=True)}
        with store.engine.begin() as conn:
            for extra in slots[1:]:
                prefix = f"{study}:{extra}:"
                if any(x.id.startswith(prefix) for x in held if x.id in judged):
                    continue  # never take back work already judged: its judgments name this rater
                conn.execute(
                    a.update()
                    .where(a.c.study == study, a.c.rater == rater, sa.func.substr(a.c.id, 1, len(prefix)) == prefix)
                    .values(rater=extra)
                )
        held = store.assignments(study, rater=rater)
    return held


def study_status(store: Store, study: str) -> pl.DataFrame:
    """Progress per condition: assignments, enrolled raters, QC, and by each assignment's current
    answer: ``judged`` (a verdict; of them ``human`` / ``simulated``), ``cannot_judge`` (the rater
    said why not: answered, but no verdict) and ``open`` (no answer yet)."""
    config = load_config(store, study)
    assignments = store.assignments_frame(study)
    answers = store.judgments_frame(study=study, cannot_judge=True)
    answers = answers.select("assignment_id", "simulated", pl.col("verdict").is_null().alias("_cannot"))
    frame = assignments.join(answers.unique("assignment_id", keep="last"), left_on="id", right_on="assignment_id", how="left")
    kinds = pl.DataFrame({"condition": config.condition_names, "kind": [c.kind for c in config.conditions]})
    verdict = pl.col("_cannot") == False  # noqa: E712 - polars expression
    per = frame.group_by("condition").agg(
        pl.len().alias("assignments"),
        pl.col("is_qc").sum().alias("qc"),
        pl.col("rater").filter(~pl.col("rater").str.starts_with(SLOT_PREFIX)).n_unique().alias("raters"),
        verdict.sum().alias("judged"),
        (verdict & (pl.col("simulated") == False)).sum().alias("human"),  # noqa: E712
        (verdict & (pl.col("simulated") == True)).sum().alias("simulated"),  # noqa: E712
        (pl.col("_cannot") == True).sum().alias("cannot_judge"),  # noqa: E712
        pl.col("_cannot").is_null().sum().alias("open"),
    )
    return kinds.join(per, on="condition", how="left").fill_null(0)

"""The reveal switch: after the class has rated, each participant sees their own results against gold.

Until the owner turns it on, gold stays hidden from raters (the blinding of the review API).
The switch lives in the store's mutable per-study state (``set_state(study, "reveal", ...)``),
so every server of a hub sees it at once; the study's design itself stays frozen. Who may
flip it, see the dashboard or export is decided here too (:func:`is_owner`).
"""

from __future__ import annotations

import polars as pl

from oversight_ext.analysis.frames import study_frame
from oversight_ext.analysis.metrics import outcomes
from oversight_ext.store import Store

__all__ = ["REVEAL_KEY", "OwnerRequired", "is_owner", "is_revealed", "my_results", "require_owner", "set_reveal"]

REVEAL_KEY = "reveal"

#: What a participant sees of each of their judgments once results are revealed.
RESULT_COLUMNS = (
    "position",
    "item_id",
    "condition_kind",
    "verdict",
    "confidence",
    "label",
    "correct",
    "bug_lines",
    "caught",
    "critique_verdict",
    "time_on_task_s",
)


class OwnerRequired(PermissionError):
    """Only the study's owner (or a rater with the store role "owner") may do this."""


def is_owner(store: Store, study: str, user: str) -> bool:
    """Whether ``user`` owns ``study``: named as its owner, or holding the store role "owner"."""
    if not user:
        return False
    if store.study(study).owner == user:
        return True
    row = store.rater(user)
    return row is not None and row["role"] == "owner"


def require_owner(store: Store, study: str, user: str, action: str) -> None:
    """Refuse ``action`` unless ``user`` owns ``study`` (see :func:`is_owner`)."""
    if not is_owner(store, study, user):
        raise OwnerRequired(
            f"{user!r} may not {action} of study {study!r}: only its owner can; "
            f"ask the owner, or have them run `store.add_rater({user!r}, role='owner')`"
        )


def set_reveal(store: Store, study: str, on: bool = True, *, by: str) -> bool:
    """Show (``on=True``) or hide each participant's own results against gold; returns the new state.

    ``by`` must own the study. Turning it off again hides results from then on.
    """
    if not isinstance(on, bool):
        raise ValueError(f"set_reveal(on={on!r}): give True to show results or False to hide them")
    require_owner(store, study, by, "reveal results")
    store.set_state(study, REVEAL_KEY, on, by=by)
    return on


def is_revealed(store: Store, study: str) -> bool:
    """Whether the owner has revealed results of ``study``."""
    return bool(store.get_state(study, REVEAL_KEY, False))


def my_results(store: Store, study: str, rater: str) -> pl.DataFrame:
    """``rater``'s own current judgments of ``study`` beside gold, once revealed.

    One row per judgment with :data:`RESULT_COLUMNS`; never anyone else's rows. Raises
    :class:`PermissionError` while the owner has not revealed results.
    """
    if not is_revealed(store, study):
        raise PermissionError(f"results of study {study!r} are not revealed yet; the study's owner reveals them after the class has rated")
    frame = study_frame(store, study).filter(pl.col("rater") == rater)
    return outcomes(frame).select(RESULT_COLUMNS).sort("position")

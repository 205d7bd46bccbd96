"""What a study's owner may ask of it (dashboard, reveal, export), and a rater of their own results.

An owner is the study's named owner or a rater with the store role "owner"
(:func:`oversight_ext.workshop.reveal.is_owner`); everyone else is refused with
:class:`~.service.Forbidden`. The REST routes (:mod:`oversight_ext.server.owner`) call this
class with the identity layer's rater, never a name from the request.
"""

from __future__ import annotations

from typing import Any

from oversight_ext.records import Study
from oversight_ext.store import Store, UnknownRecord

from .service import BadRequest, Forbidden, NotFound

__all__ = ["OwnerService"]


class OwnerService:
    """What owners (and, after reveal, raters about themselves) may ask of a study."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _study(self, study: str) -> Study:
        try:
            return self.store.study(study)
        except UnknownRecord:
            raise NotFound(f"no study {study!r}; see your studies at /oversight/api/me") from None

    def _owner(self, user: str, study: str, action: str) -> Study:
        from oversight_ext.workshop.reveal import OwnerRequired, require_owner

        info = self._study(study)
        try:
            require_owner(self.store, study, user, action)
        except OwnerRequired as exc:
            raise Forbidden(str(exc)) from None
        return info

    def dashboard(self, user: str, study: str, include_simulated: bool = True, svg: bool = False) -> dict[str, Any]:
        from oversight_ext.workshop.dashboard import dashboard_data
        from oversight_ext.workshop.reveal import is_revealed

        self._owner(user, study, "see the dashboard")
        return {
            **dashboard_data(self.store, study, include_simulated=include_simulated, svg=svg),
            "revealed": is_revealed(self.store, study),
        }

    def reveal(self, user: str, study: str, payload: Any) -> dict[str, Any]:
        from oversight_ext.workshop.reveal import set_reveal

        self._owner(user, study, "reveal results")
        if not isinstance(payload, dict) or not isinstance(payload.get("reveal"), bool):
            raise BadRequest('send {"reveal": true} to show participants their results, or {"reveal": false} to hide them', field="reveal")
        return {"study": study, "revealed": set_reveal(self.store, study, payload["reveal"], by=user)}

    def my_results(self, user: str, study: str) -> dict[str, Any]:
        from oversight_ext.workshop.reveal import is_revealed, my_results

        self._study(study)
        if not is_revealed(self.store, study):
            raise Forbidden(f"results of study {study!r} are not revealed yet; the study's owner reveals them after the class has rated")
        rows = my_results(self.store, study, user)
        correct = rows.filter(rows["correct"].is_not_null())["correct"]
        return {
            "study": study,
            "rater": user,
            "n": rows.height,
            "n_correct": int(correct.sum()) if correct.len() else 0,
            "results": rows.to_dicts(),
        }

    def export(self, user: str, study: str) -> dict[str, Any]:
        info = self._owner(user, study, "export the data")
        judgments = self.store.judgments(study=study, current=False, cannot_judge=True)
        return {
            "study": study,
            "config": info.config,
            "seed": info.seed,
            "code_version": info.code_version,
            "assignments": [a.to_dict() for a in self.store.assignments(study)],
            "judgments": [j.to_dict() for j in judgments],
        }

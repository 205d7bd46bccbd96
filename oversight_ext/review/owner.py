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

    def attribution(self, user: str, study: str, item_id: str, model_folder: str) -> dict[str, Any]:
        """Per-line attributions of the configured reward model for one item of the study (owners only)."""
        from oversight_ext.reward.heatstrip import CACHE

        self._owner(user, study, "see reward-model attributions")
        if not model_folder:
            raise NotFound(
                "no reward model is configured on this server: set c.ServerApp.tornado_settings = "
                "{'oversight_reward_model': FOLDER} or $OVERSIGHT_REWARD_MODEL to a folder `oversight train-rm` wrote",
                field="model",
            )
        if item_id not in {a.item_id for a in self.store.assignments(study)}:
            raise NotFound(f"study {study!r} has no item {item_id!r}: give the id of an item its raters judge", field="item")
        try:
            return CACHE.item(model_folder, self.store.get_item(item_id))
        except ValueError as exc:  # a folder without a model, or an item with no single program after the change
            raise BadRequest(str(exc), field="item") from None

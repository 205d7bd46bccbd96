"""Workshop mode: mix simulated raters into a small class so its charts still mean something.

Simulated raters (:func:`oversight_ext.study.simulate`) take open-enrolment slots as
``sim-NNN`` with ``kind="simulated"``; every judgment they make has ``simulated=True`` and the
dashboard draws them apart. How many were mixed in is kept in the study's state
(``"simulated_raters"``) so the dashboard and the report can say so.
"""

from __future__ import annotations

from oversight_ext.store import Store
from oversight_ext.study import SimulatedRaterConfig, simulate

from .reveal import require_owner

__all__ = ["SIMULATED_KEY", "mix_in_simulated", "simulated_count"]

SIMULATED_KEY = "simulated_raters"


def mix_in_simulated(
    store: Store,
    study: str,
    n_raters: int,
    *,
    by: str,
    seed: int = 0,
    config: SimulatedRaterConfig | None = None,
    progress: bool = False,
) -> int:
    """Enrol ``n_raters`` simulated raters in ``study`` and judge their queues; returns judgments stored.

    ``by`` must own the study. Repeating the call with the same seed adds nothing (the
    simulation is deterministic and idempotent); a larger ``n_raters`` adds the difference.
    """
    if isinstance(n_raters, bool) or not isinstance(n_raters, int) or n_raters < 1:
        raise ValueError(f"mix_in_simulated(n_raters={n_raters!r}): give a whole number of simulated raters >= 1")
    require_owner(store, study, by, "add simulated raters")
    created = simulate(store, study, n_raters, seed, config=config, progress=progress)
    store.set_state(study, SIMULATED_KEY, max(n_raters, simulated_count(store, study)), by=by)
    return created


def simulated_count(store: Store, study: str) -> int:
    """How many simulated raters the owner has mixed into ``study`` (0 if none)."""
    return int(store.get_state(study, SIMULATED_KEY, 0) or 0)

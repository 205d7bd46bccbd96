"""``oversight lab``: a demo study in the store, and JupyterLab started with the review extension.

The demo study compares reviewing alone with reviewing beside a replayed critique of the
package's demo items. The person running the command is its owner and one of its raters; a
few simulated raters fill the other queues, so the analysis has data from the start.
Preparing is idempotent: a study of that name already stored is reused as it is.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from oversight_ext.identity import os_user
from oversight_ext.options import option
from oversight_ext.records import Critique, Item
from oversight_ext.store import Store

__all__ = ["QUIET_PAGE_CONFIG", "LabConfig", "lab_argv", "lab_env", "lab_url", "prepare_demo"]

#: JupyterLab's "get notified about news?" prompt opens over the review panel's "Next item"
#: button; the lab that ``oversight lab`` starts disables it (that lab only, not the user's).
QUIET_PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}

#: The assistant the demo's assisted condition names when a spec of that name is installed.
DEMO_ASSISTANT = "demo-replay"


@dataclass
class LabConfig:
    """How ``oversight lab`` prepares the store and starts JupyterLab."""

    db: str | None = option("store URL or SQLite path (default: $OVERSIGHT_DB, else ./oversight.db)", None)
    study: str = option("name of the demo study; a stored study of this name is reused as it is", "demo")
    port: int | None = option("port of JupyterLab (default: a free one)", None)
    open_browser: bool = option("open a browser tab on start", True)
    rater: str = option("your rater id (default: $JUPYTERHUB_USER under a hub, else the OS user)", "")
    simulated: int = option("simulated raters beside you (sim-001, ...)", 3)
    seed: int = option("seed of the demo study's design and of the simulated raters", 0)
    token: str = option("JupyterLab login token (default: a random one)", "")

    def __post_init__(self) -> None:
        if not isinstance(self.study, str) or not self.study.strip() or ":" in self.study:
            raise ValueError(f"LabConfig.study = {self.study!r} is invalid: give a non-empty study name without ':'")
        if self.port is not None and (isinstance(self.port, bool) or not isinstance(self.port, int) or not 1 <= self.port <= 65535):
            raise ValueError(f"LabConfig.port = {self.port!r} is invalid: give a TCP port from 1 to 65535, or leave it out")
        if isinstance(self.simulated, bool) or not isinstance(self.simulated, int) or not 1 <= self.simulated <= 50:
            raise ValueError(f"LabConfig.simulated = {self.simulated!r} is invalid: give 1 to 50 simulated raters")
        self.rater = self.rater or os.environ.get("JUPYTERHUB_USER") or os_user()
        self.token = self.token or secrets.token_hex(24)
        if self.port is None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = int(s.getsockname()[1])


def _demo_records() -> tuple[list[Item], list[Critique]]:
    from oversight_ext.items.demo import demo_critiques, demo_items

    return demo_items(), demo_critiques()


def prepare_demo(
    store: Store,
    config: LabConfig,
    *,
    items: Sequence[Item] | None = None,
    critiques: Sequence[Critique] | None = None,
    progress: bool = False,
) -> str:
    """Make sure ``config.study`` exists with a queue for ``config.rater``; returns its name.

    ``items`` and ``critiques`` default to the package's demo set. The assisted condition
    replays ``critiques`` through the ``replay`` critic, so creating the study takes the same
    path (``create_study``: critique, cache, freeze) as any other study.
    """
    from oversight_ext.assistants import list_assistants
    from oversight_ext.study import ConditionConfig, ItemSelector, StudyConfig, create_study, simulate

    if config.study in store.study_names():
        if not store.assignments(config.study, rater=config.rater) and not store.study(config.study).is_open:
            raise ValueError(
                f"LabConfig.study = {config.study!r} is stored without a queue for rater {config.rater!r}; "
                "choose another name with --study NAME"
            )
        return config.study
    # The shipped demo critiques have their own assistant spec; other critiques are replayed
    # from a temporary file under the same assistant name.
    use_spec = critiques is None and DEMO_ASSISTANT in list_assistants()
    if items is None or critiques is None:
        demo_items, demo_critiques = _demo_records()
        items = demo_items if items is None else items
        critiques = demo_critiques if critiques is None else critiques
    store.add_items(items)
    sims = tuple(f"sim-{i:03d}" for i in range(1, config.simulated + 1))
    store.add_rater(config.rater, role="owner")
    with tempfile.TemporaryDirectory(prefix="oversight-lab-") as tmp:
        if use_spec:
            assisted = ConditionConfig(name="critique", kind="assisted", assistant=DEMO_ASSISTANT)
        else:
            replay = Path(tmp) / "demo-critiques.jsonl"
            replay.write_text("".join(json.dumps(c.to_dict()) + "\n" for c in critiques), encoding="utf-8")
            assisted = ConditionConfig(
                name="critique", kind="assisted", assistant="replay", overrides={"name": DEMO_ASSISTANT, "file": str(replay)}
            )
        study = StudyConfig(
            name=config.study,
            conditions=(ConditionConfig(name="alone"), assisted),
            seed=config.seed,
            items=ItemSelector(ids=tuple(it.id for it in items)),
            raters=(config.rater, *sims),
            # Half the raters per item and condition: every queue then holds (about) every item.
            overlap=max(1, (1 + len(sims)) // 2),
            description="Demo: review code changes alone or beside an AI critique (prepared by `oversight lab`).",
        )
        create_study(store, study, owner=config.rater, progress=progress)
    simulate(store, config.study, len(sims), config.seed, progress=progress)
    return config.study


def lab_url(config: LabConfig) -> str:
    return f"http://127.0.0.1:{config.port}/lab?token={config.token}"


def lab_argv(config: LabConfig) -> list[str]:
    """The ``jupyter lab`` command line: the review extension on, this port and token.

    The store travels as ``$OVERSIGHT_DB`` in the environment (the extension's default, and
    the notebook widget's), which keeps a database password out of the process list.
    """
    argv = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ip=127.0.0.1",
        f"--port={config.port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={config.token}",
        f"--ServerApp.open_browser={config.open_browser}",
        "--ServerApp.jpserver_extensions=oversight_ext=True",
        f"--OversightExtension.local_rater={config.rater}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    return argv


def lab_env(config_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for the lab process, with ``config_dir`` first on its Jupyter config path.

    ``config_dir`` receives a ``labconfig/page_config.json`` with :data:`QUIET_PAGE_CONFIG`;
    JupyterLab merges it over the user's own page config, which stays untouched.
    """
    labconfig = Path(config_dir) / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(json.dumps(QUIET_PAGE_CONFIG))
    rest = env.get("JUPYTER_CONFIG_PATH", "")
    return {**env, "JUPYTER_CONFIG_PATH": os.pathsep.join([str(config_dir), *([rest] if rest else [])])}

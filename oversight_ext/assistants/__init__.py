"""Critics behind one protocol: ``load_assistant(NAME).critique(item.view()) -> Critique``.

A critic is given what a rater sees (:class:`~oversight_ext.records.ItemView`), never gold;
``critique_item(critic, item)`` and ``critique_items`` do that for whole items. Specs are TOML
files shipped in ``specs/`` (package data) or found on ``$OVERSIGHT_ASSISTANTS``. Backends: ``exec`` (run examples, differential runs, generated inputs, fault localisation in a
sandbox), ``lint`` (ruff / pylint), ``hf`` (a local causal LM), ``openai`` (any
OpenAI-compatible server), ``replay`` (critiques from a file), ``planted`` (deliberately wrong
critiques for over-reliance studies) and ``ensemble`` (several critics merged).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from .batch import critique_items
from .protocol import BaseCritic, Claim, Critic, Draft, critique_id, critique_item
from .spec import AssistantConfig, list_assistants, load_config

__all__ = [
    "BACKENDS",
    "AssistantConfig",
    "BaseCritic",
    "Claim",
    "Critic",
    "Draft",
    "build_critic",
    "critique_id",
    "critique_item",
    "critique_items",
    "list_assistants",
    "load_assistant",
]

#: backend name -> "module:Class"; modules are imported on first use (hf pulls in torch).
BACKENDS: dict[str, str] = {
    "exec": "oversight_ext.assistants.exec.critic:ExecCritic",
    "lint": "oversight_ext.assistants.backends.lint:LintCritic",
    "hf": "oversight_ext.assistants.backends.hf:HFCritic",
    "openai": "oversight_ext.assistants.backends.chat:ChatCritic",
    "replay": "oversight_ext.assistants.backends.replay:ReplayCritic",
    "planted": "oversight_ext.assistants.backends.planted:PlantedCritic",
    "ensemble": "oversight_ext.assistants.backends.ensemble:EnsembleCritic",
    "rm": "oversight_ext.reward.critic:RewardModelCritic",  # above assistants: loaded by name, not imported
    "monitor": "oversight_ext.assistants.monitors.critic:MonitorCritic",
}


def build_critic(config: AssistantConfig) -> Critic:
    """The critic a config describes."""
    target = BACKENDS.get(config.backend)
    if target is None:
        raise ValueError(f"assistant {config.name!r}: backend = {config.backend!r} is unknown; use one of {sorted(BACKENDS)}")
    module, cls = target.split(":")
    critic: Critic = getattr(importlib.import_module(module), cls)(config)
    return critic


def load_assistant(name_or_path: str | os.PathLike[str], **overrides: Any) -> Critic:
    """Load the assistant spec ``name_or_path`` (a name on the search path or a .toml file).

    ``overrides`` replace spec fields; keys that are not fields set backend ``params``, e.g.
    ``load_assistant("planted", base="exec", rate=0.3, seed=7)``.
    """
    return build_critic(load_config(name_or_path, **overrides))

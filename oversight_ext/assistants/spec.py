"""Assistant specs: declarative TOML files naming a backend and its settings, found by name.

Specs are looked up, in order, as an explicit path, in each folder of ``$OVERSIGHT_ASSISTANTS``
(``os.pathsep``-separated: the user's own specs, which win over shipped ones of the same name),
and in the specs shipped inside the package (``oversight_ext/assistants/specs``, package data,
so they are found wherever the package is installed: a venv, ``pip install --user``, a wheel).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oversight_ext.options import option

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["AssistantConfig", "find_spec", "list_assistants", "load_config", "spec_dirs"]

#: The specs shipped with the package (package data).
SHIPPED = Path(__file__).resolve().with_name("specs")

#: Bumped when a backend's behaviour changes, so cached critiques of an old version are not reused.
BACKEND_VERSION = "1"


@dataclass(frozen=True)
class AssistantConfig:
    """One assistant: which backend runs it and with what settings."""

    name: str = option("name the assistant is loaded by (--assistant NAME) and recorded under", "")
    backend: str = option("exec | lint | hf | openai | replay | planted | ensemble", "")
    description: str = option("one line saying what the assistant does", "")
    model: str = option("model id, local path or hub id (hf, openai backends)", "")
    base_url: str = option("OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (else $OPENAI_BASE_URL)", "")
    api_key_env: str = option("environment variable holding the API key (never the key itself)", "OPENAI_API_KEY")
    prompt: str = option("prompt template, or a file name beside the spec; fields {path} {language} {task} {spec} {diff} {code}", "")
    temperature: float = option("sampling temperature (0 = greedy)", 0.0)
    top_p: float = option("nucleus sampling mass", 1.0)
    max_tokens: int = option("most new tokens a model may generate per critique", 512)
    verbosity: float = option("0..1: 1 keeps every comment, lower values keep only the backend's surer claims", 1.0)
    timeout_s: float = option("per-item limit for a model call or a sandboxed run", 60.0)
    seed: int = option("seed for any randomness (generated inputs, planted choices)", 0)
    params: dict[str, Any] = option("backend-specific settings (see the backend's docstring)", default_factory=dict)
    path: str = option("the file the spec was read from (not hashed)", "")

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("AssistantConfig.name is empty: give the assistant a name (name = '...' in its TOML)")
        if not (0.0 <= float(self.verbosity) <= 1.0):
            raise ValueError(f"AssistantConfig.verbosity = {self.verbosity!r} is invalid: give a number between 0 and 1")

    @property
    def spec_hash(self) -> str:
        """SHA-256 of everything that changes what the critic says (not its file location)."""
        data = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("path", "description")}
        data["prompt"] = self.prompt_text()
        data["_backend_version"] = BACKEND_VERSION
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()

    def prompt_text(self) -> str:
        """The prompt template: the ``prompt`` field itself, or the file it names beside the spec."""
        if self.prompt and self.path and "\n" not in self.prompt and self.prompt.endswith((".txt", ".md", ".jinja")):
            file = Path(self.path).parent / self.prompt
            if file.is_file():
                return file.read_text()
        return self.prompt

    def resolve(self, value: str) -> Path:
        """A path from the spec, relative to the spec's folder; ``package:PKG/FILE`` names a
        file shipped inside an installed Python package (e.g. the demo critiques)."""
        if value.startswith("package:"):
            package, _, rest = value[len("package:") :].partition("/")
            return Path(str(importlib.resources.files(package).joinpath(rest)))
        p = Path(value).expanduser()
        return p if p.is_absolute() or not self.path else Path(self.path).parent / p

    def with_overrides(self, **overrides: Any) -> AssistantConfig:
        """A copy with fields replaced; unknown keys go into ``params``."""
        names = {f.name for f in dataclasses.fields(self)}
        top = {k: v for k, v in overrides.items() if k in names and k != "params"}
        params = {**self.params, **overrides.get("params", {}), **{k: v for k, v in overrides.items() if k not in names}}
        return dataclasses.replace(self, **top, params=params)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, path: str = "") -> AssistantConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        top = {k: v for k, v in data.items() if k in names and k != "params"}
        params = {**data.get("params", {}), **{k: v for k, v in data.items() if k not in names}}
        return cls(**top, params=params, path=path or top.get("path", ""))


def spec_dirs() -> list[Path]:
    """Folders searched for ``NAME.toml``, in order."""
    dirs = [Path(p) for p in os.environ.get("OVERSIGHT_ASSISTANTS", "").split(os.pathsep) if p]
    dirs.append(SHIPPED)
    return dirs


def find_spec(name_or_path: str | os.PathLike[str]) -> Path:
    """The spec file for a name or path; ValueError listing the known names if there is none."""
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.is_file():
        return p
    for d in spec_dirs():
        cand = d / f"{p.name}.toml"
        if cand.is_file():
            return cand
    raise ValueError(
        f"assistant {str(name_or_path)!r} not found: give a path to a .toml spec or one of {list_assistants()} "
        f"(searched {[str(d) for d in spec_dirs()]}; add folders with $OVERSIGHT_ASSISTANTS)"
    )


def load_config(name_or_path: str | os.PathLike[str], **overrides: Any) -> AssistantConfig:
    """Read a spec and apply overrides."""
    file = find_spec(name_or_path)
    try:
        data = tomllib.loads(file.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"assistant spec {file}: not valid TOML ({exc}); fix the file") from None
    data.setdefault("name", file.stem)
    return AssistantConfig.from_dict(data, path=str(file)).with_overrides(**overrides)


def list_assistants() -> list[str]:
    """Names of every spec on the search path (first one found wins)."""
    names: set[str] = set()
    for d in spec_dirs():
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.toml"))
    return sorted(names)

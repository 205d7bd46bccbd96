"""Every ``oversight`` command the docs or the package's messages name exists, with the options named.

The commands are read from code spans in the README and the other guides and from the
package's strings (error messages, help, docstrings); each is run with ``--help`` and every
``--option`` written after it must be one its parser knows. Also here: the version is written
once (package.json), and no module speaks of "teams".
"""

from __future__ import annotations

import argparse
import ast
import json
import re
from pathlib import Path

import pytest

import oversight_ext
from oversight_ext.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "oversight_ext"
GUIDES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SPAN = re.compile(r"`+(oversight [^`]+?)`+")
#: A span may chain shell commands (``oversight a && oversight b``): each is checked on its own.
SHELL_SEPARATOR = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")


def commands_in(span: str) -> list[str]:
    return [part for part in SHELL_SEPARATOR.split(span) if part.startswith("oversight ")]


def spans_in_guides() -> list[tuple[str, str]]:
    found = []
    for path in GUIDES:
        if path.exists():
            found += [(path.relative_to(ROOT).as_posix(), c) for m in SPAN.findall(path.read_text()) for c in commands_in(m)]
    return found


def spans_in_package() -> list[tuple[str, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found += [
                    (f"{path.relative_to(ROOT).as_posix()}:{node.lineno}", c) for m in SPAN.findall(node.value) for c in commands_in(m)
                ]
    return found


def expand(span: str) -> list[list[str]]:
    """``oversight workshop practice / simulate`` names two commands; the tokens after ``oversight``."""
    first, *others = [part.split() for part in span.split(" / ")]
    commands = [first[1:]]
    for other in others:
        commands.append([*first[1:-1], *other])
    return commands


def subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def resolve(tokens: list[str]) -> tuple[list[str], argparse.ArgumentParser, list[str]]:
    """Walk the parser tree along ``tokens``: (the command path, its parser, the options written)."""
    parser, path = build_parser(), []
    rest = list(tokens)
    while (sub := subparsers(parser)) is not None and (rest or not path):
        if not rest or rest[0] not in sub.choices:
            raise AssertionError(f"no command `oversight {' '.join([*path, *rest[:1]])}`; commands here: {sorted(sub.choices)}")
        path.append(rest.pop(0))
        parser = sub.choices[path[-1]]
    options = [t.strip("[]").split("=")[0] for t in rest if t.strip("[]").startswith("--")]
    return path, parser, options


NAMED = sorted({(where, " ".join(cmd)) for where, span in spans_in_guides() + spans_in_package() for cmd in expand(span)})


def test_the_guides_and_messages_name_commands() -> None:
    wheres = {w.split(":")[0] for w, _ in NAMED}
    assert "README.md" in wheres and any(w.startswith("oversight_ext/") for w in wheres)
    assert len(NAMED) >= 20


@pytest.mark.parametrize(("where", "command"), NAMED, ids=[f"{w}:{c}" for w, c in NAMED])
def test_named_command_exists_with_its_options(where: str, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    path, parser, options = resolve(command.split())
    known = set(parser._option_string_actions)
    unknown = [o for o in options if o not in known]
    assert not unknown, f"{where}: `oversight {command}` names options {unknown} that `oversight {' '.join(path)}` lacks"
    with pytest.raises(SystemExit) as done:
        main([*path, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: oversight {' '.join(path)}") and all(o in out for o in options)


def test_a_command_that_does_not_exist_is_caught() -> None:
    with pytest.raises(AssertionError, match="no command `oversight reviewers`"):
        resolve(["reviewers", "list"])
    with pytest.raises(AssertionError, match="no command `oversight study nonsense`"):
        resolve(["study", "nonsense"])
    assert resolve(["eval-critics", "--list"])[2] == ["--list"]


def test_the_version_is_written_once_in_package_json() -> None:
    version = json.loads((ROOT / "package.json").read_text())["version"]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^dynamic = \["version"\]', pyproject, re.M) and re.search(
        r'^\[tool\.hatch\.version\]\nsource = "nodejs"', pyproject, re.M
    )
    assert not re.search(r"^version\s*=", pyproject, re.M)
    init = (PACKAGE / "__init__.py").read_text()
    assert version not in init and 'metadata.version("oversight_ext")' in init
    assert oversight_ext.__version__ == version


def test_no_code_speaks_of_teams() -> None:
    hits = []
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "tests").rglob("*.py"), *(ROOT / "src").rglob("*.ts"), *(ROOT / "bench").glob("*.py")]:
        if path == Path(__file__).resolve():
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"team", line, re.I):
                hits.append(f"{path.relative_to(ROOT)}:{n}")
    assert not hits, hits

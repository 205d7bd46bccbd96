"""The package layout keeps its promises: a kernel's review widget loads no web server, the
library never imports its test harnesses, and who the rater is has one rule."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from oversight_ext.identity import STOCK_PROVIDERS, kernel_rater, os_user, request_rater

PACKAGE = Path(__file__).resolve().parent.parent / "oversight_ext"


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_review_widget_loads_no_web_server() -> None:
    loaded = _loaded_after("import oversight_ext.review.widget")
    assert "oversight_ext.review.widget" in loaded and "anywidget" in loaded  # it did load
    web = sorted(m for m in loaded if m.split(".")[0] in ("tornado", "jupyter_server") or m.startswith("oversight_ext.server"))
    assert web == []


def test_the_notebook_call_opens_the_widget_whatever_was_imported_first(tmp_path: Path) -> None:
    # Importing the service binds the package to oversight_ext.review; the call still works.
    loaded = _loaded_after("import oversight_ext.review.service\nfrom oversight_ext import review\nassert callable(review), review")
    assert "oversight_ext.review.service" in loaded
    import oversight_ext
    from oversight_ext import review

    assert review is oversight_ext.review and callable(review)
    with pytest.raises(ValueError, match="no such study"):
        review("nope", db=tmp_path / "empty.db", rater="someone")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_library_never_imports_its_test_harnesses_or_dev_dependencies() -> None:
    library = [p for p in PACKAGE.rglob("*.py") if "testing" not in p.relative_to(PACKAGE).parts]
    assert len(library) > 50
    offenders = {
        str(p.relative_to(PACKAGE)): sorted(n for n in _imports(p) if n.startswith(("oversight_ext.testing", "httpx", "tests", "bench")))
        for p in library
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    # ... while the harnesses themselves are where they moved to.
    assert {p.name for p in (PACKAGE / "testing").glob("*.py")} >= {"throwaway.py", "loadgen.py", "classserver.py"}
    assert not (PACKAGE / "store" / "throwaway.py").exists() and not (PACKAGE / "workshop" / "loadgen.py").exists()


def test_who_the_rater_is() -> None:
    stock = next(iter(STOCK_PROVIDERS))
    assert request_rater("anonymous-42", stock, "ada", environ={}) == "ada"
    assert request_rater("anonymous-42", stock, "", environ={}) == "anonymous-42"
    assert request_rater("ben", "oversight_ext.server.identity.ClassTokenIdentityProvider", "ada", environ={}) == "ben"
    assert request_rater("anyone", stock, "ada", environ={"JUPYTERHUB_USER": "hubby"}) == "hubby"
    assert request_rater("carol", "jupyterhub.singleuser.mixins.HubOAuth", "ada", environ={"JUPYTERHUB_USER": "x"}) == "carol"
    assert kernel_rater(None, environ={}) == os_user() and kernel_rater("ada", environ={}) == "ada"
    assert kernel_rater(None, environ={"JUPYTERHUB_USER": "hubby"}) == "hubby"
    with pytest.raises(ValueError, match="hub user 'hubby'"):
        kernel_rater("ada", environ={"JUPYTERHUB_USER": "hubby"})


def test_packaging_declares_a_licence_and_needs_no_arrow_for_charts() -> None:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    root = PACKAGE.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "BSD-3-Clause"} and "BSD 3-Clause License" in (root / "LICENSE").read_text()
    assert not any(d.startswith("pyarrow") for d in project["dependencies"])
    calls = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if ".to_pandas(" in p.read_text(encoding="utf-8")]
    assert calls == []
    # The charts take polars frames as they are: build every dashboard chart with pyarrow unimportable.
    code = (
        "import sys; sys.modules['pyarrow'] = None\n"
        "import polars as pl\n"
        "from oversight_ext.analysis import charts\n"
        "frame = pl.DataFrame({'judge': ['human', 'gold'], 'role': ['h', 'g'], 'accuracy': [0.6, 1.0], 'n': [10, 10],"
        " 'ci_low': [0.4, 1.0], 'ci_high': [0.8, 1.0]})\n"
        "spec = charts.sandwich_chart(frame).to_dict()\n"
        "assert [r['judge'] for r in list(spec['datasets'].values())[0]] == ['human', 'gold']\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_saved_model_files_are_readable_by_others(tmp_path: Path) -> None:
    import os

    from oversight_ext.reward.model import make_readable

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"\0" * 8)
    weights.chmod(0o600)  # what safetensors leaves
    mask = os.umask(0o022)
    try:
        make_readable(tmp_path)
    finally:
        os.umask(mask)
    assert weights.stat().st_mode & 0o777 == 0o644

"""Items made by mutating real Python code: seeded bugs with gold lines, and correct controls.

:func:`generate_items` picks functions and methods from real source (a file, a folder, or an
importable module such as ``json``), plants one bug in each with a mutation operator
(:data:`~oversight_ext.items.operators.MUTATIONS`) and pairs it with a correct control from the
same function: either a behaviour-preserving rewrite
(:data:`~oversight_ext.items.operators.REWRITES`) or the reverse of the mutation, a real fix.
Buggy and correct items therefore come from the same functions and show the same kinds of
edit, so the label is not given away by which code an item shows. Everything is drawn from ``numpy.random.default_rng(seed)`` over sorted
inputs, so one seed gives byte-identical items in every process.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import itertools
import os
import platform
import re
import sysconfig
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from oversight_ext.diffs import changed_lines, make_diff
from oversight_ext.options import option
from oversight_ext.records import Item

from .operators import MUTATIONS, REWRITES, Change, Snippet

__all__ = ["MutationConfig", "find_sources", "generate_items", "plant_bugs"]


@dataclass(frozen=True)
class MutationConfig:
    """How :func:`generate_items` picks functions and controls."""

    min_lines: int = option("shortest function (def to last line, decorators included) to use", 4)
    max_lines: int = option("longest function to use: longer ones make tiring items", 60)
    rewrite_share: float = option("share of correct controls that are behaviour-preserving rewrites; the rest are fixes", 0.5)
    max_file_bytes: int = option("skip source files larger than this (generated tables)", 2_000_000)
    max_doc_chars: int = option("longest docstring copied into an item's task statement", 1500)

    def __post_init__(self) -> None:
        if not 1 <= self.min_lines <= self.max_lines:
            raise ValueError(f"min_lines={self.min_lines}, max_lines={self.max_lines}: need 1 <= min_lines <= max_lines")
        if not 0.0 <= self.rewrite_share <= 1.0:
            raise ValueError(f"rewrite_share={self.rewrite_share}: give a share between 0 and 1")


@dataclass(frozen=True)
class SourceFile:
    """A Python file and the names an item shows for it."""

    path: Path
    rel: str  # e.g. "json/decoder.py": the path a reviewer sees
    module: str  # e.g. "json.decoder"


@dataclass(frozen=True)
class _Function:
    file: SourceFile
    qualname: str
    name: str
    first_line: int
    text: str  # the self-contained snippet: needed imports, then the dedented function
    signature: str
    doc: str | None
    is_method: bool


#: Revisits in a row that find no new item before a source counts as exhausted.
_MAX_MISSES = 300
_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()


def _in_stdlib(path: Path) -> bool:
    """Whether ``path`` is the standard library's own code (third-party packages installed beneath it are not)."""
    rel = path.resolve()
    if not rel.is_relative_to(_STDLIB):
        return False
    return not {"site-packages", "dist-packages"} & set(rel.relative_to(_STDLIB).parts)


def _files_under(root: Path, top: Path) -> list[SourceFile]:
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"]
        found += [Path(dirpath, name) for name in filenames if name.endswith(".py")]
    out = []
    for p in sorted(found):
        rel = p.relative_to(root).as_posix()
        module = rel[: -len(".py")].replace("/", ".").removesuffix(".__init__")
        out.append(SourceFile(p, rel, module))
    return out


def find_sources(source: str | os.PathLike[str]) -> list[SourceFile]:
    """The .py files of ``source``: a file, a folder (searched recursively) or a module name."""
    path = Path(source)
    if path.is_file():
        if path.suffix != ".py":
            raise ValueError(f"source={str(source)!r} is not a .py file; give a Python file, a folder of them, or a module name")
        return [SourceFile(path, path.name, path.stem)]
    if path.is_dir():
        return _files_under(path.resolve().parent, path.resolve())
    spec = None
    if isinstance(source, str) and _MODULE_NAME.fullmatch(source):
        try:
            spec = importlib.util.find_spec(source)
        except (ImportError, ValueError):
            spec = None
    if spec is None:
        raise ValueError(
            f"source={str(source)!r} is neither an existing path nor an importable module; "
            "give a .py file, a folder of .py files, or a module name such as 'json'"
        )
    if spec.submodule_search_locations:
        depth = spec.name.count(".")  # email.mime lives in .../email/mime: show paths from email/
        return [f for d in sorted(spec.submodule_search_locations) for f in _files_under(Path(d).parents[depth], Path(d))]
    # Frozen standard-library modules (os, codecs...) keep their source file in loader_state.
    origin_name = getattr(spec.loader_state, "filename", None) if spec.origin == "frozen" else spec.origin
    if not (isinstance(origin_name, str) and origin_name.endswith(".py") and Path(origin_name).is_file()):
        raise ValueError(f"source={source!r} has no Python source (it is built in or compiled); give a module written in Python")
    origin = Path(origin_name)
    # spec.name, not source: an alias such as os.path names the real module (posixpath).
    rel = "/".join([*spec.name.split(".")[:-1], origin.name])
    return [SourceFile(origin, rel, spec.name)]


def _bound_names(stmt: ast.Import | ast.ImportFrom) -> set[str]:
    return {(a.asname or a.name).split(".")[0] for a in stmt.names}


def _statement_text(lines: list[str], st: ast.stmt) -> str:
    """The original text of a top-level statement (``ast.get_source_segment`` re-splits the file each call)."""
    end = st.end_lineno or st.lineno
    if st.col_offset == 0 and st.end_col_offset == len(lines[end - 1].encode()):
        return "\n".join(lines[st.lineno - 1 : end])
    return ast.unparse(st)


def _functions(file: SourceFile, config: MutationConfig) -> list[_Function]:
    """The functions and methods of ``file`` within the size window, as self-contained snippets."""
    try:
        raw = file.path.read_bytes()
        if len(raw) > config.max_file_bytes:
            return []
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        tree = ast.parse(text)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return []  # unreadable or not Python 3 (e.g. test data written for Python 2)
    lines = text.split("\n")
    imports = [
        (_bound_names(st), _statement_text(lines, st))
        for st in tree.body
        if isinstance(st, (ast.Import, ast.ImportFrom)) and not (isinstance(st, ast.ImportFrom) and st.module == "__future__")
    ]
    defs: list[tuple[str | None, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defs.append((None, node))
        elif isinstance(node, ast.ClassDef):
            defs += [(node.name, sub) for sub in node.body if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef))]
    out = []
    for cls, node in defs:
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        end = node.end_lineno or node.lineno
        if not config.min_lines <= end - start + 1 <= config.max_lines:
            continue
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        needed = [seg for names, seg in imports if names & used]
        body = textwrap.dedent("\n".join(lines[start - 1 : end])) + "\n"
        snippet = "\n".join(needed) + "\n\n\n" + body if needed else body
        if len(snippet.splitlines()) != snippet.count("\n"):
            continue  # form feeds and other line breaks Python's str.splitlines sees but ast does not
        try:
            ast.parse(snippet)
        except SyntaxError:
            continue  # a docstring less indented than its method defeats dedent
        qualname = f"{cls}.{node.name}" if cls else node.name
        signature = f"{qualname}({ast.unparse(node.args)})"
        out.append(_Function(file, qualname, node.name, start, snippet, signature, ast.get_docstring(node), cls is not None))
    return out


def _choose(
    snippet: Snippet, operators: dict[str, Callable[[Snippet], list[Change]]], rng: np.random.Generator
) -> tuple[Change, str] | None:
    """A random valid change from a random operator that has one; operators are tried in random order."""
    names = list(operators)
    for k in rng.permutation(len(names)):
        changes = operators[names[k]](snippet)
        for j in rng.permutation(len(changes))[:8]:
            text = changes[j].apply()
            if text is not None:
                return changes[j], text
    return None


def _spec(f: _Function, config: MutationConfig) -> str:
    kind = "method" if f.is_method else "function"
    head = f"`{f.signature}`, a {kind} from `{f.file.rel}`."
    if f.doc:
        doc = f.doc if len(f.doc) <= config.max_doc_chars else f.doc[: config.max_doc_chars].rstrip() + " [...]"
        return f"{head} Its documentation:\n\n{doc}"
    return f"{head} It has no docstring: judge the code after the change against what its name, signature and body evidently intend."


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _item(f: _Function, config: MutationConfig, before: str, after: str, direction: str, change: Change, pair_id: str) -> Item:
    diff = make_diff(before, after, f.file.rel)
    buggy = direction == "introduce_bug"
    if buggy:
        explanation = f"Planted bug ({change.operator}): {change.description}."
    elif direction == "fix_bug":
        explanation = f"A real fix: it reverts a planted {change.operator} bug; {change.undo}."
    else:
        explanation = f"Behaviour-preserving rewrite ({change.operator}): {change.description}."
    return Item(
        id=f"mut-{_digest(f.file.rel, f.qualname, before, after)}",
        diff=diff,
        spec=_spec(f, config),
        language="python",
        source="mutation",
        task=f"{f.file.module}.{f.qualname}",
        path=f.file.rel,
        before=before,
        after=after,
        pair_id=pair_id,
        direction=direction,
        label="buggy" if buggy else "correct",
        bug_lines=tuple(sorted(changed_lines(diff)[f.file.rel])) if buggy else (),
        bug_lines_before=tuple(sorted(changed_lines(diff, "old")[f.file.rel])) if direction == "fix_bug" else (),
        bug_type=None if direction == "refactor" else change.operator,
        explanation=explanation,
        licence="PSF-2.0 (Python standard library)" if _in_stdlib(f.file.path) else None,
        provenance={
            "module": f.file.module,
            "path": f.file.rel,
            "function": f.qualname,
            "first_line": f.first_line,
            "python": platform.python_version(),
        },
        meta={"generator": "oversight_ext.items.mutate", "edit": change.operator},
    )


def _pair(f: _Function, config: MutationConfig, rng: np.random.Generator) -> list[Item] | None:
    """A buggy item from ``f`` and a correct control of the same function, or None if ``f`` offers no mutation."""
    snippet = Snippet(f.text, f.name)
    bug = _choose(snippet, MUTATIONS, rng)
    if bug is None:
        return None
    change, mutated = bug
    pair_id = f"mut-pair-{_digest(f.file.rel, f.qualname, mutated)}"
    items = [_item(f, config, f.text, mutated, "introduce_bug", change, pair_id)]
    rewrite = _choose(snippet, REWRITES, rng) if rng.random() < config.rewrite_share else None
    if rewrite is not None:
        items.append(_item(f, config, f.text, rewrite[1], "refactor", rewrite[0], pair_id))
    else:
        items.append(_item(f, config, mutated, f.text, "fix_bug", change, pair_id))
    return items


def plant_bugs(code: str, n: int, rng: np.random.Generator) -> list[tuple[Change, str]]:
    """Up to ``n`` distinct buggy versions of ``code``, each with one mutation operator applied
    to one of its top-level functions (chosen at random per version).

    Returns ``(change, mutated text)`` pairs; fewer than ``n`` (possibly none) when the code
    does not parse, has no top-level function or offers fewer distinct mutations.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    names = [st.name for st in tree.body if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not names or n < 1:
        return []
    snippets = {name: Snippet(code, name) for name in names}
    out: dict[str, Change] = {}
    for _ in range(4 * n):
        found = _choose(snippets[names[int(rng.integers(len(names)))]], MUTATIONS, rng)
        if found is not None and found[1] not in out:
            out[found[1]] = found[0]
            if len(out) == n:
                break
    return [(change, text) for text, change in out.items()]


def _candidates(files: list[SourceFile], config: MutationConfig, rng: np.random.Generator, cap: int) -> Iterator[tuple[int, _Function]]:
    """Functions in random order: a first sweep takes at most ``cap`` per file so items spread over
    the source; the second takes the rest; later sweeps revisit them all for other mutation sites."""
    cache: dict[int, list[_Function]] = {}
    order = rng.permutation(len(files))
    for sweep in itertools.count():
        for fi in order:
            if fi not in cache:
                found = _functions(files[fi], config)
                cache[fi] = [found[i] for i in rng.permutation(len(found))]
            funcs = cache[fi]
            for f in funcs[:cap] if sweep == 0 else funcs[cap:] if sweep == 1 else funcs:
                yield sweep, f
        if sweep == 1 and not any(cache.values()):
            return


def generate_items(
    source: str | os.PathLike[str], n: int, seed: int, *, progress: bool = False, config: MutationConfig | None = None
) -> list[Item]:
    """``n`` items from real Python source: ``(n + 1) // 2`` buggy, ``n // 2`` correct controls.

    ``source`` is a .py file, a folder searched recursively, or an importable module name
    (``"json"``; a package gives all its files). The same ``seed`` gives byte-identical items.
    Raises ``ValueError`` when the source is missing, holds no usable function, or cannot give
    ``n`` distinct items.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n={n!r}: give a positive number of items")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r}: give a non-negative integer")
    config = config or MutationConfig()
    files = find_sources(source)
    rng = np.random.default_rng(seed)
    pairs = (n + 1) // 2
    items: list[Item] = []
    seen: set[str] = set()
    usable = misses = 0
    with tqdm(total=n, desc="mutating", unit="item", disable=not progress) as bar:
        for sweep, f in _candidates(files, config, rng, cap=max(1, -(-pairs // max(len(files), 1)))):
            usable += 1
            pair = _pair(f, config, rng)
            if pair is None or any(it.id in seen for it in pair):
                misses += sweep >= 2
                if misses > _MAX_MISSES:
                    break  # revisits keep finding nothing new: the source is exhausted
                continue
            misses = 0
            pair = pair[: n - len(items)]  # an odd n ends on a buggy item
            seen.update(it.id for it in pair)
            items += pair
            bar.update(len(pair))
            if len(items) == n:
                return items
    if not usable:
        raise ValueError(
            f"source={str(source)!r} has no eligible functions: none of its {len(files)} .py file(s) holds a parseable function "
            f"of {config.min_lines}-{config.max_lines} lines; give a larger module or package"
        )
    raise ValueError(f"n={n}: source={str(source)!r} yields only {len(items)} distinct items; ask for fewer or give a larger source")

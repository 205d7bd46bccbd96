"""The libcst codemod of the volume family renames locals and leaves behaviour as it was."""

from __future__ import annotations

import ast

from oversight_ext.items.sabotage.codemod import rename_locals
from oversight_ext.items.sabotage.common import run_python

SOURCE = """import os


def walk(top, type=None):
    list = []
    newNode = 0

    def bump():
        return newNode + 1

    for name in sorted(os.listdir(top)):
        newNode += len(name)
        list.append((name, bump()))
    return list, [n for n, _ in list]


def shown(x):
    fileName = str(x)
    return f"{fileName=}"


def keyword(dir=0):
    id = dir + 1
    return id


def taken(a):
    len = a
    len_ = 2
    return len + len_
"""


def test_locals_are_renamed_everywhere_they_are_read_and_nothing_unsafe_is() -> None:
    new, count = rename_locals(SOURCE)
    tree = ast.parse(new)
    assert count == 3  # list, newNode (read in the nested bump too), id
    assert "list_ = []" in new and "list_.append" in new and "for n, _ in list_" in new
    assert "new_node = 0" in new and "return new_node + 1" in new and "newNode" not in new
    assert "id_ = dir + 1" in new and "def keyword(dir=0)" in new  # a parameter keeps its name
    assert "def walk(top, type=None)" in new
    assert "fileName = str(x)" in new  # an f-string {x=} prints the name: left alone
    assert "len = a" in new  # len_ is taken
    assert rename_locals(new)[1] == 0  # nothing left to rename
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)] == ["walk", "shown", "keyword", "taken"]


def test_the_renamed_module_computes_what_the_original_did(tmp_path) -> None:
    (tmp_path / "a").mkdir()
    for name in ("x.txt", "yy.py"):
        (tmp_path / "a" / name).write_text("")
    calls = f"print(walk({str(tmp_path / 'a')!r}), shown(3), keyword(4), taken(5))"
    new, _ = rename_locals(SOURCE)
    runs = [run_python({"m.py": text + "\n" + calls}, ["m.py"], wall_s=20) for text in (SOURCE, new)]
    assert runs[0].returncode == 0 and runs[0].stdout.strip() and runs[0].stdout == runs[1].stdout, runs

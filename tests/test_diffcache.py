"""The parsed-diff cache: one parse per diff even under concurrent requests, prefetch, eviction."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from test_server import DIFF, seed

from oversight_ext import diffs
from oversight_ext.records import Item
from oversight_ext.review import diffcache
from oversight_ext.review.diffcache import DiffCache
from oversight_ext.review.service import ReviewService
from oversight_ext.store import Store


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each real parse (the parser itself still runs)."""
    calls: list[str] = []

    def parse(text: str) -> Any:
        calls.append(text)
        return diffs.parse_compact(text)

    monkeypatch.setattr(diffcache, "parse_compact", parse)
    return calls


def test_concurrent_requests_share_one_parse(counted: list[str]) -> None:
    cache = DiffCache(4, prefetch=False)
    item = Item(id="x", diff=DIFF * 1)
    start = threading.Barrier(6)
    out: list[Any] = []

    def ask() -> None:
        start.wait()
        out.append(cache.files(item))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(counted) == 1 and all(o is out[0] for o in out)
    assert list(diffcache.hunk_lines(out[0][0]["hunks"][0]))[2] == ("add", None, 2, "    return sum(xs[1:])")


def test_eviction_and_unparseable_diffs(counted: list[str]) -> None:
    cache = DiffCache(2, prefetch=False)
    items = [Item(id=f"i{n}", diff=DIFF.replace("total", f"total{n}")) for n in range(3)]
    for it in items:
        cache.files(it)
    assert items[0] not in cache and items[1] in cache and items[2] in cache
    assert cache.files(Item(id="bad", diff="not a diff at all")) == []
    with pytest.raises(ValueError, match="DiffCache"):
        DiffCache(0)


def test_viewing_an_item_prefetches_the_next_one(sqlite_store: Store, counted: list[str]) -> None:
    ids = seed(sqlite_store)
    svc = ReviewService(sqlite_store)
    first, second = sorted((ids["alone"], ids["helped"]), key=lambda a: a.position)
    svc.view("alice", first.id)
    svc.diffs.wait()
    assert sqlite_store.get_item(second.item_id) in svc.diffs
    before = len(counted)
    svc.view("alice", second.id)
    assert len(counted) == before, "the second view should reuse the prefetched parse"
    svc.close()


def test_the_view_as_json_splices_the_encoded_diff_encoded_once(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    ids = seed(sqlite_store)
    svc = ReviewService(sqlite_store, prefetch=False)
    dumps: list[int] = []
    real = diffcache.json.dumps
    # json is one module everywhere: count the encodings of a files list (the parsed diff) only.
    monkeypatch.setattr(diffcache.json, "dumps", lambda obj, **kw: (isinstance(obj, list) and dumps.append(1)) or real(obj, **kw))
    for raw in (True, False):
        text = svc.view_json("alice", ids["helped"].id, raw_diff=raw)
        assert json.loads(text) == svc.view("alice", ids["helped"].id, raw_diff=raw)
    assert len(dumps) == 1  # the diff was encoded once for both answers
    # Evicted parses take their text with them.
    small = DiffCache(1, prefetch=False)
    a, b = Item(id="a", diff=DIFF), Item(id="b", diff=DIFF.replace("sum", "max"))
    assert json.loads(small.encoded(a)) == small.files(a)
    small.encoded(b)
    assert list(small._json) == [("b", hash(b.diff))]


def test_parses_are_stored_by_content_hash_and_read_after_a_restart(tmp_path: Any, counted: list[str]) -> None:
    import json

    first = DiffCache(4, prefetch=False, directory=tmp_path / "parses")
    item = Item(id="x", diff=DIFF)
    parsed = first.files(item)
    (stored,) = (tmp_path / "parses").glob("*.json")
    assert stored == first.path_of(item.diff) and stored.name.endswith(f".p{diffcache.VERSION}.json")
    assert json.loads(stored.read_text()) == parsed and len(counted) == 1
    # A new server (a new cache over the same directory): the same answer, and no parse.
    again = DiffCache(4, prefetch=False, directory=tmp_path / "parses")
    assert again.files(Item(id="y", diff=DIFF)) == parsed and again.encoded(item) == stored.read_text()
    assert len(counted) == 1
    # Keyed by the diff text, not the item id: an edited item is parsed anew, never served stale.
    edited = Item(id="x", diff=DIFF.replace("sum", "max"))
    assert again.files(edited) != parsed and len(counted) == 2 and len(list((tmp_path / "parses").glob("*.json"))) == 2
    # A stored file of another parser version is never read.
    other = DiffCache(4, prefetch=False, directory=tmp_path / "parses")
    stored.rename(stored.with_name(stored.name.replace(f".p{diffcache.VERSION}.", ".p000000000000.")))
    assert other.files(item) == parsed and len(counted) == 3


def test_the_stored_parses_are_pruned_oldest_first_and_a_bad_directory_only_costs_speed(tmp_path: Any, counted: list[str]) -> None:
    import os

    cache = DiffCache(8, prefetch=False, directory=tmp_path / "parses")
    items = [Item(id=f"i{n}", diff=DIFF.replace("total", f"total{n}")) for n in range(3)]
    cache.files(items[0])
    size = cache.path_of(items[0].diff).stat().st_size  # type: ignore[union-attr]
    os.utime(cache.path_of(items[0].diff), (1, 1))  # type: ignore[arg-type]
    small = DiffCache(8, prefetch=False, directory=tmp_path / "parses", disk_bytes=2 * size + 10)
    small.files(items[1])
    small.files(items[2])
    assert [p.exists() for p in map(small.path_of, (it.diff for it in items))] == [False, True, True]  # type: ignore[union-attr]
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    broken = DiffCache(2, prefetch=False, directory=blocked / "parses")
    assert broken.files(items[0]) == cache.files(items[0])  # parsed and kept in memory; the error logged
    with pytest.raises(ValueError, match="disk_bytes"):
        DiffCache(2, directory=tmp_path, disk_bytes=-1)


def test_the_collector_is_paused_only_inside_parses_and_nested_pauses_resume_it_once() -> None:
    import gc

    assert gc.isenabled()
    with diffcache.paused_gc():
        with diffcache.paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with diffcache.paused_gc():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
    seen: list[bool] = []
    real = diffcache.parse_compact
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(diffcache, "parse_compact", lambda text: seen.append(gc.isenabled()) or real(text))
        DiffCache(1, prefetch=False).files(Item(id="g", diff=DIFF))
    assert seen == [False] and gc.isenabled()


def test_the_wire_format_numbers_every_line_as_the_parser_does() -> None:
    """Two strings per hunk; decoded, the same kinds, numbers and text as the parser's lines,
    on the demo items and on diffs with meta lines, empty lines and a new file."""
    from oversight_ext.items import demo_items

    texts = [it.diff for it in demo_items()] + [
        DIFF,
        "--- a/t.txt\n+++ b/t.txt\n@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+\n\\ No newline at end of file\n",
        "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1,3 @@\n+x = 1\n+\n+y = '\\n'\n",
    ]
    for text in texts:
        files = diffs.parse_diff(text)
        view = diffcache.files_view(files)
        assert json.loads(json.dumps(view)) == view
        for f, wire in zip(files, view, strict=True):
            assert (wire["added"], wire["removed"]) == (f.added, f.removed)
            for h, hunk in zip(f.hunks, wire["hunks"], strict=True):
                assert set(hunk) == {"header", "old_start", "old_len", "new_start", "new_len", "kinds", "text"}
                assert list(diffcache.hunk_lines(hunk)) == [tuple(ln[i] for i in (0, 2, 3, 1)) for ln in h.lines]


def test_a_changed_parser_is_a_new_version_and_its_stored_parses_are_not_read(tmp_path: Any, counted: list[str]) -> None:
    import shutil

    sources = [tmp_path / "diffs.py", tmp_path / "diffcache.py"]
    shutil.copy(diffs.__file__, sources[0])
    shutil.copy(diffcache.__file__, sources[1])
    assert diffcache.parser_version(sources) == diffcache.VERSION == diffcache.parser_version()
    before = DiffCache(2, prefetch=False, directory=tmp_path / "parses", version=diffcache.parser_version(sources))
    before.files(Item(id="x", diff=DIFF))
    again = DiffCache(2, prefetch=False, directory=tmp_path / "parses", version=diffcache.parser_version(sources))
    again.files(Item(id="x", diff=DIFF))
    assert len(counted) == 1  # the same code: the stored parse is read
    with sources[0].open("a") as out:
        out.write("\n# the parser changed\n")
    edited = diffcache.parser_version(sources)
    assert edited != diffcache.VERSION
    after = DiffCache(2, prefetch=False, directory=tmp_path / "parses", version=edited)
    after.files(Item(id="x", diff=DIFF))
    assert len(counted) == 2 and len(list((tmp_path / "parses").glob("*.json"))) == 2


def test_importing_items_parses_their_large_diffs_in_a_background_process(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from oversight_ext.cli import main

    big = "--- a/big.py\n+++ b/big.py\n@@ -1,6000 +1,6000 @@\n" + "".join(f" line_{k} = {k}\n" for k in range(6000))
    assert len(big) >= diffcache.IMPORT_PARSE_CHARS
    items = [Item(id="big", diff=big), Item(id="small", diff=DIFF)]
    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text("".join(json.dumps(it.to_dict()) + "\n" for it in items))
    parses = tmp_path / "parses"
    monkeypatch.setenv("OVERSIGHT_DIFF_CACHE", str(parses))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "no-config"))  # a user's Jupyter config would win
    monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    started: list[subprocess.Popen[bytes]] = []
    real = diffcache.schedule_parses
    monkeypatch.setattr(diffcache, "schedule_parses", lambda *a, **k: started.append(real(*a, **k)) or started[-1])
    assert main(["items", "import", str(jsonl), "--db", str(tmp_path / "o.db")]) == 0
    (child,) = started
    assert child is not None and child.wait(timeout=120) == 0
    cache = DiffCache(1, prefetch=False, directory=parses)
    (stored,) = parses.glob("*.json")  # the large diff only: a small one parses in milliseconds when viewed
    assert stored == cache.path_of(big)
    assert json.loads(stored.read_text()) == diffcache.files_view(diffs.parse_diff(big))
    # Nothing to parse (small diffs only, or no directory): no process.
    assert real(f"sqlite:///{tmp_path / 'o.db'}", items[1:]) is None
    assert real(f"sqlite:///{tmp_path / 'o.db'}", items, directory="") is None


def test_parse_at_import_goes_where_the_servers_jupyter_config_says(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_server.serverapp import ServerApp

    from oversight_ext.cli import main
    from oversight_ext.server.extension import OversightExtension

    big = "--- a/big.py\n+++ b/big.py\n@@ -1,6000 +1,6000 @@\n" + "".join(f" line_{k} = {k}\n" for k in range(6000))
    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text(json.dumps(Item(id="big", diff=big).to_dict()) + "\n")
    config = tmp_path / "jupyter-config"
    config.mkdir()
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(config))
    monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    monkeypatch.setenv("OVERSIGHT_DIFF_CACHE", str(tmp_path / "from-env"))
    targets: list[str | None] = []
    monkeypatch.setattr(diffcache, "schedule_parses", lambda url, items, directory=None: targets.append(directory))

    def imported(*extra: str) -> str | None:
        assert main(["items", "import", str(jsonl), "--db", str(tmp_path / "o.db"), *extra]) == 0
        return targets.pop()

    def served() -> str:  # what a server started with this config reads, by its own loading
        app = ServerApp()
        app.load_config_file()
        return str(OversightExtension(parent=app).diff_cache_dir)

    # no config: the environment, as the server
    assert imported() == served() == str(tmp_path / "from-env")
    # a config file sets it: the server reads it over the environment, and so does the import
    (config / "jupyter_server_config.py").write_text(f"c.OversightExtension.diff_cache_dir = {str(tmp_path / 'from-config')!r}\n")
    assert imported() == served() == str(tmp_path / "from-config")
    # JupyterLab's JSON config is merged after the server's (the server links the lab app)
    (config / "jupyter_lab_config.json").write_text(json.dumps({"OversightExtension": {"diff_cache_dir": str(tmp_path / "lab")}}))
    assert imported() == str(tmp_path / "lab")
    # the option wins over all of them; '' parses nothing ahead
    assert imported("--diff-cache-dir", str(tmp_path / "option")) == str(tmp_path / "option")
    assert imported("--diff-cache-dir", "") == ""
    # the item-generating commands take it too
    monkeypatch.setattr(diffcache, "IMPORT_PARSE_CHARS", 1)
    mutate = ["items", "mutate", "--source", "json", "--n", "2", "--db", str(tmp_path / "o.db"), "--diff-cache-dir", str(tmp_path / "m")]
    assert main(mutate) == 0 and targets.pop() == str(tmp_path / "m")

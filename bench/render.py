"""First paint and scroll frame times of the real review panel (JupyterLab, REST, the built
labextension) on 10k, 100k and 1M-line diffs with 200 critique comments, beside a plain
non-virtualised HTML table of the same parsed diff built in the same page.

A real ``jupyter lab`` serves a prepared SQLite store (one server and store per size, so one
size's figures never share a server with another's); Chromium opens each study from the
sidebar. The servers run with the background parse off (``--OversightExtension.prefetch=False``)
so that ``cold`` is the worst case a rater can meet, and with a fresh directory of stored
parses (``--OversightExtension.diff_cache_dir``). For each size:

- ``cold``: the first view of the item, the click beating any background parse: the server
  parses the diff for this request (and stores the parse),
- ``restart``: the first view after the server restarts (the stored parse is read),
- ``warm``: a fresh page opening the same item again (the in-memory cache answers, as it does
  for an item prefetched while the rater reviewed the one before),

each split into ``server+net`` (the view request, from the Resource Timing entry) and
``client`` (response received to the first diff row painted). Scrolling: 120 frames that each
jump 90% of a screen, with the median, 95th percentile and worst frame time.
The baseline table is built from the same JSON in the same page (client time only; it is
skipped above 200k lines, where it takes minutes and gigabytes).

    python bench/render.py                      # 10k, 100k, 1M lines
    python bench/render.py --sizes 10000,100000 # a subset
    python bench/render.py --screenshots        # also the 50k-line panel, light and dark
    python bench/render.py --heldout ../shared/data/humanevalfix.jsonl,../shared/data/quixbugs.jsonl
                                                # also real diffs (many small files), held out

Target: the first view of a 100k-line diff paints in under 1 s, cold.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from figures import save  # noqa: E402
from labkit import CHROMIUM_ARGS, RATER, Lab, add_study, screenshot  # noqa: E402

from oversight_ext.diffs import parse_diff  # noqa: E402
from oversight_ext.records import Comment, Critique, Item  # noqa: E402
from oversight_ext.store import Store  # noqa: E402

CODE = [
    "def step(state, k):",
    "    total = state.get(k, 0) + 1  # count",
    "    if total > LIMIT:",
    '        raise ValueError("over")',
    "    return total",
]
PLAIN_LIMIT = 200_000

# Click the study's button and wait for the first diff row to be painted (two frames later).
OPEN = """async (study) => {
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  performance.clearResourceTimings();
  const t0 = performance.now();
  document.querySelector(`.ov-study-card[data-study="${study}"] .ov-start`).click();
  while (!document.querySelector('.jp-OversightReview:not(.lm-mod-hidden) .ov-scroll .ov-line')) {
    await frame();
  }
  await frame(); await frame();
  const t1 = performance.now();
  const req = performance.getEntriesByType('resource').filter(e => e.name.includes('/oversight/api/assignments/')).pop();
  return { total: t1 - t0, server: req ? req.responseEnd - req.startTime : NaN, client: req ? t1 - req.responseEnd : NaN,
           bytes: req ? req.encodedBodySize : NaN };
}"""

# Scroll a container by 90% of a screen per frame; frame times from requestAnimationFrame.
SCROLL = """async (sel) => {
  const el = document.querySelector(sel);
  const frame = () => new Promise(r => requestAnimationFrame(t => r(t)));
  let last = await frame();
  const times = [];
  for (let i = 0; i < 120; i++) {
    el.scrollTop = Math.min(el.scrollHeight, el.scrollTop + el.clientHeight * 0.9);
    const t = await frame();
    times.push(t - last);
    last = t;
  }
  return times;
}"""

# The baseline: the same parsed view as one plain table (every line in the DOM).
PLAIN = """async (assignment) => {
  const token = document.querySelector('#jupyter-config-data') ? JSON.parse(document.querySelector('#jupyter-config-data').textContent).token : '';
  const resp = await fetch(`/oversight/api/assignments/${assignment}`, { headers: { Authorization: `token ${token}` } });
  const view = await resp.json();
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  const host = document.createElement('div');
  host.id = 'plain-bench';
  host.style.cssText = 'position:fixed;inset:60px 0 0 0;overflow:auto;background:#fff;z-index:10000;font:12px monospace';
  document.body.append(host);
  const t0 = performance.now();
  const byLine = new Map((view.critique ? view.critique.comments : []).map(c => [c.end_line, c]));
  const table = document.createElement('table');
  // The wire format: one kind character per line and the texts joined by newlines; numbers from the starts.
  for (const f of view.files) for (const h of f.hunks) { const texts = h.kinds.length ? h.text.split('\\n') : []; let oo = h.old_start, nn = h.new_start;
   for (let i = 0; i < texts.length; i++) {
    const ch = h.kinds[i], text = texts[i];
    const kind = ch === '+' ? 'add' : ch === '-' ? 'del' : ch === ' ' ? 'context' : 'meta';
    const o = kind === 'context' || kind === 'del' ? oo++ : null, n = kind === 'context' || kind === 'add' ? nn++ : null;
    const tr = table.insertRow();
    tr.insertCell().textContent = o ?? ''; tr.insertCell().textContent = n ?? '';
    const td = tr.insertCell(); td.textContent = (kind === 'add' ? '+' : kind === 'del' ? '-' : ' ') + text; td.style.whiteSpace = 'pre';
    const cm0 = n !== null && byLine.get(n);
    if (cm0 && kind !== 'del') { const cm = table.insertRow().insertCell(); cm.colSpan = 3; cm.textContent = cm0.text; }
  } }
  host.append(table);
  void host.offsetHeight; await frame(); await frame();
  return { client: performance.now() - t0 };
}"""


def diff_text(n_lines: int) -> tuple[str, list[int]]:
    """A one-file diff of ``n_lines`` lines in hunks of 1,000 (changes amid context); the added lines."""
    out = ["--- a/src/step.py\n+++ b/src/step.py\n"]
    added: list[int] = []
    old = new = 1
    i = 0
    while i < n_lines:
        m = min(1000, n_lines - i)
        body = []
        o0, n0 = old, new
        for j in range(m):
            text = CODE[(i + j) % len(CODE)]
            r = (i + j) % 10
            if r == 3:
                body.append("-" + text.replace("1", "2"))
                old += 1
            elif r in (4, 5):
                body.append("+" + text)
                added.append(new)
                new += 1
            else:
                body.append(" " + text)
                old += 1
                new += 1
        out.append(f"@@ -{o0},{old - o0} +{n0},{new - n0} @@\n" + "\n".join(body) + "\n")
        i += m
    return "".join(out), added


def prepare(store: Store, sizes: list[int]) -> None:
    for n in sizes:
        diff, added = diff_text(n)
        step = max(1, len(added) // 200)
        comments = tuple(
            Comment(
                id=f"c{k}",
                path="src/step.py",
                start_line=added[k * step],
                end_line=added[k * step],
                text=f"Claim {k}: the limit check passes one step late.",
            )
            for k in range(min(200, len(added)))
        )
        store.add_items([Item(id=f"bench-{n}", diff=diff, path="src/step.py", task="Fix the limit check.", language="python")])
        store.add_critiques(
            [Critique(id=f"k-{n}", item_id=f"bench-{n}", assistant="demo-replay", verdict="buggy", confidence=0.8, comments=comments)]
        )
        add_study(store, f"bench{n}", [(f"bench-{n}", "critic", f"k-{n}")])


def concat_diffs(texts: Callable[[], Iterator[str]], n_lines: int) -> tuple[str, list[tuple[str, int]]]:
    """One-file diffs (``texts()``, from the start again while lines are missing) one after another,
    each file under its own path, until ``n_lines``; and the first added line of each file."""
    out: list[str] = []
    firsts: list[tuple[str, int]] = []
    lines = k = 0
    while lines < n_lines:
        for text in texts():
            text = text if text.endswith("\n") else text + "\n"
            name = f"pkg{k // 100}/mod{k}.py"
            body = []
            for ln in text.splitlines(keepends=True):
                if ln.startswith(("--- ", "+++ ")):
                    ln = f"{ln[:4]}{'a' if ln[0] == '-' else 'b'}/{name}\n"
                body.append(ln)
            out.append("".join(body))
            files = parse_diff(out[-1])
            added = [ln.new for h in files[0].hunks for ln in h.lines if ln.kind == "add"] if files else []
            if added and added[0] is not None:
                firsts.append((name, added[0]))
            lines += text.count("\n")
            k += 1
            if lines >= n_lines:
                return "".join(out), firsts
    return "".join(out), firsts


def heldout_diff(paths: list[Path], n_lines: int) -> tuple[str, list[tuple[str, int]]]:
    """Real diffs (the ``unified_diff`` of each JSON line of ``paths``) one after another. Not the
    diff the parser and the panel were tuned on: many small files instead of one huge one."""
    return concat_diffs(lambda: (json.loads(raw)["unified_diff"] for path in paths for raw in path.open(encoding="utf-8")), n_lines)


DEV_ITEMS = 2000


def dev_diff(n_lines: int) -> tuple[str, list[tuple[str, int]]]:
    """Development diffs of many small files: the diffs of mutation items made from the standard
    library (``generate_items``, seed 0, each one function) one after another."""
    import sysconfig

    from oversight_ext.items.mutate import generate_items

    items = generate_items(sysconfig.get_paths()["stdlib"], DEV_ITEMS, 0)
    return concat_diffs(lambda: (it.diff for it in items), n_lines)


def prepare_many(store: Store, name: str, diff: str, firsts: list[tuple[str, int]]) -> tuple[int, int]:
    """The study ``bench<name>``: a diff of many files, 200 comments on added lines; its lines and files."""
    step = max(1, len(firsts) // 200)
    comments = tuple(
        Comment(id=f"h{k}", path=firsts[k * step][0], start_line=firsts[k * step][1], end_line=firsts[k * step][1], text=f"Claim {k}.")
        for k in range(min(200, len(firsts)))
    )
    store.add_items([Item(id=f"bench-{name}", diff=diff, task="Review the change.", language="python")])
    store.add_critiques(
        [Critique(id=f"k-{name}", item_id=f"bench-{name}", assistant="demo-replay", verdict="buggy", confidence=0.8, comments=comments)]
    )
    add_study(store, f"bench{name}", [(f"bench-{name}", "critic", f"k-{name}")])
    return diff.count("\n"), len(firsts)


def fresh_page(browser: Any, lab: Lab) -> Any:
    """A new browser context on a reset workspace, the studies sidebar open."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(600_000)
    page.goto(f"{lab.url}/lab?reset&token={lab.token}")
    page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
    card = page.locator(".ov-study-card .ov-start").first
    for _ in range(10):
        if card.is_visible():
            break
        if not page.locator("#oversight-studies").is_visible():
            page.click('.lm-TabBar-tab[data-id="oversight-studies"]')
        page.wait_for_timeout(1000)
    return page


def frames(times: list[float]) -> str:
    times = sorted(times[1:])  # the first frame also carries the setup
    p95 = times[int(0.95 * (len(times) - 1))]
    return f"{statistics.median(times):5.1f} / {p95:5.1f} / {times[-1]:6.1f}"


def size_name(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def result_rows(runs: dict[int, dict[str, Any]], many: dict[str, dict[str, Any]] | None = None) -> list[dict[str, str]]:
    """One table row per size and phase (first paint), and one per size for scrolling; then the
    first paint of each many-file diff (``many``: its label, e.g. "held-out: real diffs", and run)."""
    rows = []
    for n, run in sorted(runs.items(), key=lambda kv: (kv[0] != 100_000, kv[0])):
        plain = run.get("plain")
        for phase in ("cold", "restart", "warm"):
            r = run[phase]
            figure = f"{r['total'] / 1000:.2f} s (server+net {r['server']:.0f} ms, client {r['client']:.0f} ms, {r['bytes'] / 1e6:.1f} MB)"
            rows.append(
                {
                    "case": f"{size_name(n)}-line diff, 200 comments: first paint in the real panel, {phase}",
                    "figure": figure,
                    "baseline": f"plain HTML table (client only): {plain / 1000:.1f} s"
                    if plain
                    else "plain table skipped above 200k lines",
                    "ratio": f"{plain / r['total']:.0f}x" if plain else "n/a",
                }
            )
        plain_scroll = run.get("plain_scroll")
        rows.append(
            {
                "case": f"{size_name(n)}-line diff: scroll frame ms, median / p95 / max (120 frames of 90% of a screen)",
                "figure": " ".join(run["warm_scroll"].split()),
                "baseline": f"plain table: {' '.join(plain_scroll.split())}" if plain_scroll else "plain table skipped above 200k lines",
                "ratio": "n/a",
            }
        )
    for label, heldout in (many or {}).items():
        for phase in ("cold", "restart", "warm"):
            r = heldout[phase]
            rows.append(
                {
                    "case": f"{label} one after another ({heldout['files']:,} files, {heldout['lines']:,} lines), "
                    f"200 comments: first paint in the real panel, {phase}",
                    "figure": f"{r['total'] / 1000:.2f} s (server+net {r['server']:.0f} ms, client {r['client']:.0f} ms, {r['bytes'] / 1e6:.1f} MB)",
                    "baseline": f"plain HTML table (client only): {heldout['plain'] / 1000:.1f} s" if heldout.get("plain") else "n/a",
                    "ratio": f"{heldout['plain'] / r['total']:.0f}x" if heldout.get("plain") else "n/a",
                }
            )
    return rows


class BenchLab(Lab):
    """The test suite's lab, without the background parse and with its own directory of stored parses."""

    def __init__(self, root: Path, db_url: str, *, prefetch: bool = False) -> None:
        super().__init__(root, db_url)
        self.prefetch = prefetch

    def command(self) -> list[str]:
        return [
            *super().command(),
            f"--OversightExtension.prefetch={self.prefetch}",
            f"--OversightExtension.diff_cache_dir={self.root / 'diffcache'}",
        ]


@contextlib.contextmanager
def serving(root: Path, sizes: list[int], *, prefetch: bool = False, extra: Callable[[Store], None] | None = None) -> Iterator[Lab]:
    """A jupyter lab over a fresh store holding the studies of ``sizes`` (and what ``extra`` adds)."""
    root.mkdir(parents=True)
    store = Store(f"sqlite:///{root / 'bench.db'}")
    store.add_rater(RATER)
    prepare(store, sizes)
    if extra is not None:
        extra(store)
    lab = BenchLab(root, str(store.url), prefetch=prefetch)
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()
        store.close()


def first_view(browser: Any, lab: Lab, study: str) -> tuple[dict[str, Any], Any]:
    """Open ``study`` on a fresh page: the first-paint figures and the page."""
    page = fresh_page(browser, lab)
    return page.evaluate(OPEN, study), page


def measure(browser: Any, lab: Lab, n: int, study: str = "") -> dict[str, Any]:
    """First paint cold, warm and after a restart, scroll frames, and (up to PLAIN_LIMIT) the
    plain table, printed as they come."""
    run: dict[str, Any] = {}
    for phase in ("cold", "warm", "restart"):
        if phase == "restart":
            lab.stop()
            lab.start()
        r, page = first_view(browser, lab, study or f"bench{n}")
        scroll = frames(page.evaluate(SCROLL, ".jp-OversightReview:not(.lm-mod-hidden) .ov-scroll"))
        run[phase] = r
        run[f"{phase}_scroll"] = scroll
        plain = "" if phase != "warm" else "n/a (too large)".rjust(18)
        plain_scroll = ""
        if phase == "warm" and n <= PLAIN_LIMIT:
            b = page.evaluate(PLAIN, f"{study or f'bench{n}'}-0")
            plain = f"{b['client']:15.0f} ms"
            plain_scroll = frames(page.evaluate(SCROLL, "#plain-bench"))
            run["plain"], run["plain_scroll"] = b["client"], plain_scroll
        print(
            f"{n:>8} | {phase:>7} {r['total']:5.0f} ms {r['server']:7.0f} ms {r['client']:5.0f} ms "
            f"{r['bytes'] / 1e6:6.1f} | {scroll:>22} | {plain:>18} {plain_scroll:>22}",
            flush=True,
        )
        page.context.close()
    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated diff sizes in lines")
    ap.add_argument("--screenshots", action="store_true", help="also save the panel on a 50,000-line diff, light and dark")
    ap.add_argument(
        "--heldout",
        default="",
        help="comma-separated JSON-lines files with a unified_diff field: also measure their diffs one after another "
        "(e.g. ../shared/data/humanevalfix.jsonl,../shared/data/quixbugs.jsonl)",
    )
    ap.add_argument("--heldout-lines", type=int, default=100_000, help="lines of the held-out diff (default 100,000)")
    ap.add_argument(
        "--dev-files",
        action="store_true",
        help="also a development diff of as many lines and many small files: mutation items of the standard library "
        "one after another (what the many-file speed-ups were developed on; the held-out diffs are only measured)",
    )
    ap.add_argument("--no-save", action="store_true", help="do not write results/render.json (it is written when 100k is among the sizes)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("Chromium not found: apt-get install -y chromium")
    if not (ROOT / "oversight_ext" / "labextension" / "package.json").exists():
        raise SystemExit("the labextension is not built: run `jlpm build` (or `pip install -e .`)")
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="oversight-render-"))
    runs: dict[int, dict[str, Any]] = {}
    many: dict[str, dict[str, Any]] = {}
    paths = [Path(p) for p in args.heldout.split(",") if p]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            print(
                f"{'lines':>8} | {'open':>7} {'total':>8} {'server+net':>10} {'client':>8} {'MB':>6} | "
                f"{'scroll ms med/p95/max':>22} | {'plain table client':>18} {'scroll med/p95/max':>22}"
            )
            for n in sizes:
                # One server per size: a server holding several studies parses each one's first item
                # in the background when the sidebar loads, and a 1M-line parse would slow the others.
                with serving(root / f"size-{n}", [n]) as lab:
                    runs[n] = measure(browser, lab, n)
            sets: list[tuple[str, str, Callable[[], tuple[str, list[tuple[str, int]]]]]] = []
            if args.dev_files:
                sets.append(("dev", "development: standard-library mutation diffs", lambda: dev_diff(args.heldout_lines)))
            if paths:
                sets.append(("heldout", "held-out: real diffs", lambda: heldout_diff(paths, args.heldout_lines)))
            for name, label, make in sets:
                info: dict[str, int] = {}

                def add_many(store: Store, name: str = name, make: Callable[[], Any] = make, info: dict[str, int] = info) -> None:
                    info["lines"], info["files"] = prepare_many(store, name, *make())

                with serving(root / name, [], extra=add_many) as lab:
                    many[label] = {**measure(browser, lab, info["lines"], f"bench{name}"), **info}
            if args.screenshots:
                with serving(root / "shots", [50000]) as lab:
                    for theme in ("light", "dark"):
                        lab.set_theme("JupyterLab Dark" if theme == "dark" else "JupyterLab Light")
                        page = fresh_page(browser, lab)
                        page.evaluate(OPEN, "bench50000")
                        page.evaluate(
                            "() => { const el = document.querySelector('.jp-OversightReview:not(.lm-mod-hidden) .ov-scroll'); el.scrollTop = el.scrollHeight / 2; }"
                        )
                        page.wait_for_timeout(500)
                        print(f"screenshot: {screenshot(page, f'panel-50k-{theme}')}")
                        page.context.close()
            browser.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if 100_000 in sizes and not args.no_save:
        path = save(
            "render",
            command=f"python bench/render.py --sizes {','.join(map(str, sizes))}"
            + (" --dev-files" if args.dev_files else "")
            + (f" --heldout {args.heldout}" if paths else ""),
            page="render",
            rows=result_rows(runs, many),
            conditions="a real jupyter lab and the built labextension, headless Chromium 1400x900, background parse off; "
            "cold: the first view, the server parsing the diff for it; restart: the first view after a server restart "
            "(the stored parse read); warm: the same item again (parse in memory, as after the prefetch); the baseline is a "
            "plain table of the same parsed view built in the same page",
            notes=[
                f"sizes run: {', '.join(size_name(n) for n in sizes)}",
                "development: the synthetic one-file diffs (the parser and the panel were tuned on them)"
                + (
                    f" and the standard-library mutation diffs ({DEV_ITEMS} items of generate_items, seed 0, each its own file; "
                    "the lazy row build was developed on them)"
                    if args.dev_files
                    else ""
                ),
                *(
                    [
                        f"held-out: the diffs of {', '.join(p.name for p in paths)} one after another, each its own file; measured, not tuned on"
                    ]
                    if paths
                    else []
                ),
            ],
        )
        print(f"figures written to {path}")
    print("total = click to first diff row painted; server+net = the view request; client = response to paint")
    print("cold = first view (server parses); restart = first view after a server restart (stored parse read);")
    print("warm = the same item again (parse in memory, as after prefetch)")
    if 100_000 in runs:
        cold = runs[100_000]["cold"]["total"]
        print(json.dumps({"target": "cold 100k-line first paint < 1000 ms", "cold_ms": round(cold), "met": cold < 1000}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

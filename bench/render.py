"""Time to first paint and to scroll to the end of 1k, 10k and 100k-line diffs with 200
critique comments: the virtualised ReviewView (the bundled notebook-widget module) beside a
plain non-virtualised HTML table of the same diff, in the same headless Chromium run.

The ReviewView is loaded from ``oversight_ext/static/widget.js`` (build it with
``jlpm build:widget`` or ``pip install -e .``) and rendered with an in-page stand-in for the
anywidget model, so no JupyterLab is needed. Target: 100k-line first paint < 1 s.

    python bench/render.py            # 1k, 10k, 100k lines, 3 repeats
    python bench/render.py --quick    # 1k, 10k lines, 1 repeat
"""

from __future__ import annotations

import argparse
import shutil
import statistics
from pathlib import Path
from typing import Any

from playwright.sync_api import CDPSession, Page, Route, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
WIDGET = ROOT / "oversight_ext" / "static" / "widget.js"
ORIGIN = "http://bench.invalid"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CODE = [
    "def step(state, k):",
    "    total = state.get(k, 0) + 1  # count",
    "    if total > LIMIT:",
    '        raise ValueError("over")',
    "    return total",
]

PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;font:13px sans-serif} #host{height:800px} #plain{height:800px;overflow:auto}
#plain table{border-collapse:collapse;font:12px monospace} #plain td{white-space:pre;padding:0 4px}
.add{background:#e6ffec}.del{background:#ffebe9}.cm{background:#eef;white-space:normal}
</style></head><body><div id="host"></div><div id="plain" hidden></div>
<script type="module">
import widget from "./widget.js";
const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
function fakeModel(state) {
  const ls = {};
  return { get: k => state[k], set: (k, v) => { state[k] = v; }, save_changes() {}, send() {},
           on: (e, f) => { (ls[e] = ls[e] || []).push(f); }, off() {} };
}
const frame2 = async () => { await frame(); await frame(); };
const scrollers = { view: () => document.querySelector("#host .ov-scroll"), plain: () => document.getElementById("plain") };
window.benchScroll = async (kind) => {
  const el = scrollers[kind]();
  const t1 = performance.now();
  el.scrollTop = el.scrollHeight; await frame2();
  const scroll = performance.now() - t1;
  const rows = [...el.querySelectorAll("[data-row]")].map(e => +e.dataset.row);
  return { scroll, lastRowShown: rows.length ? Math.max(...rows) : -1 };
};
window.benchView = async () => {
  const view = window.__view;
  const host = document.getElementById("host");
  host.hidden = false; document.getElementById("plain").hidden = true; host.replaceChildren();
  const t0 = performance.now();
  widget.render({ model: fakeModel({ view, progress: { done: 0, total: 1 }, status: "ready" }), el: host });
  host.querySelector(".ov-review").style.height = "800px";
  void host.offsetHeight; await frame();
  return { paint: performance.now() - t0, nodes: host.querySelectorAll("*").length };
};
window.benchPlain = async () => {
  const view = window.__view;
  const host = document.getElementById("plain");
  document.getElementById("host").hidden = true; host.hidden = false; host.replaceChildren();
  const t0 = performance.now();
  const byLine = new Map(view.critique.comments.map(c => [c.end_line, c]));
  const table = document.createElement("table");
  for (const f of view.files) for (const h of f.hunks) for (const [kind, o, n, text] of h.lines) {
    const tr = table.insertRow(); tr.className = kind === "add" ? "add" : kind === "del" ? "del" : "";
    tr.insertCell().textContent = o ?? ""; tr.insertCell().textContent = n ?? "";
    tr.insertCell().textContent = (kind === "add" ? "+" : kind === "del" ? "-" : " ") + text;
    const c = n !== null && byLine.get(n);
    if (c && kind !== "del") {
      const td = table.insertRow().insertCell(); td.colSpan = 3; td.className = "cm"; td.textContent = c.text;
    }
  }
  host.appendChild(table);
  void host.offsetHeight; await frame();
  return { paint: performance.now() - t0, nodes: host.querySelectorAll("*").length };
};
window.benchReady = true;
</script></body></html>"""


def make_view(n_lines: int, n_comments: int = 200) -> dict[str, Any]:
    """An item view of one file with ``n_lines`` diff lines (hunks of changes amid context)."""
    hunks: list[dict[str, Any]] = []
    lines: list[list[Any]] = []
    old = new = 1
    for i in range(n_lines):
        text = CODE[i % len(CODE)]
        r = i % 10
        if r == 3:
            lines.append(["del", old, None, text.replace("1", "2")])
            old += 1
        elif r in (4, 5):
            lines.append(["add", None, new, text])
            new += 1
        else:
            lines.append(["context", old, new, text])
            old += 1
            new += 1
        if len(lines) == 1000 or i == n_lines - 1:
            first_old = next(ln[1] for ln in lines if ln[1] is not None)
            first_new = next(ln[2] for ln in lines if ln[2] is not None)
            old_len = sum(1 for ln in lines if ln[0] != "add")
            new_len = sum(1 for ln in lines if ln[0] != "del")
            hunk = {"header": "def step(state, k):", "old_start": first_old, "old_len": old_len, "new_start": first_new, "new_len": new_len}
            hunks.append({**hunk, "lines": lines})
            lines = []
    added = [ln[2] for h in hunks for ln in h["lines"] if ln[0] == "add"]
    step = max(1, len(added) // n_comments)
    comments = [
        {
            "id": f"c{k}",
            "path": "src/step.py",
            "side": "new",
            "start_line": added[k * step],
            "end_line": added[k * step],
            "text": f"Claim {k}: this off-by-one makes the limit check pass one step too late.",
            "severity": "major",
            "category": "bug",
        }
        for k in range(min(n_comments, len(added)))
    ]
    removed = sum(1 for h in hunks for ln in h["lines"] if ln[0] == "del")
    file = {"old_path": "src/step.py", "new_path": "src/step.py", "status": "modified", "binary": False}
    files = [{**file, "added": len(added), "removed": removed, "hunks": hunks}]
    return {
        "assignment": {
            "id": f"bench-{n_lines}",
            "study": "bench",
            "position": 0,
            "condition_kind": "assisted",
            "display": "evidence",
            "time_limit_s": None,
            "verdict_scale": "binary",
        },
        "item": {"id": "bench", "spec": "", "language": "python", "task": "Fix the limit check.", "path": "src/step.py", "diff": ""},
        "files": files,
        "critique": {"id": "k", "verdict": "buggy", "confidence": 0.8, "summary": "One bug.", "comments": comments},
        "judgment": None,
    }


def serve(route: Route) -> None:
    if route.request.url.endswith("/widget.js"):
        route.fulfill(body=WIDGET.read_text(), content_type="text/javascript")
    else:
        route.fulfill(body=PAGE, content_type="text/html")


def busy_ms(cdp: CDPSession) -> float:
    """Renderer main-thread task time so far (ms), from the DevTools Performance domain."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return 1000.0 * metrics["TaskDuration"]


def measure(page: Page, cdp: CDPSession, fn: str, repeats: int) -> dict[str, float]:
    runs = []
    for _ in range(repeats):
        before = busy_ms(cdp)
        r = page.evaluate(f"() => window.{fn}()")
        r["busy"] = busy_ms(cdp) - before
        r.update(page.evaluate("k => window.benchScroll(k)", "view" if fn == "benchView" else "plain"))
        runs.append(r)
    return {k: statistics.median(r[k] for r in runs) for k in ("paint", "busy", "scroll", "nodes", "lastRowShown")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1k and 10k lines, one repeat")
    ap.add_argument("--repeats", type=int, default=None, help="repeats per size (median reported)")
    args = ap.parse_args()
    if not WIDGET.exists():
        raise SystemExit(f"{WIDGET} is missing: build it with `jlpm build:widget` (or `pip install -e .`)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("Chromium not found: apt-get install -y chromium")
    sizes = [1000, 10000] if args.quick else [1000, 10000, 100000]
    repeats = args.repeats or (1 if args.quick else 3)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.route(f"{ORIGIN}/**", serve)
        page.goto(f"{ORIGIN}/index.html")
        page.wait_for_function("window.benchReady === true")
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        head = f"{'lines':>7} | {'ReviewView paint':>16} {'(busy)':>8} {'to end':>7} {'nodes':>6} | {'plain table paint':>17} {'(busy)':>8}"
        print(f"{head} {'to end':>7} {'nodes':>7} | paint ratio")
        worst = 0.0
        for n in sizes:
            page.evaluate("v => { window.__view = v; }", make_view(n))
            v = measure(page, cdp, "benchView", repeats)
            t = measure(page, cdp, "benchPlain", repeats)
            if v["lastRowShown"] < 0:
                raise SystemExit("the ReviewView rendered no rows after scrolling to the end")
            worst = v["paint"] if n == max(sizes) else worst
            ratio = t["paint"] / v["paint"] if v["paint"] else float("inf")
            print(
                f"{n:>7} | {v['paint']:>13.0f} ms {v['busy']:>5.0f} ms {v['scroll']:>4.0f} ms {v['nodes']:>6.0f} | "
                f"{t['paint']:>14.0f} ms {t['busy']:>5.0f} ms {t['scroll']:>4.0f} ms {t['nodes']:>7.0f} | plain/virtual = {ratio:.1f}x"
            )
        browser.close()
    if max(sizes) >= 100000:
        print(f"100k-line first paint: {worst:.0f} ms wall (target < 1000 ms: {'met' if worst < 1000 else 'MISSED'})")
    print("(busy) = renderer main-thread task time (CDP TaskDuration); on a loaded machine both include waiting for a core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

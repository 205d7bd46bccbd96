/**
 * Triage of a diff too large to read: a minimap of the whole diff (files and hunks) coloured
 * by the assistant's suspicion of each hunk, a ranked list of the most suspicious hunks, and
 * "next most suspicious hunk" navigation.
 *
 * Built only when the item view carries `critique.hunk_scores`, which the server sends only
 * in conditions that show the assistant's evidence: unassisted raters get none of it.
 */
import { FileView } from './types';

export interface RankedHunk {
  file: number;
  hunk: number;
  score: number;
}

/** Hunks by suspicion, highest first (ties in diff order); `scores` are in diff order (files, then hunks). */
export function rankHunks(files: FileView[], scores: number[]): RankedHunk[] {
  const out: RankedHunk[] = [];
  let k = 0;
  files.forEach((f, fi) =>
    f.hunks.forEach((_h, hi) => {
      out.push({ file: fi, hunk: hi, score: scores[k++] ?? 0 });
    })
  );
  return out.map((r, i) => ({ r, i })).sort((a, b) => b.r.score - a.r.score || a.i - b.i).map(x => x.r);
}

/** The next hunk in `ranked` after the one at `current` (or the first), wrapping around. */
export function nextSuspicious(ranked: RankedHunk[], current: { file: number; hunk: number } | null): RankedHunk | null {
  if (!ranked.length) {
    return null;
  }
  const at = current ? ranked.findIndex(r => r.file === current.file && r.hunk === current.hunk) : -1;
  return ranked[(at + 1) % ranked.length];
}

/** A colour from pale (0) to strong red (1) for a suspicion score. */
export function scoreColour(score: number): string {
  const s = Math.max(0, Math.min(1, score));
  return `hsl(${Math.round(50 - 50 * s)}, 90%, ${Math.round(85 - 40 * s)}%)`;
}

const RANKED_SHOWN = 20;

export interface TriageHost {
  /** Scroll the diff to this hunk. */
  goto(file: number, hunk: number): void;
}

/**
 * The minimap (a canvas beside the diff: one band per hunk at its place in the diff) and the
 * ranked list. `place(file, hunk)` gives a hunk's [top, bottom] as fractions of the diff.
 */
export class Triage {
  readonly minimap: HTMLDivElement;
  readonly ranked: RankedHunk[];
  private canvas: HTMLCanvasElement;
  private viewport: HTMLDivElement;
  private bands: Array<{ top: number; bottom: number; r: RankedHunk }> = [];
  private current: RankedHunk | null = null;

  constructor(
    private files: FileView[],
    scores: number[],
    private host: TriageHost
  ) {
    this.ranked = rankHunks(files, scores);
    this.minimap = document.createElement('div');
    this.minimap.className = 'ov-minimap';
    this.minimap.title = 'The assistant\u2019s suspicion of each hunk (red: most suspicious). Click to go there.';
    this.canvas = document.createElement('canvas');
    this.viewport = document.createElement('div');
    this.viewport.className = 'ov-minimap-view';
    this.minimap.append(this.canvas, this.viewport);
    this.minimap.addEventListener('click', ev => {
      const box = this.minimap.getBoundingClientRect();
      const y = (ev.clientY - box.top) / Math.max(1, box.height);
      let best = this.bands[0];
      for (const b of this.bands) {
        if (Math.abs((b.top + b.bottom) / 2 - y) < Math.abs((best.top + best.bottom) / 2 - y)) {
          best = b;
        }
      }
      if (best) {
        this.goto(best.r);
      }
    });
  }

  /** Redraw with each hunk's place in the diff as fractions [top, bottom] of its height. */
  draw(place: (file: number, hunk: number) => [number, number] | null): void {
    this.bands = [];
    for (const r of this.ranked) {
      const p = place(r.file, r.hunk);
      if (p) {
        this.bands.push({ top: p[0], bottom: p[1], r });
      }
    }
    const h = Math.max(1, this.minimap.clientHeight || 400);
    const w = Math.max(1, this.minimap.clientWidth || 14);
    this.canvas.width = w;
    this.canvas.height = h;
    const g = this.canvas.getContext('2d');
    if (!g) {
      return;
    }
    g.clearRect(0, 0, w, h);
    // Least suspicious first, so a red band is never painted over by a pale neighbour.
    for (const b of [...this.bands].reverse()) {
      g.fillStyle = scoreColour(b.r.score);
      const y = Math.floor(b.top * h);
      g.fillRect(0, y, w, Math.max(2, Math.ceil((b.bottom - b.top) * h)));
    }
  }

  /** Show the diff's visible part, as fractions of its height. */
  showViewport(top: number, bottom: number): void {
    this.viewport.style.top = `${(100 * top).toFixed(3)}%`;
    this.viewport.style.height = `${(100 * Math.max(0.005, bottom - top)).toFixed(3)}%`;
  }

  /** Go to the next most suspicious hunk after the last one visited this way. */
  next(): void {
    const r = nextSuspicious(this.ranked, this.current);
    if (r) {
      this.goto(r);
    }
  }

  /** The ranked list: the most suspicious hunks, each a button to go there. */
  rankedList(): HTMLElement {
    const box = document.createElement('div');
    box.className = 'ov-ranked';
    const head = document.createElement('div');
    head.className = 'ov-ranked-head';
    head.textContent = 'Most suspicious hunks';
    box.append(head);
    for (const r of this.ranked.slice(0, RANKED_SHOWN)) {
      const f = this.files[r.file];
      const h = f.hunks[r.hunk];
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'ov-ranked-item';
      b.dataset.file = String(r.file);
      b.dataset.hunk = String(r.hunk);
      const swatch = document.createElement('span');
      swatch.className = 'ov-ranked-score';
      swatch.style.background = scoreColour(r.score);
      swatch.textContent = `${Math.round(100 * r.score)}%`;
      b.append(swatch, ` ${f.new_path || f.old_path}:${h.new_start}`);
      b.addEventListener('click', () => this.goto(r));
      box.append(b);
    }
    return box;
  }

  private goto(r: RankedHunk): void {
    this.current = r;
    this.host.goto(r.file, r.hunk);
  }
}

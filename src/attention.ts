/**
 * The attention record: which hunk lines were on screen, from when to when, and where the
 * rater expanded context or went to a search hit. It travels with the judgment (and lives in
 * the draft meanwhile), so the analysis can tell a flaw never scrolled to from one looked at
 * and missed. oversight_ext/attention.py describes the format; the server checks it.
 *
 * Times are milliseconds after the draft's started_at, on the same clock as submitted_at, so
 * no span can end after the submit. A span stays open while its lines stay on screen; it is
 * written into the record when they leave the screen, the tab is hidden, or each second (so a
 * reload loses at most a second), and a span that continues one just written extends it.
 */
import { Row } from './diffmodel';
import { AttentionKind, AttentionRecord, AttentionSpan } from './types';

/** Spans and events a record holds at most: below the server's limits (5,000 and 1,000, 192 kB). */
export const MAX_SPANS = 4000;
export const MAX_EVENTS = 500;

/** [file, hunk, first line index, last line index] of a run of hunk lines on screen. */
export type Segment = [number, number, number, number];

/** The runs of consecutive hunk lines that rows `first..last` show (split-view pairs give both sides). */
export function segmentsOf(rows: Row[], first: number, last: number): Segment[] {
  const byHunk = new Map<string, { file: number; hunk: number; idx: number[] }>();
  const add = (file: number, hunk: number, idx: number): void => {
    const key = `${file}:${hunk}`;
    let h = byHunk.get(key);
    if (!h) {
      h = { file, hunk, idx: [] };
      byHunk.set(key, h);
    }
    h.idx.push(idx);
  };
  for (let i = Math.max(0, first); i <= last && i < rows.length; i++) {
    const r = rows[i];
    if (r.t === 'line') {
      add(r.file, r.hunk, r.idx);
    } else if (r.t === 'pair') {
      for (const side of [r.left, r.right]) {
        if (side) {
          add(side.file, side.hunk, side.idx);
        }
      }
    }
  }
  const out: Segment[] = [];
  for (const h of byHunk.values()) {
    const idx = [...new Set(h.idx)].sort((a, b) => a - b);
    let start = idx[0];
    for (let k = 1; k <= idx.length; k++) {
      if (k === idx.length || idx[k] !== idx[k - 1] + 1) {
        out.push([h.file, h.hunk, start, idx[k - 1]]);
        start = idx[k];
      }
    }
  }
  return out;
}

export function emptyRecord(): AttentionRecord {
  return { spans: [], events: [] };
}

export class AttentionRecorder {
  private open = new Map<string, { seg: Segment; t0: number }>();
  /** Index in record.spans of the last span written for each segment (to extend it). */
  private lastSpan = new Map<string, number>();
  private shown: Segment[] = [];
  private running = false;
  private onVis = (): void => (document.visibilityState === 'hidden' ? this.closeAll() : this.see(this.shown));

  constructor(
    readonly record: AttentionRecord,
    private startedAt: number,
    private now: () => number = Date.now
  ) {}

  /** Start recording (again): what `see` reports from now on is kept. */
  start(): void {
    if (!this.running) {
      this.running = true;
      if (typeof document !== 'undefined') {
        document.addEventListener('visibilitychange', this.onVis);
      }
    }
  }

  /** Stop: close every open span now (before the judgment's submitted_at is stamped). */
  stop(): void {
    this.closeAll();
    this.running = false;
    if (typeof document !== 'undefined') {
      document.removeEventListener('visibilitychange', this.onVis);
    }
  }

  /** The hunk lines now on screen: spans of lines that left it are written, new ones open. */
  see(segments: Segment[]): void {
    this.shown = segments;
    if (!this.running || (typeof document !== 'undefined' && document.visibilityState === 'hidden')) {
      return;
    }
    const t = this.ms();
    const keys = new Set<string>();
    for (const seg of segments) {
      const key = seg.join(':');
      keys.add(key);
      if (!this.open.has(key)) {
        this.open.set(key, { seg, t0: t });
      }
    }
    for (const [key, o] of this.open) {
      if (!keys.has(key)) {
        this.write(key, o.seg, o.t0, t);
        this.open.delete(key);
      }
    }
  }

  /** Write the open spans up to now and keep them open (the draft is saved after this). */
  checkpoint(): void {
    const t = this.ms();
    for (const [key, o] of this.open) {
      this.write(key, o.seg, o.t0, t);
      o.t0 = t;
    }
  }

  /** The rater expanded context, or went to a search hit, in this hunk. */
  event(kind: AttentionKind, file: number, hunk: number): void {
    if (!this.running) {
      return;
    }
    if (this.record.events.length >= MAX_EVENTS) {
      this.record.truncated = true;
      return;
    }
    this.record.events.push([this.ms(), kind, file, hunk]);
  }

  private closeAll(): void {
    const t = this.ms();
    for (const [key, o] of this.open) {
      this.write(key, o.seg, o.t0, t);
    }
    this.open.clear();
  }

  private ms(): number {
    return Math.max(0, Math.round(this.now() - this.startedAt));
  }

  private write(key: string, seg: Segment, t0: number, t1: number): void {
    if (t1 <= t0) {
      return;
    }
    const spans = this.record.spans;
    const last = this.lastSpan.get(key);
    if (last !== undefined && spans[last] && spans[last][1] === t0) {
      spans[last][1] = t1; // the same lines, still on screen: one span
      return;
    }
    if (spans.length >= MAX_SPANS) {
      this.record.truncated = true;
      return;
    }
    const span: AttentionSpan = [t0, t1, seg[0], seg[1], seg[2], seg[3]];
    this.lastSpan.set(key, spans.push(span) - 1);
  }
}

/**
 * The diff as a flat list of display rows, the unit the virtualised list renders.
 *
 * Rows are rebuilt whenever the view mode, the folds or the anchored notes change; building
 * is linear in the diff size (a 100k-line diff takes a few milliseconds), while rendering
 * touches only the rows on screen.
 */
import { CommentView, DiffLineTuple, FileView, LineFlag, LineKind, Side } from './types';

/**
 * One diff line, as the renderer and the line-number click handler need it. It is its own
 * unified-view row (one object per line: a 100k-line diff allocates no wrappers).
 */
export interface LineRef {
  t: 'line';
  file: number;
  kind: LineKind;
  old: number | null;
  new: number | null;
  text: string;
}

export type Row =
  | { t: 'file'; file: number }
  | { t: 'hunk'; file: number; hunk: number }
  | LineRef
  | { t: 'pair'; left: LineRef | null; right: LineRef | null }
  | { t: 'fold'; key: string; count: number }
  | { t: 'comment'; comment: number }
  | { t: 'flag'; flag: number }
  | { t: 'orphans'; comments: number[] };

export interface BuildOptions {
  mode: 'unified' | 'split';
  /** Unchanged lines kept visible around each change; longer runs collapse into a fold row. */
  context: number;
  /** Fold keys the rater expanded. */
  expanded: Set<string>;
  comments: CommentView[];
  flags: LineFlag[];
}

export interface RowModel {
  rows: Row[];
  /** Row index of each comment's anchor row, by comment index (-1 when not on a diff line). */
  commentRows: number[];
}

/** The path a reviewer knows a file by: the new one, or the old one when deleted. */
export function filePath(f: FileView): string {
  return f.status === 'deleted' ? f.old_path : f.new_path;
}

/** The key a line is anchored by: file path, side and line number on that side. */
export function anchorKey(path: string, side: Side, line: number): string {
  return `${path}\u0000${side}\u0000${line}`;
}

function lineRef(file: number, l: DiffLineTuple): LineRef {
  return { t: 'line', file, kind: l[0], old: l[1], new: l[2], text: l[3] };
}

/** Which context lines stay visible: those near a change or carrying a note; runs of the rest fold. */
function foldRuns(lines: LineRef[], context: number, pinned: (l: LineRef) => boolean): Array<[number, number]> {
  const keep = new Uint8Array(lines.length);
  lines.forEach((l, i) => {
    if (l.kind !== 'context' || pinned(l)) {
      const lo = Math.max(0, i - context);
      const hi = Math.min(lines.length - 1, i + context);
      for (let j = lo; j <= hi; j++) {
        keep[j] = 1;
      }
    }
  });
  const runs: Array<[number, number]> = [];
  let i = 0;
  while (i < lines.length) {
    if (keep[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < lines.length && !keep[j]) {
      j++;
    }
    // Folding a single line saves nothing and costs a click.
    if (j - i > 1) {
      runs.push([i, j]);
    }
    i = j;
  }
  return runs;
}

/** Zip a hunk's lines into side-by-side pairs: deletions beside the additions that replace them. */
export function pairLines(lines: LineRef[]): Array<[LineRef | null, LineRef | null]> {
  const out: Array<[LineRef | null, LineRef | null]> = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i];
    if (l.kind === 'context' || l.kind === 'meta') {
      out.push([l, l]);
      i++;
      continue;
    }
    const dels: LineRef[] = [];
    const adds: LineRef[] = [];
    while (i < lines.length && lines[i].kind === 'del') {
      dels.push(lines[i++]);
    }
    while (i < lines.length && lines[i].kind === 'add') {
      adds.push(lines[i++]);
    }
    for (let k = 0; k < Math.max(dels.length, adds.length); k++) {
      out.push([dels[k] ?? null, adds[k] ?? null]);
    }
  }
  return out;
}

/** Notes (comment and flag rows) by path, side and line: numeric keys keep 100k-line builds fast. */
class NoteIndex {
  private byPath = new Map<string, { new: Map<number, Row[]>; old: Map<number, Row[]> }>();
  readonly placed = new Set<Row[]>();

  add(path: string, side: Side, line: number, row: Row): Row[] {
    let sides = this.byPath.get(path);
    if (!sides) {
      sides = { new: new Map(), old: new Map() };
      this.byPath.set(path, sides);
    }
    let list = sides[side].get(line);
    if (!list) {
      list = [];
      sides[side].set(line, list);
    }
    list.push(row);
    return list;
  }

  /** The note lists a line carries (new side first, then old). */
  at(path: string, l: LineRef): Row[][] {
    const sides = this.byPath.get(path);
    if (!sides) {
      return [];
    }
    const out: Row[][] = [];
    const a = l.new !== null ? sides.new.get(l.new) : undefined;
    const b = l.old !== null ? sides.old.get(l.old) : undefined;
    if (a) {
      out.push(a);
    }
    if (b) {
      out.push(b);
    }
    return out;
  }

  has(path: string, l: LineRef): boolean {
    const sides = this.byPath.get(path);
    return !!sides && ((l.new !== null && sides.new.has(l.new)) || (l.old !== null && sides.old.has(l.old)));
  }
}

/** Flatten files, hunks, folds, comments and flags into display rows. */
export function buildRows(files: FileView[], opts: BuildOptions): RowModel {
  const notes = new NoteIndex();
  const defaultPath = files.length ? filePath(files[0]) : '';
  const commentLists = opts.comments.map((c, i) => notes.add(c.path || defaultPath, c.side, c.end_line, { t: 'comment', comment: i }));
  opts.flags.forEach((f, i) => notes.add(f.path || defaultPath, f.side, f.line, { t: 'flag', flag: i }));

  const rows: Row[] = [];
  const emitNotes = (path: string, l: LineRef): void => {
    for (const list of notes.at(path, l)) {
      if (!notes.placed.has(list)) {
        notes.placed.add(list);
        for (const r of list) {
          rows.push(r);
        }
      }
    }
  };

  files.forEach((f, fi) => {
    rows.push({ t: 'file', file: fi });
    const path = filePath(f);
    const pinned = (l: LineRef): boolean => notes.has(path, l);
    f.hunks.forEach((h, hi) => {
      rows.push({ t: 'hunk', file: fi, hunk: hi });
      const lines = h.lines.map(l => lineRef(fi, l));
      const folds = foldRuns(lines, opts.context, pinned);
      const segments: Array<{ lines: LineRef[]; fold?: string }> = [];
      let pos = 0;
      for (const [a, b] of folds) {
        const key = `${fi}:${hi}:${a}`;
        if (opts.expanded.has(key)) {
          continue;
        }
        segments.push({ lines: lines.slice(pos, a) });
        segments.push({ lines: lines.slice(a, b), fold: key });
        pos = b;
      }
      segments.push({ lines: lines.slice(pos) });
      for (const seg of segments) {
        if (seg.fold) {
          rows.push({ t: 'fold', key: seg.fold, count: seg.lines.length });
        } else if (opts.mode === 'unified') {
          for (const l of seg.lines) {
            rows.push(l);
            emitNotes(path, l);
          }
        } else {
          for (const [left, right] of pairLines(seg.lines)) {
            rows.push({ t: 'pair', left, right });
            if (left) {
              emitNotes(path, left);
            }
            if (right && right !== left) {
              emitNotes(path, right);
            }
          }
        }
      }
    });
  });

  // Comments on lines the diff does not show still reach the rater, in one row at the top.
  const orphans = commentLists.map((list, i) => (notes.placed.has(list) ? -1 : i)).filter(i => i >= 0);
  if (orphans.length) {
    rows.unshift({ t: 'orphans', comments: orphans });
  }
  const commentRows = opts.comments.map(() => -1);
  rows.forEach((r, i) => {
    if (r.t === 'comment') {
      commentRows[r.comment] = i;
    } else if (r.t === 'orphans') {
      r.comments.forEach(c => (commentRows[c] = i));
    }
  });
  return { rows, commentRows };
}

/** Height of a row in line units: notes need room for their text and controls. */
export function rowUnits(row: Row): number {
  switch (row.t) {
    case 'comment':
      return 4;
    case 'flag':
      return 3;
    case 'orphans':
      return 1 + 2 * row.comments.length;
    case 'file':
      return 1.5;
    default:
      return 1;
  }
}

/** Prefix sums of row heights in pixels: offsets[i] is the top of row i, offsets[n] the total. */
export function rowOffsets(rows: Row[], rowHeight: number): Float64Array {
  const out = new Float64Array(rows.length + 1);
  for (let i = 0; i < rows.length; i++) {
    out[i + 1] = out[i] + rowUnits(rows[i]) * rowHeight;
  }
  return out;
}

/** The index of the row that contains pixel offset y (binary search over the prefix sums). */
export function rowAt(offsets: Float64Array, y: number): number {
  let lo = 0;
  let hi = offsets.length - 2;
  if (hi < 0) {
    return 0;
  }
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid] <= y) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

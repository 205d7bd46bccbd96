/**
 * The diff as a flat list of display rows, the unit the virtualised list renders.
 *
 * Rows are rebuilt whenever the view mode, the folds or the anchored notes change; building
 * is linear in the diff size, while rendering touches only the rows on screen. When a view
 * opens, only the first screens' rows are built before the first paint (RowBuilder), and a
 * wire hunk's lines are decoded when first read (LazyHunk): on a diff of thousands of small
 * files, building every row up front was most of the time to the first paint.
 */
import { CommentView, DiffLineTuple, FileView, HunkView, ItemView, LineFlag, LineKind, Side, WireHunk, WireItemView } from './types';

/**
 * One diff line, as the renderer and the line-number click handler need it. It is its own
 * unified-view row (one object per line: a 100k-line diff allocates no wrappers).
 */
export interface LineRef {
  t: 'line';
  file: number;
  hunk: number;
  /** Index of the line in its hunk: with file and hunk, the line's identity across rebuilds. */
  idx: number;
  kind: LineKind;
  old: number | null;
  new: number | null;
  text: string;
  /** The line this one replaces or is replaced by (a deletion beside its addition), for the word diff. */
  mate: LineRef | null;
}

export type Row =
  | { t: 'file'; file: number }
  | { t: 'hunk'; file: number; hunk: number }
  | LineRef
  | { t: 'pair'; left: LineRef | null; right: LineRef | null }
  | { t: 'fold'; key: string; count: number; file: number; hunk: number; up: boolean; down: boolean }
  | { t: 'comment'; comment: number }
  | { t: 'flag'; flag: number }
  | { t: 'orphans'; comments: number[] }
  /** The rest of a hunk not yet opened in depth under an audit budget: `hidden` lines. */
  | { t: 'sealed'; file: number; hunk: number; hidden: number }
  /** Stands in for the rows not built yet (see RowBuilder.partial): `lines` lines in `hunks` hunks of `files` more files. */
  | { t: 'rest'; lines: number; hunks: number; files: number };

export interface BuildOptions {
  mode: 'unified' | 'split';
  /** Unchanged lines kept visible around each change; longer runs collapse into a fold row. */
  context: number;
  /** Fold keys the rater expanded whole. */
  expanded: Set<string>;
  /** Lines of a fold the rater revealed at its top and at its bottom, by fold key. */
  revealed?: Map<string, [number, number]>;
  /** Files (by index) the rater collapsed to their header. */
  collapsed?: Set<number>;
  /** A line kept out of any fold (the current search hit): file, hunk, index in the hunk. */
  pin?: { file: number; hunk: number; idx: number } | null;
  comments: CommentView[];
  flags: LineFlag[];
  /**
   * Under an audit budget, the hunks (`file:hunk`) opened in depth; every other hunk shows its
   * header and first changed line only, then a sealed row. Null or absent: no budget.
   */
  opened?: Set<string> | null;
}

/** The key of a hunk in BuildOptions.opened. */
export function hunkKey(file: number, hunk: number): string {
  return `${file}:${hunk}`;
}

export interface RowModel {
  rows: Row[];
  /** Row index of each comment's anchor row, by comment index (-1 when not on a diff line). */
  commentRows: number[];
  /** The file each row belongs to (-1 for rows above the first file), for the sticky header. */
  rowFile: Int32Array;
  /** The row index of each file's header row. */
  fileRows: number[];
}

/** How lines are laid out: wrapped at `cols` characters per code column, or one row each. */
export interface Layout {
  wrap: boolean;
  /** Characters that fit in one code column (each side in the split view). */
  cols: number;
  /** Characters of the interface font that fit in a comment card's line. */
  noteCols: number;
}

export const NO_WRAP: Layout = { wrap: false, cols: 80, noteCols: 80 };

const TAB = 4;

const KIND_OF: Record<string, LineKind> = { ' ': 'context', '+': 'add', '-': 'del', '\\': 'meta' };

/** The lines of a wire hunk, numbered from the hunk's starts as the server's parser numbers them. */
function decodeLines(h: WireHunk): DiffLineTuple[] {
  const kinds = h.kinds;
  const n = kinds.length;
  const texts = n ? h.text.split('\n') : [];
  const lines: DiffLineTuple[] = new Array(n);
  let old = h.old_start;
  let neu = h.new_start;
  for (let i = 0; i < n; i++) {
    const text = texts[i] ?? '';
    const c = kinds.charCodeAt(i);
    if (c === 32) {
      lines[i] = ['context', old++, neu++, text];
    } else if (c === 43) {
      lines[i] = ['add', null, neu++, text];
    } else if (c === 45) {
      lines[i] = ['del', old++, null, text];
    } else {
      lines[i] = [KIND_OF[kinds[i]] ?? 'meta', null, null, text];
    }
  }
  return lines;
}

/**
 * A hunk from the wire whose lines are decoded on first use: a diff of thousands of files
 * decodes, before its first paint, only the hunks on the first screen (the rest as they are
 * built, searched or scrolled to).
 */
export class LazyHunk implements HunkView {
  readonly header: string;
  readonly old_start: number;
  readonly old_len: number;
  readonly new_start: number;
  readonly new_len: number;
  private wire: WireHunk | null;
  private decoded: DiffLineTuple[] | null = null;

  constructor(h: WireHunk) {
    this.header = h.header;
    this.old_start = h.old_start;
    this.old_len = h.old_len;
    this.new_start = h.new_start;
    this.new_len = h.new_len;
    this.wire = h;
  }

  get lines(): DiffLineTuple[] {
    if (!this.decoded) {
      this.decoded = decodeLines(this.wire as WireHunk);
      this.wire = null;
    }
    return this.decoded;
  }

  /** Whether the lines have been decoded (read) yet. */
  get decodedYet(): boolean {
    return this.decoded !== null;
  }

  /** The number of lines, without decoding them. */
  get size(): number {
    return this.wire ? this.wire.kinds.length : (this.decoded as DiffLineTuple[]).length;
  }

  /** The characters of all lines together (an upper bound on any one line), without decoding them. */
  get chars(): number {
    return this.wire ? this.wire.text.length : (this.decoded as DiffLineTuple[]).reduce((n, l) => n + l[3].length, 0);
  }

  /** The last old and new line numbers the hunk reaches (its start when a side has no lines), without decoding. */
  lastNumbers(): [number, number] {
    if (!this.wire) {
      return lastOf(this.decoded as DiffLineTuple[], this.old_start, this.new_start);
    }
    const kinds = this.wire.kinds;
    let old = this.old_start - 1;
    let neu = this.new_start - 1;
    for (let i = 0; i < kinds.length; i++) {
      const c = kinds.charCodeAt(i);
      if (c === 32 || c === 45) {
        old++;
      }
      if (c === 32 || c === 43) {
        neu++;
      }
    }
    return [old, neu];
  }
}

function lastOf(lines: DiffLineTuple[], oldStart: number, newStart: number): [number, number] {
  let old = oldStart - 1;
  let neu = newStart - 1;
  for (const l of lines) {
    old = l[1] ?? old;
    neu = l[2] ?? neu;
  }
  return [old, neu];
}

/** The number of lines of a hunk (without decoding a wire hunk). */
export function hunkSize(h: HunkView): number {
  return h instanceof LazyHunk ? h.size : h.lines.length;
}

/** A hunk's lines from the wire format, decoded when first read (a decoded hunk is returned as it is). */
export function decodeHunk(h: WireHunk | HunkView): HunkView {
  return 'kinds' in h ? new LazyHunk(h) : h;
}

/** The item view with every hunk decoded (a view already decoded is returned as it is). */
export function decodeView(view: WireItemView | ItemView): ItemView {
  const files = view.files.map(f => (f.hunks.every(h => 'lines' in h) ? (f as FileView) : { ...f, hunks: f.hunks.map(decodeHunk) }));
  return { ...view, files };
}

/** Whether a code point takes two columns in a monospace font (CJK, Hangul, fullwidth, emoji). */
function wide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** The columns a line takes in a monospace font, tabs expanded to stops of four. */
export function textColumns(text: string): number {
  // Plain ASCII without tabs (nearly every line of code) is its length.
  if (!/[\t\u0080-\uffff]/.test(text)) {
    return text.length;
  }
  let col = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '\t') {
      col += TAB - (col % TAB);
    } else {
      col += wide(cp) ? 2 : 1;
    }
  }
  return col;
}

/**
 * Screen lines a wrapped line of text takes at `cols` columns. Wide characters and tabs can
 * end a screen line a column early, so those lines are counted one column narrower: a row
 * may end with a little slack, never with a clipped line.
 */
export function screenLines(text: string, cols: number): number {
  const n = textColumns(text);
  const per = n === text.length ? cols : Math.max(1, cols - 1);
  return Math.max(1, Math.ceil(n / Math.max(1, per)));
}

/** The path a reviewer knows a file by: the new one, or the old one when deleted. */
export function filePath(f: FileView): string {
  return f.status === 'deleted' ? f.old_path : f.new_path;
}

/** The key a line is anchored by: file path, side and line number on that side. */
export function anchorKey(path: string, side: Side, line: number): string {
  return `${path}\u0000${side}\u0000${line}`;
}

function lineRef(file: number, hunk: number, idx: number, l: DiffLineTuple): LineRef {
  return { t: 'line', file, hunk, idx, kind: l[0], old: l[1], new: l[2], text: l[3], mate: null };
}

/**
 * The line objects of a hunk, made once per hunk and reused by every rebuild (a fold opened, a
 * flag added, the view mode switched): a 1M-line diff would otherwise allocate a million again.
 * Keyed by the hunk object, so a new view (new hunks) never meets another view's lines.
 */
const REFS = new WeakMap<HunkView, LineRef[]>();

function hunkRefs(file: number, hunk: number, h: HunkView): LineRef[] {
  let refs = REFS.get(h);
  if (!refs || (refs.length && (refs[0].file !== file || refs[0].hunk !== hunk))) {
    refs = h.lines.map((l, k) => lineRef(file, hunk, k, l));
    pairMates(refs);
    REFS.set(h, refs);
  }
  return refs;
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

/** Link each deletion to the addition that replaces it (as pairLines pairs them), in place. */
function pairMates(lines: LineRef[]): void {
  let i = 0;
  while (i < lines.length) {
    if (lines[i].kind !== 'del') {
      i++;
      continue;
    }
    const d0 = i;
    while (i < lines.length && lines[i].kind === 'del') {
      i++;
    }
    const a0 = i;
    while (i < lines.length && lines[i].kind === 'add') {
      i++;
    }
    for (let k = 0; k < Math.min(a0 - d0, i - a0); k++) {
      lines[d0 + k].mate = lines[a0 + k];
      lines[a0 + k].mate = lines[d0 + k];
    }
  }
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

/**
 * Flattens files, hunks, folds, comments and flags into display rows, a few hunks at a time:
 * the view builds the first screen's rows before its first paint and the rest in idle slices
 * (see ReviewView). `step` adds rows, `partial` gives the rows so far with one `rest` row
 * standing in for the others, `finish` the whole model.
 */
export class RowBuilder {
  private notes = new NoteIndex();
  private commentLists: Row[][];
  private defaultPath: string;
  private rows: Row[] = [];
  private rowFile: number[] = [];
  private fileRows: number[] = [];
  private collapsed: Set<number>;
  private revealed: Map<string, [number, number]>;
  private pin: { file: number; hunk: number; idx: number } | null;
  /** The next file to add, and its next hunk (-1: its header row is still to come). */
  private file = 0;
  private hunk = -1;
  private finished: RowModel | null = null;

  constructor(
    private files: FileView[],
    private opts: BuildOptions
  ) {
    this.defaultPath = files.length ? filePath(files[0]) : '';
    this.commentLists = opts.comments.map((c, i) => this.notes.add(c.path || this.defaultPath, c.side, c.end_line, { t: 'comment', comment: i }));
    opts.flags.forEach((f, i) => this.notes.add(f.path || this.defaultPath, f.side, f.line, { t: 'flag', flag: i }));
    this.collapsed = opts.collapsed ?? new Set<number>();
    this.revealed = opts.revealed ?? new Map<string, [number, number]>();
    this.pin = opts.pin ?? null;
  }

  /** The rows built so far (before `finish`, which may put an orphans row in front). */
  get built(): readonly Row[] {
    return this.rows;
  }

  /** Whether every file's rows are built. */
  get done(): boolean {
    return this.file >= this.files.length;
  }

  /** Add the rows of whole hunks until about `lines` diff lines are added (or all are); true when done. */
  step(lines: number): boolean {
    const files = this.files;
    let budget = lines;
    while (this.file < files.length && budget > 0) {
      const fi = this.file;
      const f = files[fi];
      if (this.hunk < 0) {
        this.fileRows.push(this.rows.length);
        this.rows.push({ t: 'file', file: fi });
        this.fillRowFile(fi);
        this.hunk = 0;
        if (this.collapsed.has(fi)) {
          this.nextFile();
          continue;
        }
      }
      if (this.hunk >= f.hunks.length) {
        this.nextFile();
        continue;
      }
      budget -= Math.max(1, this.addHunk(fi, this.hunk, filePath(f)));
      this.hunk++;
      this.fillRowFile(fi);
    }
    return this.done;
  }

  /**
   * The rows built so far and a `rest` row as tall as the rows still to come would be without
   * folds. Comments on files not yet built are not orphans: they wait for their file's rows.
   */
  partial(): RowModel {
    const rows = this.rows.slice();
    const rowFile = this.rowFile.slice();
    let lines = 0;
    let hunks = 0;
    for (let fi = this.file; fi < this.files.length; fi++) {
      const hs = this.files[fi].hunks;
      for (let hi = fi === this.file ? Math.max(0, this.hunk) : 0; hi < hs.length; hi++) {
        lines += hunkSize(hs[hi]);
        hunks++;
      }
    }
    const files = this.files.length - this.file - (this.hunk >= 0 ? 1 : 0);
    rows.push({ t: 'rest', lines, hunks, files });
    rowFile.push(-1);
    const firstPending = new Map<string, number>();
    for (let fi = this.files.length - 1; fi >= this.file; fi--) {
      firstPending.set(filePath(this.files[fi]), fi);
    }
    const waiting = (i: number): boolean => firstPending.has(this.opts.comments[i].path || this.defaultPath);
    return this.model(rows, rowFile, this.fileRows.slice(), waiting);
  }

  /** The whole model (built to the end first if need be). */
  finish(): RowModel {
    if (!this.finished) {
      this.step(Infinity);
      this.finished = this.model(this.rows, this.rowFile, this.fileRows, () => false);
    }
    return this.finished;
  }

  private model(rows: Row[], rowFile: number[], fileRows: number[], waiting: (comment: number) => boolean): RowModel {
    // Comments on lines the diff does not show still reach the rater, in one row at the top.
    const orphans = this.commentLists.map((list, i) => (this.notes.placed.has(list) || waiting(i) ? -1 : i)).filter(i => i >= 0);
    if (orphans.length) {
      rows.unshift({ t: 'orphans', comments: orphans });
      rowFile.unshift(-1);
      fileRows.forEach((r, i) => (fileRows[i] = r + 1));
    }
    const commentRows = this.opts.comments.map(() => -1);
    rows.forEach((r, i) => {
      if (r.t === 'comment') {
        commentRows[r.comment] = i;
      } else if (r.t === 'orphans') {
        r.comments.forEach(c => (commentRows[c] = i));
      }
    });
    return { rows, commentRows, rowFile: Int32Array.from(rowFile), fileRows };
  }

  private nextFile(): void {
    this.file++;
    this.hunk = -1;
  }

  private fillRowFile(fi: number): void {
    while (this.rowFile.length < this.rows.length) {
      this.rowFile.push(fi);
    }
  }

  private emitNotes(path: string, l: LineRef): void {
    const notes = this.notes;
    if (!notes.has(path, l)) {
      return; // nearly every line: no allocation on this path
    }
    for (const list of notes.at(path, l)) {
      if (!notes.placed.has(list)) {
        notes.placed.add(list);
        for (const r of list) {
          this.rows.push(r);
        }
      }
    }
  }

  /** Add one hunk's rows; returns its number of lines. */
  private addHunk(fi: number, hi: number, path: string): number {
    const { opts, rows, notes, pin, revealed } = this;
    const h = this.files[fi].hunks[hi];
    rows.push({ t: 'hunk', file: fi, hunk: hi });
    if (opts.opened && !opts.opened.has(hunkKey(fi, hi))) {
      // Sealed: the first changed line says what the hunk is about; the rest waits for an audit.
      const k = Math.max(0, h.lines.findIndex(l => l[0] === 'add' || l[0] === 'del'));
      if (h.lines.length) {
        const l = lineRef(fi, hi, k, h.lines[k]);
        rows.push(opts.mode === 'unified' ? l : { t: 'pair', left: l.kind === 'add' ? null : l, right: l.kind === 'del' ? null : l });
        this.emitNotes(path, l);
      }
      rows.push({ t: 'sealed', file: fi, hunk: hi, hidden: Math.max(0, h.lines.length - 1) });
      return h.lines.length;
    }
    const lines = hunkRefs(fi, hi, h);
    const pinned = (l: LineRef): boolean => notes.has(path, l) || (pin !== null && pin.file === fi && pin.hunk === hi && pin.idx === l.idx);
    const folds = foldRuns(lines, opts.context, pinned);
    const segments: Array<{ lines: LineRef[]; fold?: string; up?: boolean; down?: boolean }> = [];
    let pos = 0;
    for (const [a, b] of folds) {
      const key = `${fi}:${hi}:${a}`;
      const [top, bottom] = revealed.get(key) ?? [0, 0];
      if (opts.expanded.has(key) || top + bottom >= b - a) {
        continue;
      }
      // Revealed lines join the visible lines around the fold; the fold shrinks between them.
      segments.push({ lines: lines.slice(pos, a + top) });
      segments.push({ lines: lines.slice(a + top, b - bottom), fold: key, up: a > 0, down: b < lines.length });
      pos = b - bottom;
    }
    segments.push({ lines: pos ? lines.slice(pos) : lines });
    for (const seg of segments) {
      if (seg.fold) {
        rows.push({ t: 'fold', key: seg.fold, count: seg.lines.length, file: fi, hunk: hi, up: !!seg.up, down: !!seg.down });
      } else if (opts.mode === 'unified') {
        for (const l of seg.lines) {
          rows.push(l);
          this.emitNotes(path, l);
        }
      } else {
        for (const [left, right] of pairLines(seg.lines)) {
          rows.push({ t: 'pair', left, right });
          if (left) {
            this.emitNotes(path, left);
          }
          if (right && right !== left) {
            this.emitNotes(path, right);
          }
        }
      }
    }
    return lines.length;
  }
}

/** Flatten files, hunks, folds, comments and flags into display rows (all of them, at once). */
export function buildRows(files: FileView[], opts: BuildOptions): RowModel {
  return new RowBuilder(files, opts).finish();
}

/** Screen lines of a note's text at `cols` characters a line (each paragraph starts a line). */
function noteLines(text: string, cols: number): number {
  return text.split('\n').reduce((n, p) => n + Math.max(1, Math.ceil(p.length / Math.max(1, cols))), 0);
}

/**
 * Height of a row in line units: notes need room for their text and controls; with wrapping,
 * a long line takes as many units as the screen lines it wraps to (the taller side of a pair).
 */
export function rowUnits(row: Row, layout: Layout = NO_WRAP, comments: Array<{ text: string }> = []): number {
  switch (row.t) {
    case 'line':
      return layout.wrap ? screenLines(row.text, layout.cols) : 1;
    case 'pair':
      if (!layout.wrap) {
        return 1;
      }
      return Math.max(row.left ? screenLines(row.left.text, layout.cols) : 1, row.right ? screenLines(row.right.text, layout.cols) : 1);
    case 'comment': {
      // A card is its head (two lines where its buttons wrap), its claim and padding; never
      // less than the four units of old. Claim lines are 0.9 units (1.35 em of 13 px in 20 px).
      const text = comments[row.comment]?.text ?? '';
      const head = layout.noteCols < 70 ? 2 : 1;
      return Math.max(4, head + 1 + Math.ceil(noteLines(text, layout.noteCols) * 0.9));
    }
    case 'flag':
      return 3;
    case 'orphans':
      return 1 + 2 * row.comments.length;
    case 'file':
      return 1.5;
    case 'rest':
      return row.lines + row.hunks + 1.5 * row.files;
    default:
      return 1;
  }
}

/** Prefix sums of row heights in pixels: offsets[i] is the top of row i, offsets[n] the total. */
export function rowOffsets(rows: Row[], rowHeight: number, layout: Layout = NO_WRAP, comments: Array<{ text: string }> = []): Float64Array {
  const out = new Float64Array(rows.length + 1);
  for (let i = 0; i < rows.length; i++) {
    out[i + 1] = out[i] + rowUnits(rows[i], layout, comments) * rowHeight;
  }
  return out;
}

/**
 * `offsets` (the prefix sums of rowOffsets for rows[0..n)) extended to all of `rows`: rows built
 * in slices get their heights in slices too. Returns the array, grown (copied) when too short.
 */
export function growOffsets(
  offsets: Float64Array,
  n: number,
  rows: readonly Row[],
  rowHeight: number,
  layout: Layout = NO_WRAP,
  comments: Array<{ text: string }> = []
): Float64Array {
  let out = offsets;
  if (out.length < rows.length + 1) {
    out = new Float64Array(Math.max(rows.length + 1, 2 * offsets.length));
    out.set(offsets.subarray(0, n + 1));
  }
  for (let i = n; i < rows.length; i++) {
    out[i + 1] = out[i] + rowUnits(rows[i], layout, comments) * rowHeight;
  }
  return out;
}

/** The first `n + 1` offsets, with a row `height` pixels tall put in front of the rows when `height` is given. */
export function leadOffsets(offsets: Float64Array, n: number, height: number | null): Float64Array {
  if (height === null) {
    return offsets.slice(0, n + 1);
  }
  const out = new Float64Array(n + 2);
  for (let i = 0; i <= n; i++) {
    out[i + 1] = offsets[i] + height;
  }
  return out;
}

/** The widest line of the diff in columns (the horizontal scroll width when lines do not wrap). */
export function widestLine(files: FileView[]): number {
  let max = 0;
  for (const f of files) {
    for (const h of f.hunks) {
      if (h instanceof LazyHunk && h.chars * TAB <= max) {
        continue; // no line of it can be wider: leave it undecoded
      }
      for (const l of h.lines) {
        const n = l[3].length * TAB > max ? textColumns(l[3]) : 0;
        if (n > max) {
          max = n;
        }
      }
    }
  }
  return max;
}

/** Digits of the largest line number in the diff (sizes the line-number gutters). */
export function lineDigits(files: FileView[]): number {
  let max = 1;
  for (const f of files) {
    for (const h of f.hunks) {
      max = Math.max(max, h.old_start + h.old_len, h.new_start + h.new_len);
      if (h instanceof LazyHunk) {
        max = Math.max(max, ...h.lastNumbers());
      } else {
        const last = h.lines[h.lines.length - 1];
        if (last) {
          max = Math.max(max, last[1] ?? 0, last[2] ?? 0);
        }
      }
    }
  }
  return String(max).length;
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

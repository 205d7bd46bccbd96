/**
 * The review view's diff pane: the virtualised list of rows, the file header pinned above it,
 * and the lazy building of the rows. It owns the rows on screen (the RowModel), their pixel
 * offsets under the current layout (wrap columns from the measured code font and width), and
 * the build still in progress after the first paint.
 *
 * A view that opens builds the first screens' rows before the first paint and the rest in idle
 * slices after it; whatever needs rows not built yet (a jump, a scroll past them, a fold)
 * finishes them first. The view decides what to show; the pane builds, measures and scrolls.
 */
import { BuildOptions, growOffsets, Layout, leadOffsets, lineDigits, Row, RowBuilder, RowModel, rowOffsets, rowUnits, widestLine } from './diffmodel';
import { later } from './idle';
import { el, renderFile, renderRow, RowContext } from './rows';
import { CommentView, FileView, ReviewOptions } from './types';
import { VirtualList } from './virtual';

/**
 * Diff lines whose rows are built before the first paint when a view opens (a few screens);
 * the rest are built after it in idle slices of ROW_SLICE_MS, or at once when the rater needs
 * them (scrolls past them, jumps, searches, folds).
 */
const FIRST_ROW_LINES = 600;
const ROW_SLICE_MS = 12;

/** What the pane reads from the view that holds it, always as it is now. */
export interface PaneHost {
  options(): ReviewOptions;
  /** The files of the item shown, or null while none is. */
  files(): FileView[] | null;
  comments(): CommentView[];
  /** The rows on screen changed (their number or their offsets). */
  rowsSet(): void;
}

export class DiffPane {
  readonly list = new VirtualList();
  /** The list with the sticky file header over it. */
  readonly node = el('div', 'ov-diffwrap');
  /** What the rows render with (the view's state); the view replaces it whenever that changes. */
  ctx: RowContext | null = null;
  private sticky = el('div', 'ov-sticky');
  private stickyFile = -1;
  private rowModel: RowModel = { rows: [], commentRows: [], rowFile: new Int32Array(0), fileRows: [] };
  private rowTops = new Float64Array(1);
  private layout: Layout = { wrap: true, cols: 80, noteCols: 80 };
  private charPx = 0;
  /** The rows still being built after the first paint (null when the model is whole), and its job number. */
  private builder: RowBuilder | null = null;
  private rowJob = 0;
  /** Offsets of the rows the builder has built so far, for `layout`: the whole model's come ready. */
  private grown: { offsets: Float64Array; n: number; layout: Layout } | null = null;

  /** `root` carries the line-number width (--ov-ln-digits) for everything inside the view. */
  constructor(
    private root: HTMLElement,
    private host: PaneHost
  ) {
    this.list.node.classList.add('ov-diff');
    this.sticky.hidden = true;
    this.node.append(this.list.node, this.sticky);
    this.list.onTop = row => this.updateSticky(row);
    if (typeof ResizeObserver !== 'undefined') {
      new ResizeObserver(() => this.relayout()).observe(this.list.node);
    }
  }

  /** The rows on screen (a prefix and a "rest" row while they are still being built). */
  get model(): RowModel {
    return this.rowModel;
  }

  /** Each row's top in pixels, and the total height after the last. */
  get offsets(): Float64Array {
    return this.rowTops;
  }

  /** Drop the rows still being built (a newer build or another item replaces them). */
  stop(): void {
    this.rowJob++;
    this.builder = null;
    this.grown = null;
  }

  /** Another item: its code font is measured again at its first build. */
  forgetFont(): void {
    this.charPx = 0;
  }

  /**
   * Build the rows of `files` and show them with `ctx`. With `progressive` (a view just opened),
   * only the first screens' rows are built now and the rest after the first paint; otherwise all.
   */
  build(files: FileView[], opts: BuildOptions, ctx: RowContext, progressive: boolean): void {
    this.stop();
    const job = this.rowJob;
    const builder = new RowBuilder(files, opts);
    if (progressive && !builder.step(FIRST_ROW_LINES)) {
      this.builder = builder;
      this.rowModel = builder.partial();
      requestAnimationFrame(() => later(() => this.buildMore(job)));
    } else {
      this.rowModel = builder.finish();
    }
    this.ctx = ctx;
    const o = this.host.options();
    this.list.node.classList.toggle('ov-split', o.diffView === 'split');
    this.list.node.classList.toggle('ov-wrap', o.wrapLines);
    this.list.node.classList.toggle('ov-nowrap', !o.wrapLines);
    this.layout = this.measure();
    this.setRows();
  }

  /** Re-render the visible rows with `ctx` (fresh state: active comment, dispositions), same rows. */
  refresh(ctx: RowContext): void {
    this.ctx = ctx;
    this.stickyFile = -1;
    this.list.refresh();
  }

  /** No item: no rows and no sticky header. */
  clear(): void {
    this.sticky.hidden = true;
    this.list.setSource({ count: 0, offsets: new Float64Array(1), render: () => el('div') });
  }

  /** Finish the rows still being built now (the rater needs them) and show them where the view was. */
  completeRows(): void {
    const b = this.builder;
    if (!b) {
      return;
    }
    this.builder = null;
    b.step(Infinity);
    this.growOffsets(b);
    const g = this.grown as { offsets: Float64Array; n: number };
    this.grown = null;
    const model = b.finish();
    this.showRows(model, leadOffsets(g.offsets, g.n, this.leadHeight(model)));
  }

  /** Scroll up to a file's header when it is above the screen (after the rater folded or marked it). */
  scrollToFile(file: number): void {
    this.completeRows();
    const row = this.rowModel.fileRows[file];
    if (row !== undefined && this.rowTops[row] < this.list.node.scrollTop) {
      this.list.node.scrollTop = this.rowTops[row];
      this.list.update();
    }
  }

  /** Put a file's header at the top of the diff (from the file list). */
  showFile(file: number): void {
    this.completeRows();
    this.list.scrollToRow(this.rowModel.fileRows[file]);
    this.list.node.scrollTop = this.rowTops[this.rowModel.fileRows[file]];
    this.list.update();
  }

  /** Each hunk's place in the diff, [top, bottom] as fractions of its height (for the minimap). */
  hunkPlaces(): (file: number, hunk: number) => [number, number] | null {
    const rows = this.rowModel.rows;
    const offsets = this.rowTops;
    const total = offsets[rows.length] || 1;
    const place = new Map<string, [number, number]>();
    let open: string | null = null;
    for (let i = 0; i <= rows.length; i++) {
      const r = rows[i];
      if (i === rows.length || r.t === 'hunk' || r.t === 'file' || r.t === 'rest') {
        if (open !== null) {
          (place.get(open) as [number, number])[1] = offsets[i] / total;
          open = null;
        }
        if (i < rows.length && r.t === 'hunk') {
          open = `${r.file}:${r.hunk}`;
          place.set(open, [offsets[i] / total, offsets[i + 1] / total]);
        }
      }
    }
    return (f, h) => place.get(`${f}:${h}`) ?? null;
  }

  /** Build more rows in an idle slice; once all are built, show the whole model. */
  private buildMore(job: number): void {
    const b = this.builder;
    if (job !== this.rowJob || !b) {
      return; // a newer build replaced this one
    }
    const end = performance.now() + ROW_SLICE_MS;
    while (!b.step(200)) {
      if (performance.now() > end) {
        this.growOffsets(b);
        later(() => this.buildMore(job));
        return;
      }
    }
    this.completeRows();
  }

  /** Extend the offsets of the rows built so far (a million rows' heights at once would stall a frame). */
  private growOffsets(b: RowBuilder): void {
    let g = this.grown;
    if (!g || g.layout !== this.layout) {
      g = this.grown = { offsets: new Float64Array(1024), n: 0, layout: this.layout };
    }
    g.offsets = growOffsets(g.offsets, g.n, b.built, this.host.options().rowHeight, this.layout, this.host.comments());
    g.n = b.built.length;
  }

  /**
   * Scrolled to rows not built yet: build on until the built rows reach `px` pixels down (a
   * screen or two; all of them only when the rater jumped far), and show them with the rest
   * row after them. The idle build goes on from there.
   */
  private buildTo(px: number): void {
    const b = this.builder;
    if (!b) {
      return;
    }
    this.growOffsets(b);
    let g = this.grown as { offsets: Float64Array; n: number };
    while (!b.done && g.offsets[g.n] < px) {
      b.step(FIRST_ROW_LINES);
      this.growOffsets(b);
      g = this.grown as { offsets: Float64Array; n: number };
    }
    if (b.done) {
      this.completeRows();
      return;
    }
    const model = b.partial();
    const base = leadOffsets(g.offsets, g.n, this.leadHeight(model));
    const offsets = new Float64Array(base.length + 1);
    offsets.set(base);
    offsets[base.length] = base[base.length - 1] + rowUnits(model.rows[model.rows.length - 1], this.layout, this.host.comments()) * this.host.options().rowHeight;
    this.showRows(model, offsets);
  }

  /** The height of the orphans row leading `model` (null when none leads it). */
  private leadHeight(model: RowModel): number | null {
    return model.rows.length && model.rows[0].t === 'orphans' ? rowUnits(model.rows[0], this.layout, this.host.comments()) * this.host.options().rowHeight : null;
  }

  /** Show a model that extends the one on screen, where the view was: the rows built first keep their places. */
  private showRows(model: RowModel, offsets: Float64Array): void {
    const before = this.rowModel;
    const top = this.list.topRow;
    const within = top >= 0 ? this.list.node.scrollTop - this.rowTops[top] : 0;
    this.rowModel = model;
    // An orphans row may now lead the rows (or lead them no more).
    const lead = (m: RowModel): number => (m.rows.length && m.rows[0].t === 'orphans' ? 1 : 0);
    const at = Math.max(0, top + lead(model) - lead(before));
    this.setRows(offsets);
    if (top > 0 || within > 0) {
      this.list.node.scrollTop = this.rowTops[Math.min(at, model.rows.length)] + within;
      this.list.update();
    }
  }

  /** Hand the rows to the list with offsets for the current layout (computed here unless given). */
  private setRows(offsets?: Float64Array): void {
    const files = this.host.files() as FileView[];
    const o = this.host.options();
    const rows: Row[] = this.rowModel.rows;
    this.rowTops = offsets ?? rowOffsets(rows, o.rowHeight, this.layout, this.host.comments());
    if (this.layout.wrap) {
      this.list.setWidth(null);
    } else {
      // One row per line: the content is as wide as the widest line, and scrolls sideways.
      const digits = Math.max(3, lineDigits(files));
      const gutter = digits * this.charPx + 12;
      const code = widestLine(files) * this.charPx + 16;
      const split = o.diffView === 'split';
      const need = split ? 2 * (gutter + code) : 2 * gutter + 2 * this.charPx + code;
      this.list.setWidth(need > this.list.node.clientWidth ? need : null);
    }
    this.stickyFile = -1;
    this.list.setSource({
      count: rows.length,
      offsets: this.rowTops,
      render: i => {
        if (rows[i].t === 'rest') {
          // Scrolled to rows not built yet: build them now (as far as the screen and one more), after this frame's rows.
          window.setTimeout(() => this.buildTo(this.list.node.scrollTop + 2 * (this.list.node.clientHeight || 600)), 0);
        }
        return renderRow(this.ctx as RowContext, rows[i]);
      }
    });
    this.host.rowsSet();
  }

  /** The file header pinned to the top of the diff while the rater is inside that file. */
  private updateSticky(top: number): void {
    const f = top >= 0 ? this.rowModel.rowFile[top] : -1;
    const show = f >= 0 && this.rowTops[this.rowModel.fileRows[f]] < this.list.node.scrollTop;
    this.sticky.hidden = !show;
    if (show && f !== this.stickyFile && this.ctx) {
      this.sticky.replaceChildren(renderFile(this.ctx, f));
      this.stickyFile = f;
    }
    this.sticky.style.width = `${this.list.node.clientWidth}px`;
  }

  /** Measure the code font and the view's width: the wrap columns and gutter depend on them. */
  private measure(): Layout {
    const files = this.host.files();
    const node = this.list.node;
    if (!this.charPx) {
      const probe = el('span', 'ov-probe', '0'.repeat(100));
      node.append(probe);
      this.charPx = probe.getBoundingClientRect().width / 100 || 7.2;
      probe.remove();
    }
    const cw = this.charPx;
    const digits = Math.max(3, files ? lineDigits(files) : 3);
    this.root.style.setProperty('--ov-ln-digits', String(digits));
    const width = node.clientWidth || 800;
    const gutter = digits * cw + 12;
    const o = this.host.options();
    const split = o.diffView === 'split';
    const code = split ? (width - 2 * gutter) / 2 : width - 2 * gutter - 2 * cw;
    // Two pixels short of the column: sub-pixel widths must not give a column one char too many.
    const cols = Math.max(8, Math.floor((code - 2) / cw));
    // Comment cards use the interface font (about 8 px a character at 13 px, counted wide).
    const noteCols = Math.max(20, Math.floor((width - 12 * cw - 48) / 8));
    return { wrap: o.wrapLines, cols, noteCols };
  }

  /** After a resize: new wrap columns change the row heights (rows themselves stay). */
  private relayout(): void {
    if (!this.host.files() || !this.host.options().wrapLines) {
      return;
    }
    const next = this.measure();
    if (next.cols !== this.layout.cols || next.noteCols !== this.layout.noteCols) {
      const top = this.list.topRow;
      this.layout = next;
      this.setRows();
      if (top > 0) {
        this.list.node.scrollTop = this.rowTops[top];
        this.list.update();
      }
    }
  }
}

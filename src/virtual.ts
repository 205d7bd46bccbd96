/**
 * A virtualised vertical list: only the rows in (and just around) the viewport exist in the
 * DOM, so a 100,000-line diff costs the same to scroll as a 100-line one.
 *
 * Row heights come from a prefix-sum array; a row element that stays in view is kept (not
 * rebuilt) so a textarea inside it keeps focus and caret while the rater scrolls.
 */
import { rowAt } from './diffmodel';

export interface VirtualSource {
  count: number;
  offsets: Float64Array;
  render(index: number): HTMLElement;
}

const OVERSCAN_PX = 400;

export class VirtualList {
  readonly node: HTMLDivElement;
  private spacer: HTMLDivElement;
  private source: VirtualSource = { count: 0, offsets: new Float64Array(1), render: () => document.createElement('div') };
  private live = new Map<number, HTMLElement>();
  private frame = 0;
  /** Called after each update with the row at the top of the viewport. */
  onTop: ((row: number) => void) | null = null;
  /** Called after each update with the first and last row in the viewport (no overscan). */
  onView: ((first: number, last: number) => void) | null = null;

  constructor() {
    this.node = document.createElement('div');
    this.node.className = 'ov-scroll';
    this.node.tabIndex = -1;
    this.spacer = document.createElement('div');
    this.spacer.className = 'ov-spacer';
    this.node.appendChild(this.spacer);
    this.node.addEventListener('scroll', () => this.schedule(), { passive: true });
    if (typeof ResizeObserver !== 'undefined') {
      new ResizeObserver(() => this.schedule()).observe(this.node);
    }
  }

  /** Replace the rows (all rendered rows are rebuilt). */
  setSource(source: VirtualSource): void {
    this.source = source;
    this.clear();
    this.spacer.style.height = `${source.offsets[source.count]}px`;
    this.update();
  }

  /** Rebuild the rendered rows in place, e.g. after a note's state changed. */
  refresh(): void {
    this.clear();
    this.update();
  }

  /** Rebuild one rendered row, if it is on screen. */
  refreshRow(index: number): void {
    const el = this.live.get(index);
    if (el) {
      el.remove();
      this.live.delete(index);
      this.update();
    }
  }

  /** The content width in pixels for horizontal scrolling, or null to fit the viewport. */
  setWidth(px: number | null): void {
    this.spacer.style.width = px === null ? '' : `${Math.ceil(px)}px`;
  }

  /** The row at the top of the viewport. */
  get topRow(): number {
    return this.source.count ? rowAt(this.source.offsets, this.node.scrollTop) : -1;
  }

  /** Scroll so that row `index` sits a little below the top of the viewport. */
  scrollToRow(index: number): void {
    const top = this.source.offsets[Math.max(0, Math.min(index, this.source.count))];
    this.node.scrollTop = Math.max(0, top - this.node.clientHeight / 3);
    this.update();
  }

  /** The range of rows currently in the DOM (for tests and benchmarks). */
  get rendered(): number[] {
    return [...this.live.keys()].sort((a, b) => a - b);
  }

  private clear(): void {
    for (const el of this.live.values()) {
      el.remove();
    }
    this.live.clear();
  }

  private schedule(): void {
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.update();
      });
    }
  }

  /** Render the rows that intersect the viewport (plus overscan) and drop the rest. */
  update(): void {
    const { count, offsets } = this.source;
    if (!count) {
      return;
    }
    const height = this.node.clientHeight || 600;
    const top = Math.max(0, this.node.scrollTop - OVERSCAN_PX);
    const first = rowAt(offsets, top);
    const last = Math.min(count - 1, rowAt(offsets, this.node.scrollTop + height + OVERSCAN_PX));
    for (const [i, el] of this.live) {
      if (i < first || i > last) {
        el.remove();
        this.live.delete(i);
      }
    }
    for (let i = first; i <= last; i++) {
      if (this.live.has(i)) {
        continue;
      }
      const el = this.source.render(i);
      el.style.position = 'absolute';
      el.style.top = `${offsets[i]}px`;
      el.style.height = `${offsets[i + 1] - offsets[i]}px`;
      el.style.left = '0';
      el.style.right = '0';
      el.dataset.row = String(i);
      this.live.set(i, el);
      this.spacer.appendChild(el);
    }
    const shownFirst = rowAt(offsets, this.node.scrollTop);
    this.onTop?.(shownFirst);
    // The last row whose top is above the viewport's bottom edge.
    this.onView?.(shownFirst, Math.min(count - 1, rowAt(offsets, Math.max(this.node.scrollTop, this.node.scrollTop + height - 1))));
  }
}

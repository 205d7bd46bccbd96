/**
 * The files pane beside the diff (shown for two files or more): each file with its added and
 * removed counts, a "viewed" box, and a button that jumps to it. A diff of thousands of files
 * gets its first entries before the first paint and the rest in idle slices after it.
 */
import { filePath } from './diffmodel';
import { later } from './idle';
import { el, RowContext, viewedBox } from './rows';
import { FileView } from './types';

/** File-list entries built before the first paint; the rest follow in slices of FILE_LIST_SLICE. */
const FILE_LIST_FIRST = 200;
const FILE_LIST_SLICE = 250;

export class FileList {
  readonly node = el('div', 'ov-files');
  /** Bumped by each render: its slices still to come check they are current. */
  private job = 0;

  constructor() {
    this.node.hidden = true;
  }

  hide(): void {
    this.node.hidden = true;
  }

  /** List `files` (those in `viewed` marked so); a click on one calls `jump` with its index. */
  render(files: FileView[], viewed: Set<string>, ctx: RowContext | null, jump: (file: number) => void): void {
    const box = this.node;
    const job = ++this.job;
    box.hidden = files.length < 2;
    if (box.hidden || !ctx) {
      return;
    }
    const n = files.filter(f => viewed.has(filePath(f))).length;
    const head = el('div', 'ov-files-head', `${files.length} files · ${n} viewed`);
    const entry = (i: number): HTMLElement => {
      const f = files[i];
      const e = el('div', 'ov-file-entry');
      if (viewed.has(filePath(f))) {
        e.classList.add('ov-is-viewed');
      }
      const b = el('button', 'ov-btn ov-file', `${filePath(f)} +${f.added} −${f.removed}`);
      b.type = 'button';
      b.title = filePath(f);
      b.addEventListener('click', () => jump(i));
      e.append(viewedBox(ctx, i), b);
      return e;
    };
    // A diff of thousands of files would build tens of thousands of nodes before the first
    // paint: the first entries now, the rest in slices after it (a newer render cancels them).
    let next = Math.min(files.length, FILE_LIST_FIRST);
    box.replaceChildren(head, ...Array.from({ length: next }, (_, i) => entry(i)));
    const more = (): void => {
      if (job !== this.job || next >= files.length) {
        return;
      }
      const end = Math.min(files.length, next + FILE_LIST_SLICE);
      const slice = document.createDocumentFragment();
      for (; next < end; next++) {
        slice.append(entry(next));
      }
      box.append(slice);
      later(more);
    };
    // After the first paint, and in idle time, so that neither it nor scrolling waits for them.
    requestAnimationFrame(() => later(more));
  }
}

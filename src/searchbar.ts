/**
 * The review view's diff search: the query, its hits and the current one, and the search box
 * in the toolbar (count, previous / next, and under an audit budget the button "N matches in M
 * sealed hunks" with its list). The view goes to a hit (it owns the rows and the scrolling);
 * finding the hits is `findHits` in search.ts.
 */
import { filePath, hunkKey, Row } from './diffmodel';
import { el } from './rows';
import { findHits, Hit, MAX_HITS, SealedMatches, sealedSummary, splitSealed } from './search';
import { FileView } from './types';

/** What the search box asks of the view. */
export interface SearchActions {
  /** Search for `query` and go to its first hit. */
  search(query: string): void;
  /** Go to the next (+1) or previous (-1) hit. */
  step(step: number): void;
  /** Go to a sealed hunk (from the list of sealed matches). */
  gotoHunk(file: number, hunk: number): void;
}

export class SearchBar {
  query = '';
  /** The hits the rater may go to, and the index of the current one (-1: none yet). */
  hits: Hit[] = [];
  index = -1;
  /** Under an audit budget: per sealed hunk, how many matches it holds (never their text). */
  private sealed: SealedMatches[] = [];
  private capped = false;
  /** The toolbar's search box, once built. */
  private input: HTMLInputElement | null = null;
  private count: HTMLElement | null = null;
  private sealedButton: HTMLButtonElement | null = null;
  private sealedList: HTMLElement | null = null;

  constructor(private act: SearchActions) {}

  /** Another item: no query. */
  reset(): void {
    this.query = '';
    this.hits = [];
    this.sealed = [];
    this.capped = false;
    this.index = -1;
  }

  /** The hit gone to last, or null. */
  get current(): Hit | null {
    return this.index >= 0 ? this.hits[this.index] : null;
  }

  /** Per sealed hunk (by hunkKey), how many matches it holds. */
  sealedCounts(): Map<string, number> {
    return new Map(this.sealed.map(m => [hunkKey(m.file, m.hunk), m.count]));
  }

  /**
   * Find the hits of the query in `files`. Under an audit budget (`opened`: the hunks opened in
   * depth) a sealed hunk's hits are not gone to (that would show its lines): they are counted per
   * hunk instead ("3 matches in 2 sealed hunks"), so the rater can decide where to spend an audit.
   */
  find(files: FileView[], opened: Set<string> | null): void {
    const all = findHits(files, this.query);
    const split = splitSealed(all, (f, h) => !opened || opened.has(hunkKey(f, h)));
    this.hits = split.open;
    this.sealed = split.sealed;
    this.capped = all.length >= MAX_HITS;
  }

  /** Put the caret in the search box. */
  focus(): void {
    this.input?.focus();
  }

  /** A new search box for the toolbar (the toolbar is rebuilt whole). */
  build(): HTMLElement {
    const find = el('span', 'ov-find');
    const input = el('input', 'ov-search');
    input.type = 'search';
    input.placeholder = 'Search the diff (Ctrl+F)';
    input.setAttribute('aria-label', 'Search the diff');
    input.value = this.query;
    let timer = 0;
    input.addEventListener('input', () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => this.act.search(input.value), 200);
    });
    input.addEventListener('keydown', ev => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        window.clearTimeout(timer);
        if (input.value !== this.query) {
          this.act.search(input.value);
        } else {
          this.act.step(ev.shiftKey ? -1 : 1);
        }
      } else if (ev.key === 'Escape') {
        input.value = '';
        this.act.search('');
      }
    });
    const prev = el('button', 'ov-btn ov-hit-prev', '▲');
    prev.type = 'button';
    prev.title = 'Previous match (Shift+Enter)';
    prev.addEventListener('click', () => this.act.step(-1));
    const next = el('button', 'ov-btn ov-hit-next', '▼');
    next.type = 'button';
    next.title = 'Next match (Enter)';
    next.addEventListener('click', () => this.act.step(1));
    const sealedHits = el('button', 'ov-btn ov-sealed-hits');
    sealedHits.type = 'button';
    sealedHits.hidden = true;
    sealedHits.title = 'Matches inside hunks you have not opened in depth: their text stays hidden until you open one (one audit)';
    const sealedList = el('div', 'ov-sealed-hit-list');
    sealedList.hidden = true;
    sealedList.setAttribute('role', 'list');
    sealedHits.addEventListener('click', () => {
      sealedList.hidden = !sealedList.hidden;
      sealedHits.setAttribute('aria-expanded', String(!sealedList.hidden));
    });
    const count = el('span', 'ov-search-count');
    find.append(input, count, prev, next, sealedHits, sealedList);
    this.input = input;
    this.count = count;
    this.sealedButton = sealedHits;
    this.sealedList = sealedList;
    return find;
  }

  /** Show where the current hit is among them ("2 of 17"), and the sealed matches of `files`. */
  renderCount(files: FileView[]): void {
    const out = this.count;
    if (out) {
      const n = this.hits.length;
      const total = n >= MAX_HITS ? `${MAX_HITS}+` : String(n);
      out.textContent = !this.query ? '' : n ? `${this.index + 1} of ${total}` : this.sealed.length ? 'no open match' : 'no match';
    }
    this.renderSealed(files);
  }

  /** The button "N matches in M sealed hunks" and its list of those hunks (headers only, diff order). */
  private renderSealed(files: FileView[]): void {
    const button = this.sealedButton;
    const list = this.sealedList;
    if (!button || !list) {
      return;
    }
    const summary = this.query ? sealedSummary(this.sealed, this.capped) : '';
    button.hidden = !summary;
    button.textContent = summary;
    button.setAttribute('aria-expanded', String(!list.hidden && !!summary));
    list.replaceChildren();
    if (!summary) {
      list.hidden = true;
      return;
    }
    for (const m of this.sealed) {
      const f = files[m.file];
      const h = f?.hunks[m.hunk];
      if (!h) {
        continue;
      }
      const entry = el('button', 'ov-btn ov-sealed-hit');
      entry.type = 'button';
      entry.dataset.file = String(m.file);
      entry.dataset.hunk = String(m.hunk);
      const where = `@@ -${h.old_start},${h.old_len} +${h.new_start},${h.new_len} @@${h.header ? ' ' + h.header : ''}`;
      entry.append(
        ...(files.length > 1 ? [el('span', 'ov-sealed-hit-path', filePath(f))] : []),
        el('span', 'ov-sealed-hit-header', where),
        el('span', 'ov-sealed-hit-count', `${m.count} match${m.count === 1 ? '' : 'es'}`)
      );
      entry.title = 'Go to this sealed hunk; opening it uses an audit';
      entry.addEventListener('click', () => {
        list.hidden = true;
        button.setAttribute('aria-expanded', 'false');
        this.act.gotoHunk(m.file, m.hunk);
      });
      list.append(entry);
    }
  }
}

/** Whether a display row shows the line of a search hit. */
export function holdsHit(r: Row, h: Hit): boolean {
  const is = (l: { file: number; hunk: number; idx: number } | null): boolean => !!l && l.file === h.file && l.hunk === h.hunk && l.idx === h.idx;
  return r.t === 'line' ? is(r) : r.t === 'pair' ? is(r.left) || is(r.right) : false;
}

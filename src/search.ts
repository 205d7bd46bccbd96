/**
 * Search within the diff. The view is virtualised (only the rows on screen exist), so the
 * browser's own find cannot see most of the diff: this searches the parsed lines themselves,
 * folded and collapsed ones included, and the view reveals and scrolls to each hit.
 */
import { Mark } from './highlight';
import { FileView } from './types';

/** One hit: the line (file, hunk, index in the hunk) and its character range. */
export interface Hit {
  file: number;
  hunk: number;
  idx: number;
  start: number;
  end: number;
}

/** More hits than this are counted as "limit+": a search for "e" must not stall the view. */
export const MAX_HITS = 10_000;

/** Case-insensitive hits of `query` in every line of every file, in diff order. */
export function findHits(files: FileView[], query: string, limit = MAX_HITS): Hit[] {
  const q = query.toLowerCase();
  const out: Hit[] = [];
  if (!q) {
    return out;
  }
  for (let fi = 0; fi < files.length; fi++) {
    const hunks = files[fi].hunks;
    for (let hi = 0; hi < hunks.length; hi++) {
      const lines = hunks[hi].lines;
      for (let k = 0; k < lines.length; k++) {
        const text = lines[k][3];
        if (text.length < q.length) {
          continue;
        }
        const low = text.toLowerCase();
        let at = low.indexOf(q);
        while (at >= 0) {
          out.push({ file: fi, hunk: hi, idx: k, start: at, end: at + q.length });
          if (out.length >= limit) {
            return out;
          }
          at = low.indexOf(q, at + q.length);
        }
      }
    }
  }
  return out;
}

/** Marks for the hits of `query` in one line; the current hit gets its own class. */
export function hitMarks(text: string, query: string, current: Hit | null, at: { file: number; hunk: number; idx: number }): Mark[] {
  if (!query) {
    return [];
  }
  const q = query.toLowerCase();
  const low = text.toLowerCase();
  const out: Mark[] = [];
  let i = low.indexOf(q);
  while (i >= 0) {
    const cur = current !== null && current.file === at.file && current.hunk === at.hunk && current.idx === at.idx && current.start === i;
    out.push([i, i + q.length, cur ? 'ov-hit ov-hit-current' : 'ov-hit']);
    i = low.indexOf(q, i + q.length);
  }
  return out;
}

/** The matches inside one hunk the rater has not opened in depth: where, and how many. */
export interface SealedMatches {
  file: number;
  hunk: number;
  count: number;
}

/**
 * Split `hits` under an audit budget: the hits a rater may go to (in hunks open to them, per
 * `isOpen`), and per sealed hunk only its match count, in diff order. The sealed ones say where
 * to spend an audit without showing a line of text; they carry nothing but positions, so no
 * ranking or suspicion data can enter through them (the order is the diff's in every condition).
 */
export function splitSealed(hits: Hit[], isOpen: (file: number, hunk: number) => boolean): { open: Hit[]; sealed: SealedMatches[] } {
  const open: Hit[] = [];
  const sealed: SealedMatches[] = [];
  for (const h of hits) {
    if (isOpen(h.file, h.hunk)) {
      open.push(h);
      continue;
    }
    const last = sealed[sealed.length - 1];
    if (last && last.file === h.file && last.hunk === h.hunk) {
      last.count += 1;
    } else {
      sealed.push({ file: h.file, hunk: h.hunk, count: 1 });
    }
  }
  return { open, sealed };
}

/** "3 matches in 2 sealed hunks" (empty for none). */
export function sealedSummary(sealed: SealedMatches[], capped = false): string {
  if (!sealed.length) {
    return '';
  }
  const n = sealed.reduce((s, m) => s + m.count, 0);
  const plus = capped ? '+' : '';
  return `${n}${plus} match${n === 1 && !capped ? '' : 'es'} in ${sealed.length} sealed hunk${sealed.length === 1 ? '' : 's'}`;
}

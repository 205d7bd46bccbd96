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

/**
 * Intraline word diff: which characters of a deleted line and of the added line that replaces
 * it differ, so that a one-word change (`and` -> `or`) stands out inside two long lines.
 *
 * Lines are split into words, runs of spaces and single punctuation marks; the longest common
 * subsequence of those tokens is kept, the rest marked. Lines with too many tokens for the
 * quadratic table fall back to trimming the common prefix and suffix, which still pins a
 * single change exactly and costs linear time.
 */

/** A half-open character range [start, end) of a line. */
export type Range = [number, number];

export interface WordDiff {
  old: Range[];
  new: Range[];
}

const TOKEN = /[A-Za-z0-9_]+|\s+|[^A-Za-z0-9_\s]/g;
/** Above this many table cells the LCS gives way to prefix/suffix trimming. */
const MAX_CELLS = 250_000;

function tokens(line: string): string[] {
  return line.match(TOKEN) ?? [];
}

/** Character ranges of the tokens whose flags are set, adjacent ranges merged. */
function ranges(toks: string[], changed: Uint8Array): Range[] {
  const out: Range[] = [];
  let pos = 0;
  toks.forEach((t, i) => {
    const end = pos + t.length;
    if (changed[i]) {
      const last = out[out.length - 1];
      if (last && last[1] === pos) {
        last[1] = end;
      } else {
        out.push([pos, end]);
      }
    }
    pos = end;
  });
  return out;
}

/** Mark, in `a` and `b`, the tokens outside a longest common subsequence. */
function lcsMarks(a: string[], b: string[], ca: Uint8Array, cb: Uint8Array): void {
  const n = a.length;
  const m = b.length;
  // table[i][j] = LCS length of a[i:] and b[j:], row-major in one typed array.
  const w = m + 1;
  const table = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i * w + j] = a[i] === b[j] ? table[(i + 1) * w + j + 1] + 1 : Math.max(table[(i + 1) * w + j], table[i * w + j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      i++;
      j++;
    } else if (table[(i + 1) * w + j] >= table[i * w + j + 1]) {
      ca[i++] = 1;
    } else {
      cb[j++] = 1;
    }
  }
  ca.fill(1, i);
  cb.fill(1, j);
}

/** The differing character ranges of an old line and the new line that replaced it. */
export function wordDiff(oldLine: string, newLine: string): WordDiff {
  if (oldLine === newLine) {
    return { old: [], new: [] };
  }
  const a = tokens(oldLine);
  const b = tokens(newLine);
  const ca = new Uint8Array(a.length);
  const cb = new Uint8Array(b.length);
  let lo = 0;
  while (lo < a.length && lo < b.length && a[lo] === b[lo]) {
    lo++;
  }
  let ha = a.length;
  let hb = b.length;
  while (ha > lo && hb > lo && a[ha - 1] === b[hb - 1]) {
    ha--;
    hb--;
  }
  const midA = a.slice(lo, ha);
  const midB = b.slice(lo, hb);
  if (midA.length * midB.length <= MAX_CELLS) {
    const ma = new Uint8Array(midA.length);
    const mb = new Uint8Array(midB.length);
    lcsMarks(midA, midB, ma, mb);
    ca.set(ma, lo);
    cb.set(mb, lo);
  } else {
    ca.fill(1, lo, ha);
    cb.fill(1, lo, hb);
  }
  return { old: ranges(a, ca), new: ranges(b, cb) };
}

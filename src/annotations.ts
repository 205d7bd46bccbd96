/**
 * The rater's annotations of the diff, as the draft keeps them: what they did with each AI
 * comment (keep / edit / reject, and why), and their own line flags. Plain changes to the
 * draft; the view saves the draft and redraws the rows after them.
 */
import { Draft } from './draft';
import { anchorKey } from './diffmodel';
import { Action, CommentView, LineFlag, Reason } from './types';

/** Record `action` on comment `c` (null: take it back); a reason or edit given before is kept. */
export function setDisposition(d: Draft, c: CommentView, action: Action | null): void {
  if (action === null) {
    delete d.dispositions[c.id];
    return;
  }
  const old = d.dispositions[c.id];
  d.dispositions[c.id] = {
    comment_id: c.id,
    action,
    reason: old?.reason ?? (action === 'keep' ? 'valid' : null),
    edited_text: action === 'edit' ? (old?.edited_text ?? c.text) : null
  };
}

/** Set why the rater did what they did with comment `c`; false (nothing set) when they did nothing yet. */
export function setReason(d: Draft, c: CommentView, reason: Reason | null): boolean {
  const disp = d.dispositions[c.id];
  if (!disp) {
    return false;
  }
  disp.reason = reason;
  return true;
}

/**
 * Shift-click on `line`: the flag `held` now covers the lines between its first line and this
 * one. Returns the flag's first line.
 */
export function extendFlag(held: LineFlag, line: number): number {
  const last = held.end_line ?? held.line;
  const lo = Math.min(held.line, line);
  const hi = Math.max(line < held.line ? last : held.line, line);
  held.line = lo;
  held.end_line = hi > lo ? hi : null;
  return lo;
}

/** The anchors (anchorKey) of every line a flag covers; `def` is the path of a flag without one. */
export function flaggedLines(flags: LineFlag[], def: string): Set<string> {
  return new Set(flags.flatMap(f => range(f.line, f.end_line ?? f.line).map(n => anchorKey(f.path || def, f.side, n))));
}

/** The anchors (anchorKey) of every line a critique comment covers. */
export function commentedLines(comments: CommentView[], def: string): Set<string> {
  return new Set(comments.flatMap(c => range(c.start_line, c.end_line).map(n => anchorKey(c.path || def, c.side, n))));
}

/** The numbers a..b, at most 501 of them (a range's marks stop there). */
function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= Math.min(b, a + 500); i++) {
    out.push(i);
  }
  return out;
}

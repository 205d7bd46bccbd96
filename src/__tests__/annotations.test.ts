/**
 * Unit tests of the review view's pure parts: the rater's annotations on the draft
 * (annotations.ts) and the keys (keys.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commentedLines, extendFlag, flaggedLines, setDisposition, setReason } from '../annotations';
import { anchorKey } from '../diffmodel';
import { freshDraft } from '../draft';
import { DEFAULT_KEYS, handleKey, KeyActions } from '../keys';
import { CommentView, Disposition, LineFlag } from '../types';

const comment: CommentView = { id: 'c1', path: 'a.py', side: 'new', start_line: 3, end_line: 4, text: 'off by one', severity: 'major', category: 'logic' };

test('a disposition keeps the reason and the edit given before; null takes it back', () => {
  const d = freshDraft('s:r:1', null);
  // Read through a function: assert.deepEqual narrows a property it was given.
  const disp = (): Disposition | undefined => d.dispositions.c1;
  setDisposition(d, comment, 'keep');
  assert.deepEqual(disp(), { comment_id: 'c1', action: 'keep', reason: 'valid', edited_text: null });
  assert.equal(setReason(d, comment, 'nitpick'), true);
  setDisposition(d, comment, 'edit');
  assert.deepEqual(disp(), { comment_id: 'c1', action: 'edit', reason: 'nitpick', edited_text: 'off by one' });
  (disp() as Disposition).edited_text = 'off by two';
  setDisposition(d, comment, 'edit');
  assert.equal(disp()?.edited_text, 'off by two');
  setDisposition(d, comment, 'reject');
  assert.deepEqual(disp(), { comment_id: 'c1', action: 'reject', reason: 'nitpick', edited_text: null });
  setDisposition(d, comment, null);
  assert.equal(disp(), undefined);
  assert.equal(setReason(d, comment, 'wrong'), false, 'no reason without a disposition');
  assert.deepEqual(d.dispositions, {});
});

test('shift-click stretches a flag from its first line, either way, and back to one line', () => {
  const flag: LineFlag = { path: 'a.py', side: 'new', line: 10, comment: '' };
  assert.equal(extendFlag(flag, 14), 10);
  assert.deepEqual([flag.line, flag.end_line], [10, 14]);
  assert.equal(extendFlag(flag, 7), 7);
  assert.deepEqual([flag.line, flag.end_line], [7, 14]);
  assert.equal(extendFlag(flag, 9), 7);
  assert.deepEqual([flag.line, flag.end_line], [7, 9]);
  extendFlag(flag, 7);
  assert.deepEqual([flag.line, flag.end_line], [7, null]);
});

test('flagged and commented lines are anchors of every covered line, capped at 501 a range', () => {
  const flags: LineFlag[] = [
    { path: '', side: 'old', line: 2, end_line: 3, comment: '' },
    { path: 'b.py', side: 'new', line: 1, end_line: 10_000, comment: '' }
  ];
  const marks = flaggedLines(flags, 'a.py');
  assert.ok(marks.has(anchorKey('a.py', 'old', 2)) && marks.has(anchorKey('a.py', 'old', 3)));
  assert.ok(!marks.has(anchorKey('a.py', 'old', 4)) && !marks.has(anchorKey('a.py', 'new', 2)));
  assert.ok(marks.has(anchorKey('b.py', 'new', 501)) && !marks.has(anchorKey('b.py', 'new', 502)));
  assert.equal(marks.size, 2 + 501);
  assert.deepEqual([...commentedLines([{ ...comment, path: '' }], 'z.py')], [anchorKey('z.py', 'new', 3), anchorKey('z.py', 'new', 4)]);
});

/** A key press on an element (`field`: inside a text field), and what it did. */
function press(key: string, mods: { ctrlKey?: boolean; shiftKey?: boolean } = {}, field = false, keys = DEFAULT_KEYS): string[] {
  const did: string[] = [];
  const ev = {
    key,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    ...mods,
    target: { closest: () => (field ? {} : null) },
    preventDefault: () => did.push('preventDefault'),
    stopPropagation: () => did.push('stopPropagation')
  };
  const names = ['submit', 'find', 'nextComment', 'prevComment', 'flagLine', 'toggleView', 'nextItem'] as const;
  const act = Object.fromEntries(names.map(n => [n, () => did.push(n)])) as unknown as KeyActions;
  handleKey(ev as unknown as KeyboardEvent, keys, act);
  return did;
}

test('single keys act outside text fields only; Ctrl+Enter and Ctrl+F act anywhere', () => {
  assert.deepEqual(press('j'), ['preventDefault', 'stopPropagation', 'nextComment']);
  assert.deepEqual(press('k'), ['preventDefault', 'stopPropagation', 'prevComment']);
  assert.deepEqual(press('f'), ['preventDefault', 'stopPropagation', 'flagLine']);
  assert.deepEqual(press('u'), ['preventDefault', 'stopPropagation', 'toggleView']);
  assert.deepEqual(press('n'), ['preventDefault', 'stopPropagation', 'nextItem']);
  assert.deepEqual(press('j', {}, true), [], 'typing in a text field');
  assert.deepEqual(press('x'), [], 'an unbound key passes through');
  assert.deepEqual(press('j', { ctrlKey: true }), [], 'a chord is not the single key');
  assert.deepEqual(press('Enter', { ctrlKey: true }, true), ['preventDefault', 'stopPropagation', 'submit']);
  assert.deepEqual(press('F', { ctrlKey: true, shiftKey: true }, true), ['preventDefault', 'stopPropagation', 'find']);
});

test('a configured key map replaces the default keys', () => {
  const keys = { ...DEFAULT_KEYS, nextComment: 'ArrowDown' };
  assert.deepEqual(press('ArrowDown', {}, false, keys), ['preventDefault', 'stopPropagation', 'nextComment']);
  assert.deepEqual(press('j', {}, false, keys), []);
});

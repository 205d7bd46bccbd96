/**
 * The audit budget's rows and the cannot-judge payload: a sealed hunk shows its header and first
 * changed line only; an opened one shows everything; a cannot-judge body carries no verdict.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRows, hunkKey } from '../diffmodel';
import { freshDraft, toCannotJudgePayload } from '../draft';
import { findHits, sealedSummary, splitSealed } from '../search';
import { DiffLineTuple, FileView, JudgmentPayload } from '../types';

function twoHunks(): FileView {
  const hunk = (start: number): DiffLineTuple[] => [
    ['context', start, start, 'a'],
    ['context', start + 1, start + 1, 'b'],
    ['del', start + 2, null, 'old'],
    ['add', null, start + 2, 'new'],
    ['context', start + 3, start + 3, 'c']
  ];
  return {
    old_path: 'a.py',
    new_path: 'a.py',
    status: 'modified',
    binary: false,
    added: 2,
    removed: 2,
    hunks: [
      { header: '', old_start: 1, old_len: 4, new_start: 1, new_len: 4, lines: hunk(1) },
      { header: '', old_start: 50, old_len: 4, new_start: 50, new_len: 4, lines: hunk(50) }
    ]
  };
}

const base = { context: 3, expanded: new Set<string>(), comments: [], flags: [] };

test('a sealed hunk shows its first changed line and a sealed row; an opened one shows all', () => {
  const opened = new Set([hunkKey(0, 1)]);
  const { rows } = buildRows([twoHunks()], { ...base, mode: 'unified', opened });
  const kinds = rows.map(r => (r.t === 'line' ? `${r.hunk}:${r.kind}:${r.idx}` : r.t));
  assert.deepEqual(kinds, ['file', 'hunk', '0:del:2', 'sealed', 'hunk', '1:context:0', '1:context:1', '1:del:2', '1:add:3', '1:context:4']);
  const sealed = rows[3];
  assert.ok(sealed.t === 'sealed' && sealed.hidden === 4 && sealed.file === 0 && sealed.hunk === 0);
  // No budget: nothing sealed.
  assert.equal(buildRows([twoHunks()], { ...base, mode: 'unified' }).rows.filter(r => r.t === 'sealed').length, 0);
  // Split view: the first changed line sits on its side of a pair.
  const split = buildRows([twoHunks()], { ...base, mode: 'split', opened: new Set<string>() }).rows;
  const pair = split[2];
  assert.ok(pair.t === 'pair' && pair.left?.kind === 'del' && pair.right === null);
});

test('a cannot-judge payload carries the reason and no verdict or confidence', () => {
  const d = freshDraft('s:r:1', null);
  d.verdict = 'buggy';
  d.confidence = 0.75;
  const body = toCannotJudgePayload(d, { reason: 'too_large' });
  assert.deepEqual(body.cannot_judge, { reason: 'too_large' });
  assert.ok(!('verdict' in body) && !('confidence' in body) && body.likert === null);
  assert.throws(() => toCannotJudgePayload(d, { reason: 'other', note: '  ' }), /say why/);
  assert.deepEqual(toCannotJudgePayload(d, { reason: 'other', note: ' no Rust ' }).cannot_judge, { reason: 'other', note: 'no Rust' });
});

test('a revision keeps the hunks its judgment opened in depth', () => {
  const prior = { submission_id: 'x', verdict: 'buggy', confidence: 0.75, flags: [], dispositions: [], likert: null, comment: '',
    attention: { spans: [], events: [[5, 'audit', 0, 1], [9, 'expand', 0, 1], [12, 'audit', 1, 0], [20, 'audit', 0, 1]] } } as unknown as JudgmentPayload;
  assert.deepEqual(freshDraft('s:r:1', prior).audits, ['0:1', '1:0']);
});

test('search under a budget: hits in sealed hunks are counted per hunk, in diff order, never returned as hits', () => {
  const f = twoHunks();
  f.hunks[0].lines[4] = ['context', 4, 4, 'needle needle'];
  f.hunks[1].lines[0] = ['context', 50, 50, 'needle'];
  const files = [f, { ...twoHunks(), new_path: 'b.py', old_path: 'b.py' }];
  files[1].hunks[1].lines[1] = ['context', 51, 51, 'a needle'];
  const all = findHits(files, 'NEEDLE');
  assert.equal(all.length, 4);
  const opened = new Set([hunkKey(0, 1)]);
  const { open, sealed } = splitSealed(all, (fi, hi) => opened.has(hunkKey(fi, hi)));
  assert.deepEqual(
    open.map(h => [h.file, h.hunk, h.idx]),
    [[0, 1, 0]]
  );
  assert.deepEqual(sealed, [
    { file: 0, hunk: 0, count: 2 },
    { file: 1, hunk: 1, count: 1 }
  ]);
  assert.equal(sealedSummary(sealed), '3 matches in 2 sealed hunks');
  assert.equal(sealedSummary([{ file: 0, hunk: 0, count: 1 }]), '1 match in 1 sealed hunk');
  assert.equal(sealedSummary(sealed, true), '3+ matches in 2 sealed hunks');
  assert.equal(sealedSummary([]), '');
  // without a budget every hunk is open: nothing is sealed
  assert.deepEqual(splitSealed(all, () => true), { open: all, sealed: [] });
});

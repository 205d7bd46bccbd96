/**
 * Unit tests of the attention record: which hunk lines a screen of rows shows, and how the
 * recorder turns what is on screen over time into compact spans and events.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttentionRecorder, emptyRecord, MAX_SPANS, segmentsOf } from '../attention';
import { buildRows } from '../diffmodel';
import { DiffLineTuple, FileView } from '../types';

function hunkFile(nHunks: number, linesPerHunk: number): FileView {
  const hunks = [];
  for (let h = 0; h < nHunks; h++) {
    const lines: DiffLineTuple[] = [];
    for (let i = 0; i < linesPerHunk; i++) {
      const n = h * 100 + i + 1;
      lines.push(i === linesPerHunk >> 1 ? ['add', null, n, `x = ${n}`] : ['context', n, n, `y = ${n}`]);
    }
    hunks.push({ header: '', old_start: h * 100 + 1, old_len: linesPerHunk - 1, new_start: h * 100 + 1, new_len: linesPerHunk, lines });
  }
  return { old_path: 'a.py', new_path: 'a.py', status: 'modified', binary: false, added: nHunks, removed: 0, hunks };
}

const opts = { mode: 'unified' as const, context: 3, expanded: new Set<string>(), comments: [], flags: [] };

test('segmentsOf gives runs of consecutive hunk lines, split where a fold hides lines', () => {
  const { rows } = buildRows([hunkFile(2, 21)], opts);
  // Each hunk: 21 lines, the change at 10; context 3 keeps 7..13 and folds 0..6 and 14..20.
  const all = segmentsOf(rows, 0, rows.length - 1);
  assert.deepEqual(all, [
    [0, 0, 7, 13],
    [0, 1, 7, 13]
  ]);
  const expanded = buildRows([hunkFile(2, 21)], { ...opts, expanded: new Set(rows.filter(r => r.t === 'fold').map(r => (r as { key: string }).key)) });
  assert.deepEqual(segmentsOf(expanded.rows, 0, expanded.rows.length - 1), [
    [0, 0, 0, 20],
    [0, 1, 0, 20]
  ]);
  // A window over the middle of the rows: only what it shows.
  const firstLine = expanded.rows.findIndex(r => r.t === 'line');
  assert.deepEqual(segmentsOf(expanded.rows, firstLine + 5, firstLine + 9), [[0, 0, 5, 9]]);
});

test('segmentsOf reads both sides of split-view pairs', () => {
  const lines: DiffLineTuple[] = [
    ['context', 1, 1, 'a'],
    ['del', 2, null, 'b'],
    ['add', null, 2, 'B'],
    ['context', 3, 3, 'c']
  ];
  const f = { ...hunkFile(1, 4), hunks: [{ header: '', old_start: 1, old_len: 3, new_start: 1, new_len: 3, lines }] };
  const { rows } = buildRows([f], { ...opts, mode: 'split' });
  assert.deepEqual(segmentsOf(rows, 0, rows.length - 1), [[0, 0, 0, 3]]);
});

test('the recorder writes spans when lines leave the screen, extends them at checkpoints, and stops cleanly', () => {
  let now = 10_000;
  const rec = new AttentionRecorder(emptyRecord(), 10_000, () => now);
  rec.see([[0, 0, 0, 9]]); // not started: nothing counts
  rec.start();
  rec.see([[0, 0, 0, 9]]);
  now += 1000;
  rec.see([[0, 0, 5, 14]]);
  now += 1500;
  rec.checkpoint();
  now += 500;
  rec.event('expand', 0, 0);
  rec.see([[0, 0, 5, 14]]); // unchanged: the span continues
  now += 1000;
  rec.stop();
  now += 5000;
  rec.see([[0, 3, 0, 1]]); // stopped: ignored
  rec.event('search', 0, 3);
  assert.deepEqual(rec.record, {
    spans: [
      [0, 1000, 0, 0, 0, 9],
      [1000, 4000, 0, 0, 5, 14]
    ],
    events: [[3000, 'expand', 0, 0]]
  });
});

test('the recorder stops adding at its span limit and says so', () => {
  let now = 0;
  const rec = new AttentionRecorder(emptyRecord(), 0, () => now);
  rec.start();
  for (let i = 0; i <= MAX_SPANS + 10; i++) {
    rec.see([[0, i, 0, 0]]);
    now += 5;
  }
  rec.stop();
  assert.equal(rec.record.spans.length, MAX_SPANS);
  assert.equal(rec.record.truncated, true);
});

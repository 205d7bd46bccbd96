/**
 * Unit tests of triage: hunks ranked by the assistant's suspicion, and "next most suspicious".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextSuspicious, rankHunks, scoreColour } from '../triage';
import { FileView } from '../types';

function withHunks(path: string, n: number): FileView {
  const hunks = Array.from({ length: n }, (_, i) => ({ header: '', old_start: 10 * i + 1, old_len: 1, new_start: 10 * i + 1, new_len: 1, lines: [] }));
  return { old_path: path, new_path: path, status: 'modified', binary: false, added: 0, removed: 0, hunks };
}

test('hunks rank by score across files, ties in diff order', () => {
  const files = [withHunks('a.py', 2), withHunks('b.py', 3)];
  const ranked = rankHunks(files, [0.1, 0.9, 0.5, 0.9, 0.0]);
  assert.deepEqual(
    ranked.map(r => [r.file, r.hunk, r.score]),
    [
      [0, 1, 0.9],
      [1, 1, 0.9],
      [1, 0, 0.5],
      [0, 0, 0.1],
      [1, 2, 0.0]
    ]
  );
});

test('next most suspicious follows the ranking from the hunk last visited, and wraps', () => {
  const ranked = rankHunks([withHunks('a.py', 3)], [0.2, 0.8, 0.5]);
  assert.deepEqual(nextSuspicious(ranked, null), { file: 0, hunk: 1, score: 0.8 });
  assert.deepEqual(nextSuspicious(ranked, { file: 0, hunk: 1 }), { file: 0, hunk: 2, score: 0.5 });
  assert.deepEqual(nextSuspicious(ranked, { file: 0, hunk: 0 }), { file: 0, hunk: 1, score: 0.8 });
  assert.equal(nextSuspicious([], null), null);
});

test('stronger suspicion is a redder, darker colour', () => {
  assert.equal(scoreColour(0), 'hsl(50, 90%, 85%)');
  assert.equal(scoreColour(1), 'hsl(0, 90%, 45%)');
  assert.equal(scoreColour(7), scoreColour(1));
});

/**
 * Unit tests of the pure parts of the review view: rows, folds, side-by-side pairing,
 * anchoring, row offsets, the tokenizer and the offline queue's retry rules.
 * Run with `jlpm test` (esbuild bundles them for node's built-in test runner).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRows, pairLines, rowAt, rowOffsets, LineRef } from '../diffmodel';
import { languageOf, tokenize } from '../highlight';
import { Outbox } from '../outbox';
import { CommentView, DiffLineTuple, FileView, JudgmentPayload } from '../types';

function file(lines: DiffLineTuple[], path = 'a.py'): FileView {
  return {
    old_path: path,
    new_path: path,
    status: 'modified',
    binary: false,
    added: lines.filter(l => l[0] === 'add').length,
    removed: lines.filter(l => l[0] === 'del').length,
    hunks: [{ header: 'def f():', old_start: 1, old_len: 0, new_start: 1, new_len: 0, lines }]
  };
}

/** n context lines with one change (del + add) at position `at`. */
function longHunk(n: number, at: number): DiffLineTuple[] {
  const out: DiffLineTuple[] = [];
  let o = 1;
  let nw = 1;
  for (let i = 0; i < n; i++) {
    if (i === at) {
      out.push(['del', o++, null, 'old']);
      out.push(['add', null, nw++, 'new']);
    } else {
      out.push(['context', o++, nw++, `line ${i}`]);
    }
  }
  return out;
}

const comment = (id: string, line: number, extra: Partial<CommentView> = {}): CommentView => ({
  id,
  path: 'a.py',
  side: 'new',
  start_line: line,
  end_line: line,
  text: `claim ${id}`,
  severity: 'major',
  category: 'bug',
  ...extra
});

const opts = { mode: 'unified' as const, context: 3, expanded: new Set<string>(), comments: [], flags: [] };

test('long unchanged runs fold around a change, keeping the context lines', () => {
  const { rows } = buildRows([file(longHunk(100, 50))], opts);
  const folds = rows.filter(r => r.t === 'fold');
  assert.equal(folds.length, 2);
  assert.deepEqual(
    folds.map(f => (f.t === 'fold' ? f.count : 0)),
    [47, 46]
  );
  const lines = rows.filter(r => r.t === 'line');
  assert.equal(lines.length, 3 + 2 + 3);
});

test('an expanded fold shows its lines', () => {
  const first = buildRows([file(longHunk(100, 50))], opts);
  const key = first.rows.find(r => r.t === 'fold')!;
  const expanded = buildRows([file(longHunk(100, 50))], { ...opts, expanded: new Set([(key as any).key]) });
  assert.equal(expanded.rows.filter(r => r.t === 'line').length, 8 + 47);
});

test('a comment pins its context line out of a fold and sits below it', () => {
  const { rows, commentRows } = buildRows([file(longHunk(100, 50))], { ...opts, comments: [comment('c1', 10)] });
  const at = commentRows[0];
  assert.ok(at > 0);
  const above = rows[at - 1];
  assert.equal(above.t, 'line');
  assert.equal((above as any).new, 10);
});

test('comments on lines the diff does not show become orphans at the top', () => {
  const { rows, commentRows } = buildRows([file(longHunk(10, 5))], { ...opts, comments: [comment('far', 500), comment('near', 6)] });
  assert.equal(rows[0].t, 'orphans');
  assert.deepEqual((rows[0] as any).comments, [0]);
  assert.equal(commentRows[0], 0);
  assert.ok(commentRows[1] > 0);
});

test('side by side pairs deletions with the additions that replace them', () => {
  const ref = (idx: number, kind: LineRef['kind'], old: number | null, nw: number | null, text: string): LineRef => ({ t: 'line', file: 0, hunk: 0, idx, kind, old, new: nw, text, mate: null });
  const refs: LineRef[] = [ref(0, 'context', 1, 1, 'a'), ref(1, 'del', 2, null, 'b'), ref(2, 'del', 3, null, 'c'), ref(3, 'add', null, 2, 'B'), ref(4, 'context', 4, 3, 'd')];
  const pairs = pairLines(refs);
  assert.equal(pairs.length, 4);
  assert.deepEqual(
    pairs.map(([l, r]) => [l?.text ?? null, r?.text ?? null]),
    [
      ['a', 'a'],
      ['b', 'B'],
      ['c', null],
      ['d', 'd']
    ]
  );
});

test('flags anchor like comments, on the old side too', () => {
  const { rows } = buildRows([file(longHunk(10, 5))], { ...opts, flags: [{ path: 'a.py', line: 6, side: 'old', comment: 'x' }] });
  const i = rows.findIndex(r => r.t === 'flag');
  assert.equal((rows[i - 1] as any).old, 6);
});

test('row offsets and rowAt agree for mixed row heights', () => {
  const { rows } = buildRows([file(longHunk(100, 50))], { ...opts, comments: [comment('c', 51)] });
  const off = rowOffsets(rows, 20);
  for (let i = 0; i < rows.length; i++) {
    assert.equal(rowAt(off, off[i]), i);
    assert.equal(rowAt(off, off[i + 1] - 0.5), i);
  }
  assert.equal(rowAt(off, 1e9), rows.length - 1);
});

test('100k lines build in well under a second', () => {
  const big = file(longHunk(100000, 99990).map(l => (l[0] === 'context' ? (['add', null, l[2], l[3]] as DiffLineTuple) : l)));
  const t0 = Date.now();
  const { rows } = buildRows([big], opts);
  assert.ok(rows.length > 100000);
  assert.ok(Date.now() - t0 < 5000);
});

test('tokens concatenate back to the line and colour keywords, strings, comments', () => {
  const py = languageOf('python');
  const line = 'def f(x): return "a#b" + 1  # done';
  const toks = tokenize(line, py);
  assert.equal(toks.map(t => t[1]).join(''), line);
  assert.deepEqual(
    toks.filter(t => t[0]).map(t => t),
    [
      ['tok-keyword', 'def'],
      ['tok-keyword', 'return'],
      ['tok-string', '"a#b"'],
      ['tok-number', '1'],
      ['tok-comment', '# done']
    ]
  );
  assert.equal(languageOf('', 'src/x.rs'), languageOf('rust'));
  assert.equal(languageOf('cobol', 'x.cob'), null);
  const rust = tokenize('let s = "unterminated', languageOf('rust'));
  assert.equal(rust.map(t => t[1]).join(''), 'let s = "unterminated');
});

function memory(): { getItem(k: string): string | null; setItem(k: string, v: string): void } {
  const m = new Map<string, string>();
  return { getItem: k => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v) };
}

const payload = (id: string): JudgmentPayload => ({
  submission_id: id,
  assignment_id: 'a1',
  verdict: 'buggy',
  confidence: 0.8,
  time_on_task_s: 3,
  flags: [],
  dispositions: [],
  likert: null,
  comment: '',
  supersedes: null,
  started_at: null,
  submitted_at: new Date().toISOString()
});

test('the outbox keeps a payload while the server is down and delivers it once it answers', async () => {
  let up = false;
  const sent: string[] = [];
  const store = memory();
  const box = new Outbox(
    async p => {
      if (!up) {
        throw new Error('connection refused');
      }
      sent.push(p.submission_id);
      return { status: 201, body: { created: true, judgment: p } };
    },
    store,
    'k'
  );
  const saved: string[] = [];
  box.listen({ saved: p => saved.push(p.submission_id) });
  await box.submit(payload('s1'));
  await box.submit(payload('s1'));
  assert.equal(box.pending().length, 1, 'the same submission id is queued once');
  assert.deepEqual(saved, []);
  up = true;
  await box.flush();
  assert.deepEqual(sent, ['s1']);
  assert.deepEqual(saved, ['s1']);
  assert.equal(box.pending().length, 0);
  assert.equal(store.getItem('k'), '[]');
});

test('the outbox drops a refused payload and reports the server error', async () => {
  const box = new Outbox(async () => ({ status: 400, body: { error: 'bad confidence', field: 'confidence' } }), memory(), 'k');
  const refused: string[] = [];
  box.listen({ refused: (_p, m) => refused.push(m) });
  await box.submit(payload('s2'));
  assert.deepEqual(refused, ['bad confidence (confidence)']);
  assert.equal(box.pending().length, 0);
});

test('the outbox retries on 5xx but not on 4xx', async () => {
  let calls = 0;
  const box = new Outbox(
    async () => {
      calls++;
      return { status: 503, body: {} };
    },
    memory(),
    'k'
  );
  const waiting: string[] = [];
  box.listen({ waiting: (_p, why) => waiting.push(why) });
  await box.submit(payload('s3'));
  assert.equal(calls, 1);
  assert.equal(box.pending().length, 1);
  assert.match(waiting[0], /503/);
  // stop the scheduled retry so the test process can exit
  clearTimeout((box as any).timer);
});

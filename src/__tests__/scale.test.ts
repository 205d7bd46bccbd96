/**
 * Unit tests of what keeps a large or long-lined diff whole on screen: wrapped row heights,
 * the intraline word diff, search hits, partial fold expansion, collapsed files, gutters.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRows, decodeHunk, decodeView, growOffsets, LazyHunk, leadOffsets, lineDigits, RowBuilder, rowOffsets, rowUnits, screenLines, textColumns, widestLine } from '../diffmodel';
import { markTokens, tokenize, languageOf } from '../highlight';
import { findHits, hitMarks } from '../search';
import { DiffLineTuple, FileView } from '../types';
import { wordDiff } from '../worddiff';

function file(lines: DiffLineTuple[], path = 'a.py'): FileView {
  return {
    old_path: path,
    new_path: path,
    status: 'modified',
    binary: false,
    added: lines.filter(l => l[0] === 'add').length,
    removed: lines.filter(l => l[0] === 'del').length,
    hunks: [{ header: '', old_start: 1, old_len: lines.length, new_start: 1, new_len: lines.length, lines }]
  };
}

const opts = { mode: 'unified' as const, context: 3, expanded: new Set<string>(), comments: [], flags: [] };
const PAD = 'x'.repeat(160);
const OLD = `ok = ${PAD} and ready(x)`;
const NEW = `ok = ${PAD} or ready(x)`;

test('the word diff marks exactly the changed word of a long line, on both sides', () => {
  const d = wordDiff(OLD, NEW);
  assert.deepEqual(d.old.map(([a, b]) => OLD.slice(a, b)), ['and']);
  assert.deepEqual(d.new.map(([a, b]) => NEW.slice(a, b)), ['or']);
  assert.ok(d.old[0][0] > 160, 'the change sits past column 160');
  assert.deepEqual(wordDiff('same', 'same'), { old: [], new: [] });
});

test('the word diff keeps common words between changes and handles lines too long for the table', () => {
  const d = wordDiff('a = f(x, y) + g(z)', 'a = h(x, y) + g(w)');
  assert.deepEqual(d.old.map(([a, b]) => 'a = f(x, y) + g(z)'.slice(a, b)), ['f', 'z']);
  const long = Array.from({ length: 2000 }, (_, i) => `w${i}`).join(' ');
  const big = wordDiff(long, long.replace('w1000', 'v1000'));
  assert.equal(big.new.length, 1);
  assert.equal(long.replace('w1000', 'v1000').slice(...big.new[0]).includes('v1000'), true);
});

test('marks split syntax tokens without losing or reordering text', () => {
  const toks = tokenize('if a and b: return 1', languageOf('python'));
  const marked = markTokens(toks, [[5, 8, 'ov-wd'], [6, 14, 'ov-hit']]);
  assert.equal(marked.map(t => t[1]).join(''), 'if a and b: return 1');
  const at = (s: string): string => marked.find(t => t[1] === s)?.[0] ?? '(none)';
  assert.equal(at('a'), 'tok-keyword ov-wd');
  assert.equal(at('nd'), 'tok-keyword ov-wd ov-hit');
});

test('wrapped lines take as many row units as their screen lines; tabs and wide characters count wider', () => {
  assert.equal(screenLines('', 80), 1);
  assert.equal(screenLines('x'.repeat(80), 80), 1);
  assert.equal(screenLines('x'.repeat(81), 80), 2);
  assert.equal(textColumns('\tx'), 5);
  assert.equal(textColumns('日本'), 4);
  assert.equal(screenLines('日'.repeat(40), 80), 2, 'wide lines leave a column of slack per screen line');
  const { rows } = buildRows([file([['del', 1, null, OLD], ['add', null, 1, NEW]])], opts);
  const wrap = { wrap: true, cols: 60, noteCols: 60 };
  const line = rows.find(r => r.t === 'line')!;
  assert.equal(rowUnits(line, wrap), Math.ceil(OLD.length / 60));
  assert.equal(rowUnits(line), 1, 'without wrapping every line is one row');
  const split = buildRows([file([['del', 1, null, 'short'], ['add', null, 1, NEW]])], { ...opts, mode: 'split' });
  const pair = split.rows.find(r => r.t === 'pair')!;
  assert.equal(rowUnits(pair, wrap), Math.ceil(NEW.length / 60), 'a pair is as tall as its taller side');
  const offsets = rowOffsets(rows, 20, wrap);
  assert.equal(offsets[rows.length], 20 * rows.reduce((n, r) => n + rowUnits(r, wrap), 0));
});

test('a comment card grows with its text, never below four units', () => {
  const comments = [{ text: 'short' }, { text: 'word '.repeat(200) }];
  const layout = { wrap: true, cols: 80, noteCols: 50 };
  assert.equal(rowUnits({ t: 'comment', comment: 0 }, layout, comments), 4);
  assert.ok(rowUnits({ t: 'comment', comment: 1 }, layout, comments) >= 2 + 20 * 0.9);
});

test('deletions and their additions are mates (the word diff pairs them) in both views', () => {
  for (const mode of ['unified', 'split'] as const) {
    const { rows } = buildRows([file([['context', 1, 1, 'a'], ['del', 2, null, OLD], ['add', null, 2, NEW]])], { ...opts, mode });
    const lines = rows.flatMap(r => (r.t === 'line' ? [r] : r.t === 'pair' ? [r.left, r.right] : [])).filter(l => l && l.kind === 'del');
    assert.equal(lines[0]!.mate!.text, NEW);
  }
});

test('search finds hits in folded lines, and pinning the hit keeps its line out of the fold', () => {
  const lines: DiffLineTuple[] = Array.from({ length: 100 }, (_, i) => ['context', i + 1, i + 1, `line ${i}`] as DiffLineTuple);
  lines[90] = ['add', null, 91, 'needle here'];
  lines.push(['context', 101, 101, 'Needle again']);
  const f = [file(lines)];
  const hits = findHits(f, 'NEEDLE');
  assert.deepEqual(
    hits.map(h => [h.idx, h.start]),
    [
      [90, 0],
      [100, 0]
    ]
  );
  const withHit = buildRows(f, { ...opts, pin: { file: 0, hunk: 0, idx: 40 } });
  assert.ok(withHit.rows.some(r => r.t === 'line' && r.idx === 40));
  assert.ok(!buildRows(f, opts).rows.some(r => r.t === 'line' && r.idx === 40));
  assert.equal(findHits(f, 'line', 7).length, 7, 'the hit count stops at its limit');
  assert.deepEqual(hitMarks('a needle, a NEEDLE', 'needle', { ...hits[0], start: 2, end: 8 }, { file: 0, hunk: 0, idx: 90 }), [
    [2, 8, 'ov-hit ov-hit-current'],
    [12, 18, 'ov-hit']
  ]);
});

test('a fold reveals lines a step at a time from its top or bottom, then disappears', () => {
  const lines: DiffLineTuple[] = Array.from({ length: 100 }, (_, i) => ['context', i + 1, i + 1, `l${i}`] as DiffLineTuple);
  lines[50] = ['add', null, 51, 'new'];
  const f = [file(lines)];
  const first = buildRows(f, opts).rows.filter(r => r.t === 'fold');
  assert.deepEqual(
    first.map(r => (r.t === 'fold' ? [r.count, r.up, r.down] : [])),
    [
      [47, false, true],
      [46, true, false]
    ]
  );
  const key = (first[0] as { key: string }).key;
  const shown = (revealed: Map<string, [number, number]>): number[] =>
    buildRows(f, { ...opts, revealed })
      .rows.filter(r => r.t === 'line')
      .map(r => (r.t === 'line' ? r.idx : -1));
  const up = shown(new Map([[key, [0, 20]]]));
  assert.ok(up.includes(27) && !up.includes(26), 'the bottom 20 lines of the first fold are shown');
  const all = buildRows(f, { ...opts, revealed: new Map([[key, [30, 20]]]) });
  assert.equal(all.rows.filter(r => r.t === 'fold').length, 1, 'a fold revealed whole is gone');
});

test('a collapsed file keeps only its header; every row knows its file for the sticky header', () => {
  const f = [file([['add', null, 1, 'a']], 'one.py'), file([['add', null, 1, 'b']], 'two.py')];
  const m = buildRows(f, { ...opts, collapsed: new Set([0]) });
  assert.deepEqual(
    m.rows.map(r => r.t),
    ['file', 'file', 'hunk', 'line']
  );
  assert.deepEqual([...m.rowFile], [0, 1, 1, 1]);
  assert.deepEqual(m.fileRows, [0, 1]);
  const withOrphan = buildRows(f, { ...opts, comments: [{ id: 'c', path: 'one.py', side: 'new', start_line: 99, end_line: 99, text: 't', severity: 'minor', category: 'bug' }] });
  assert.equal(withOrphan.rows[0].t, 'orphans');
  assert.equal(withOrphan.rowFile[0], -1);
  assert.deepEqual(withOrphan.fileRows, [1, 4]);
});

test('the line-number gutter fits the largest line number; the widest line sets the scroll width', () => {
  const f = file([['context', 99998, 123456, 'x'.repeat(10)], ['add', null, 123457, '\t'.repeat(3) + 'y']]);
  f.hunks[0].old_start = 99998;
  f.hunks[0].new_start = 123456;
  f.hunks[0].old_len = 1;
  f.hunks[0].new_len = 2;
  assert.equal(lineDigits([f]), 6);
  assert.equal(widestLine([f]), 13);
});

test('comment cards reserve two head lines in a narrow view, where the actions wrap', () => {
  const comments = [{ text: 'x'.repeat(200) }];
  const wide = rowUnits({ t: 'comment', comment: 0 }, { wrap: true, cols: 120, noteCols: 100 }, comments);
  const narrow = rowUnits({ t: 'comment', comment: 0 }, { wrap: true, cols: 40, noteCols: 40 }, comments);
  assert.ok(narrow >= 3 + Math.ceil(5 * 0.9), `narrow card: ${narrow} units`);
  assert.ok(wide < narrow);
});

test('a "correct" verdict beside kept serious AI comments is a contradiction to confirm', async () => {
  const { contradictions } = await import('../draft');
  const comments = [
    { id: 'a', severity: 'critical' },
    { id: 'b', severity: 'minor' },
    { id: 'c', severity: 'major' }
  ];
  const disp = (id: string, action: 'keep' | 'edit' | 'reject') => ({ comment_id: id, action, reason: null, edited_text: null });
  const d: any = { verdict: 'correct', likert: null, dispositions: { a: disp('a', 'keep'), b: disp('b', 'keep'), c: disp('c', 'reject') } };
  assert.deepEqual(contradictions(d, comments, 'binary'), ['a']);
  d.dispositions.c = disp('c', 'edit');
  assert.deepEqual(contradictions(d, comments, 'binary'), ['a', 'c']);
  assert.deepEqual(contradictions({ ...d, verdict: 'buggy' }, comments, 'binary'), []);
  assert.deepEqual(contradictions({ ...d, likert: 2 }, comments, 'likert'), ['a', 'c']);
  assert.deepEqual(contradictions({ ...d, likert: 5 }, comments, 'likert'), []);
});

test('the wire format decodes to the numbered lines the parser made, meta and empty lines included', () => {
  // What oversight_ext.review.diffcache.files_view sends for: " a", "-b", "\\ No newline", "+b", "+", "\\ No newline".
  const wire = { header: 'def f():', old_start: 7, old_len: 2, new_start: 9, new_len: 3, kinds: ' -\\++\\', text: 'a\nb\n No newline at end of file\nb\n\n No newline at end of file' };
  assert.deepEqual(decodeHunk(wire).lines, [
    ['context', 7, 9, 'a'],
    ['del', 8, null, 'b'],
    ['meta', null, null, ' No newline at end of file'],
    ['add', null, 10, 'b'],
    ['add', null, 11, ''],
    ['meta', null, null, ' No newline at end of file']
  ]);
  assert.deepEqual(decodeHunk({ ...wire, kinds: '', text: '' }).lines, []);
  assert.deepEqual(decodeHunk({ ...wire, kinds: '+', text: '' }).lines, [['add', null, 9, '']]);
  // A view already decoded (or from an older server) passes through unchanged.
  const f = file([['add', null, 1, 'x']]);
  const view = { assignment: {} as never, item: {} as never, critique: null, judgment: null, files: [f] };
  assert.equal(decodeView(view).files[0], f);
  const decoded = decodeView({ ...view, files: [{ ...f, hunks: [wire] }] });
  assert.equal(decoded.files[0].hunks[0].lines.length, 6);
  assert.equal(decoded.files[0].new_path, 'a.py');
});

test('a rebuild reuses the line objects of each hunk; another view gets its own', () => {
  const files = [file([['context', 1, 1, 'a'], ['del', 2, null, 'b'], ['add', null, 2, 'c']])];
  const first = buildRows(files, opts).rows.filter(r => r.t === 'line');
  const again = buildRows(files, { ...opts, context: 0 }).rows.filter(r => r.t === 'line');
  assert.equal(first.length, 3);
  assert.ok(again.every(r => first.includes(r)));
  const del = first.find(r => r.t === 'line' && r.kind === 'del');
  assert.ok(del && del.t === 'line' && del.mate && del.mate.kind === 'add');
  const other = buildRows([{ ...files[0], hunks: files[0].hunks.map(h => ({ ...h })) }], opts).rows.filter(r => r.t === 'line');
  assert.ok(other.every(r => !first.includes(r)));
});

/** A wire file of `hunks` hunks of `n` lines each (two changed lines a hunk, the rest context). */
function wireFile(path: string, hunks: number, n: number): any {
  const kinds = ' '.repeat(n - 2) + '-+';
  const text = Array.from({ length: n }, (_, i) => `${path} line ${i}`).join('\n');
  return {
    old_path: path,
    new_path: path,
    status: 'modified',
    binary: false,
    added: hunks,
    removed: hunks,
    hunks: Array.from({ length: hunks }, (_, k) => ({ header: '', old_start: 1 + k * 1000, old_len: n - 1, new_start: 1 + k * 1000, new_len: n - 1, kinds, text }))
  };
}

test('wire hunks decode only when their lines are read: opening a view and sizing its gutter decode none', () => {
  const view = { assignment: {} as never, item: {} as never, critique: null, judgment: null, files: [wireFile('a.py', 3, 50), wireFile('b.py', 2, 50)] };
  const v = decodeView(view);
  const hunks = v.files.flatMap(f => f.hunks) as LazyHunk[];
  assert.ok(hunks.every(h => h instanceof LazyHunk && !h.decodedYet));
  // The last new line of the last hunk of a.py: 2001 + 48 lines on the new side - 1.
  assert.equal(lineDigits(v.files), 4);
  assert.deepEqual(hunks[2].lastNumbers(), [2049, 2049]);
  assert.ok(hunks.every(h => !h.decodedYet), 'the gutter is sized without decoding');
  assert.equal(hunks[0].lines.length, 50);
  assert.ok(hunks[0].decodedYet && !hunks[1].decodedYet);
  assert.deepEqual(hunks[0].lastNumbers(), [49, 49]);
  assert.deepEqual(hunks[0].lines[49], ['add', null, 49, 'a.py line 49']);
});

test('a view builds its first screens first: a rest row stands for the others; comments on later files wait, true orphans do not', () => {
  const view = { assignment: {} as never, item: {} as never, critique: null, judgment: null, files: ['a.py', 'b.py', 'c.py'].map(p => wireFile(p, 4, 300)) };
  const files = decodeView(view).files;
  const c = (id: string, path: string, line: number): any => ({ id, path, side: 'new', start_line: line, end_line: line, text: id, severity: 'minor', category: 'bug' });
  const comments = [c('early', 'a.py', 299), c('late', 'c.py', 3299), c('nowhere', 'zzz.py', 5)];
  const o = { ...opts, comments };
  const b = new RowBuilder(files, o);
  assert.equal(b.step(600), false);
  const part = b.partial();
  const last = part.rows[part.rows.length - 1];
  assert.equal(last.t, 'rest');
  // Two hunks of a.py built: the rest is two hunks of a.py and all of b.py and c.py.
  assert.deepEqual(last, { t: 'rest', lines: 10 * 300, hunks: 10, files: 2 });
  assert.ok(!(files[2].hunks[0] as LazyHunk).decodedYet, 'the files not built yet stay undecoded');
  assert.deepEqual(part.rows[0], { t: 'orphans', comments: [2] });
  assert.ok(part.commentRows[0] > 0 && part.commentRows[1] === -1 && part.commentRows[2] === 0);
  // The rest row is as tall as its lines, hunk headers and file headers.
  const off = rowOffsets(part.rows, 10);
  assert.equal(off[part.rows.length] - off[part.rows.length - 1], (3000 + 10 + 1.5 * 2) * 10);
  // Finished, the model is the one built at once, row for row.
  const whole = b.finish();
  const once = buildRows(files, o);
  assert.deepEqual(whole.rows.map(r => r.t), once.rows.map(r => r.t));
  assert.deepEqual(whole.commentRows, once.commentRows);
  assert.deepEqual([...whole.rowFile], [...once.rowFile]);
  assert.deepEqual(whole.fileRows, once.fileRows);
  assert.ok(whole.commentRows[1] > 0 && whole.rows.every(r => r.t !== 'rest'));
  // The rows built first keep their places behind the orphans row.
  assert.deepEqual(part.rows.slice(0, -1).map(r => r.t), whole.rows.slice(0, part.rows.length - 1).map(r => r.t));
});

test('row offsets grown slice by slice while rows are built equal those of the whole model, orphans row in front included', () => {
  const view = { assignment: {} as never, item: {} as never, critique: null, judgment: null, files: ['a.py', 'b.py', 'c.py'].map(p => wireFile(p, 4, 300)) };
  const files = decodeView(view).files;
  const c = (id: string, path: string, line: number): any => ({ id, path, side: 'new', start_line: line, end_line: line, text: id.repeat(90), severity: 'minor', category: 'bug' });
  const comments = [c('early', 'a.py', 299), c('late', 'c.py', 3299), c('nowhere', 'zzz.py', 5)];
  const layout = { wrap: true, cols: 12, noteCols: 40 };
  for (const mode of ['unified', 'split'] as const) {
    const b = new RowBuilder(files, { ...opts, mode, comments });
    let off = new Float64Array(4);
    let n = 0;
    while (!b.step(250)) {
      off = growOffsets(off, n, b.built, 20, layout, comments);
      n = b.built.length;
    }
    off = growOffsets(off, n, b.built, 20, layout, comments);
    n = b.built.length;
    const whole = b.finish();
    assert.equal(whole.rows[0].t, 'orphans');
    const lead = rowUnits(whole.rows[0], layout, comments) * 20;
    const got = leadOffsets(off, n, lead);
    const want = rowOffsets(whole.rows, 20, layout, comments);
    assert.equal(got.length, want.length);
    assert.ok(got.every((x, i) => Math.abs(x - want[i]) < 1e-6), mode);
    assert.deepEqual([...leadOffsets(off, n, null)], [...want.slice(1)].map(x => x - lead));
  }
});

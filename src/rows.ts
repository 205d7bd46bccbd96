/**
 * Rendering of one display row: file and hunk headers, diff lines (unified or side by side),
 * folds, the critique's comments with keep / edit / reject, and the rater's own line flags.
 *
 * Every piece of data (code, paths, claims, task text) goes in through textContent or a
 * form control's value, never innerHTML, so a payload in any field stays inert text.
 */
import { Draft } from './draft';
import { filePath, hunkKey, LineRef, Row } from './diffmodel';
import { languageOf, Mark, renderCode } from './highlight';
import { Hit, hitMarks } from './search';
import { Action, CommentView, FileView, Reason, Side } from './types';
import { wordDiff } from './worddiff';

export interface RowContext {
  files: FileView[];
  language: string;
  mode: 'unified' | 'split';
  comments: CommentView[];
  draft: Draft;
  activeComment: number;
  focus: { path: string; side: Side; line: number } | null;
  flagged: Set<string>;
  commented: Set<string>;
  /** The search text (empty for none) and the hit the rater is on. */
  query: string;
  hit: Hit | null;
  collapsed: Set<number>;
  /** Paths the rater marked as viewed. */
  viewed: Set<string>;
  toggleCollapsed(file: number): void;
  toggleViewed(file: number): void;
  /** Reveal `n` more lines of a fold from its top (`down`) or bottom (`up`), or all (n = Infinity). */
  reveal(key: string, where: 'down' | 'up', n: number): void;
  /** Flag a line; with `extend`, stretch the focused flag to this line instead (shift-click). */
  flagLine(path: string, side: Side, line: number, extend?: boolean): void;
  focusLine(path: string, side: Side, line: number): void;
  expand(key: string): void;
  dispose(comment: number, action: Action | null): void;
  setReason(comment: number, reason: Reason | null): void;
  setEditText(comment: number, text: string): void;
  setFlagText(flag: number, text: string): void;
  setFlagField(flag: number, field: 'severity' | 'category', value: string | null): void;
  removeFlag(flag: number): void;
  /**
   * Under an audit budget: audits left, opening a sealed hunk in depth, and the search matches
   * inside each sealed hunk (by `file:hunk`; counts only). Null: no budget.
   */
  audit: { left: number; open(file: number, hunk: number): void; matches?: Map<string, number> } | null;
}

export const REASONS: Reason[] = ['valid', 'nitpick', 'wrong'];
const ACTIONS: Array<[Action, string]> = [
  ['keep', 'Keep'],
  ['edit', 'Edit'],
  ['reject', 'Reject']
];

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls = '', text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) {
    e.className = cls;
  }
  if (text !== undefined) {
    e.textContent = text;
  }
  return e;
}

function lineNo(ctx: RowContext, path: string, side: Side, n: number | null): HTMLElement {
  const cell = el('span', 'ov-ln', n === null ? '' : String(n));
  if (n !== null) {
    cell.dataset.side = side;
    cell.dataset.line = String(n);
    cell.title = 'Flag this line and comment on it (Shift+click: extend the last flag to this line)';
    cell.addEventListener('click', ev => {
      ev.stopPropagation();
      ctx.flagLine(path, side, n, ev.shiftKey);
    });
  }
  return cell;
}

/** The side a line is anchored on: its new number if it has one, else its old. */
function sideOf(l: LineRef): [Side, number] {
  return l.new !== null ? ['new', l.new] : ['old', l.old as number];
}

const wordDiffs = new WeakMap<LineRef, Mark[]>();

/** The changed words of a deleted or added line against its mate (cached per line object). */
function wordMarks(l: LineRef): Mark[] {
  if (!l.mate || (l.kind !== 'add' && l.kind !== 'del')) {
    return [];
  }
  let marks = wordDiffs.get(l);
  if (!marks) {
    const [del, add] = l.kind === 'del' ? [l, l.mate] : [l.mate, l];
    const d = wordDiff(del.text, add.text);
    const cls = l.kind === 'del' ? 'ov-wd ov-wd-del' : 'ov-wd ov-wd-add';
    marks = (l.kind === 'del' ? d.old : d.new).map(([a, b]): Mark => [a, b, cls]);
    wordDiffs.set(l, marks);
  }
  return marks;
}

function codeCell(ctx: RowContext, l: LineRef | null, cls: string): HTMLElement {
  const code = el('span', `${cls} ov-${l ? l.kind : 'empty'}`);
  if (l) {
    const f = ctx.files[l.file];
    const marks = [...wordMarks(l), ...hitMarks(l.text, ctx.query, ctx.hit, l)];
    renderCode(code, l.text, l.kind === 'meta' ? null : languageOf(ctx.language, filePath(f)), marks);
  }
  return code;
}

function marks(ctx: RowContext, row: HTMLElement, path: string, l: LineRef | null): void {
  if (!l) {
    return;
  }
  const [side, n] = sideOf(l);
  const key = `${path}\u0000${side}\u0000${n}`;
  if (ctx.flagged.has(key)) {
    row.classList.add('ov-flagged');
  }
  if (ctx.commented.has(key)) {
    row.classList.add('ov-commented');
  }
  if (ctx.focus && ctx.focus.path === path && ctx.focus.side === side && ctx.focus.line === n) {
    row.classList.add('ov-focus');
  }
  row.addEventListener('click', () => {
    ctx.focusLine(path, side, n);
    row.classList.add('ov-focus');
  });
}

function renderLine(ctx: RowContext, l: LineRef): HTMLElement {
  const path = filePath(ctx.files[l.file]);
  const row = el('div', `ov-row ov-line ov-${l.kind}`);
  const sign = l.kind === 'add' ? '+' : l.kind === 'del' ? '-' : ' ';
  row.append(lineNo(ctx, path, 'old', l.old), lineNo(ctx, path, 'new', l.new), el('span', 'ov-sign', sign), codeCell(ctx, l, 'ov-code'));
  marks(ctx, row, path, l);
  return row;
}

function renderPair(ctx: RowContext, left: LineRef | null, right: LineRef | null): HTMLElement {
  const any = (left ?? right) as LineRef;
  const path = filePath(ctx.files[any.file]);
  const row = el('div', 'ov-row ov-pair');
  const l = left && left.kind !== 'add' ? left : null;
  const r = right && right.kind !== 'del' ? right : null;
  row.append(lineNo(ctx, path, 'old', l ? l.old : null), codeCell(ctx, l, 'ov-code ov-left'));
  row.append(lineNo(ctx, path, 'new', r ? r.new : null), codeCell(ctx, r, 'ov-code ov-right'));
  marks(ctx, row, path, r ?? l);
  return row;
}

export function renderFile(ctx: RowContext, index: number): HTMLElement {
  const f = ctx.files[index];
  const row = el('div', 'ov-row ov-filehead');
  row.dataset.file = String(index);
  const collapsed = ctx.collapsed.has(index);
  const toggle = el('button', 'ov-btn ov-collapse', collapsed ? '▸' : '▾');
  toggle.type = 'button';
  toggle.title = collapsed ? 'Show this file' : 'Collapse this file';
  toggle.setAttribute('aria-expanded', String(!collapsed));
  toggle.addEventListener('click', ev => {
    ev.stopPropagation();
    ctx.toggleCollapsed(index);
  });
  row.append(toggle);
  row.append(el('span', `ov-fstatus ov-fstatus-${f.status}`, f.status));
  const name = f.status === 'renamed' ? `${f.old_path} → ${f.new_path}` : filePath(f);
  row.append(el('span', 'ov-path', name));
  row.append(el('span', 'ov-added', `+${f.added}`), el('span', 'ov-removed', `−${f.removed}`));
  if (f.binary) {
    row.append(el('span', 'ov-binary', 'binary file: contents not shown'));
  }
  row.append(viewedBox(ctx, index));
  return row;
}

/** The "Viewed" checkbox of a file: checking it also collapses the file. */
export function viewedBox(ctx: RowContext, index: number): HTMLElement {
  const label = el('label', 'ov-viewed');
  const box = el('input');
  box.type = 'checkbox';
  box.checked = ctx.viewed.has(filePath(ctx.files[index]));
  box.addEventListener('click', ev => ev.stopPropagation());
  box.addEventListener('change', () => ctx.toggleViewed(index));
  label.append(box, document.createTextNode('Viewed'));
  label.addEventListener('click', ev => ev.stopPropagation());
  return label;
}

/** The card of one critique comment: the claim, its lines, and the rater's disposition. */
export function renderComment(ctx: RowContext, index: number, compact = false): HTMLElement {
  const c = ctx.comments[index];
  const disp = ctx.draft.dispositions[c.id];
  const card = el('div', `ov-row ov-comment${compact ? ' ov-compact' : ''}`);
  card.dataset.commentId = c.id;
  card.dataset.comment = String(index);
  if (index === ctx.activeComment) {
    card.classList.add('ov-active');
  }
  if (disp) {
    card.classList.add(`ov-disp-${disp.action}`);
  }
  const head = el('div', 'ov-comment-head');
  const lines = c.start_line === c.end_line ? `line ${c.start_line}` : `lines ${c.start_line}–${c.end_line}`;
  head.append(
    el('span', 'ov-ai-badge', 'AI'),
    el('span', `ov-sev ov-sev-${c.severity}`, c.severity),
    el('span', 'ov-cat', c.category),
    el('span', 'ov-where', `${c.path || ''} ${lines}${c.side === 'old' ? ' (old)' : ''}`.trim())
  );
  const actions = el('span', 'ov-actions');
  const locked = ctx.draft.submitted;
  for (const [action, label] of ACTIONS) {
    const b = el('button', `ov-btn ov-act ov-act-${action}`, label);
    b.type = 'button';
    b.disabled = locked;
    b.dataset.action = action;
    b.setAttribute('aria-pressed', String(disp?.action === action));
    b.addEventListener('click', ev => {
      ev.stopPropagation();
      ctx.dispose(index, disp?.action === action ? null : action);
    });
    actions.append(b);
  }
  const reason = el('select', 'ov-reason');
  reason.title = 'Why';
  reason.append(new Option('reason…', ''));
  for (const r of REASONS) {
    reason.append(new Option(r, r));
  }
  reason.value = disp?.reason ?? '';
  reason.disabled = !disp || locked;
  reason.addEventListener('change', () => ctx.setReason(index, (reason.value || null) as Reason | null));
  actions.append(reason);
  head.append(actions);
  card.append(head);
  if (disp?.action === 'edit') {
    const ta = el('textarea', 'ov-edit-text');
    ta.value = disp.edited_text ?? c.text;
    ta.readOnly = locked;
    ta.setAttribute('aria-label', 'Edited comment');
    ta.addEventListener('input', () => ctx.setEditText(index, ta.value));
    card.append(ta);
  } else {
    card.append(el('div', 'ov-claim', c.text));
  }
  return card;
}

/** A flag's severity (the critique comments' scale) and the categories the panel offers. */
const FLAG_SEVERITIES = ['critical', 'major', 'minor', 'info'] as const;
const FLAG_CATEGORIES = ['bug', 'security', 'performance', 'style', 'other'] as const;

function renderFlag(ctx: RowContext, index: number): HTMLElement {
  const f = ctx.draft.flags[index];
  const row = el('div', 'ov-row ov-flag');
  row.dataset.flag = String(index);
  const head = el('div', 'ov-flag-head');
  const lines = f.end_line && f.end_line > f.line ? `lines ${f.line}–${f.end_line}` : `line ${f.line}`;
  head.append(el('span', 'ov-flag-badge', '⚑ Your comment'), el('span', 'ov-where', `${f.path} ${lines}${f.side === 'old' ? ' (old)' : ''}`));
  for (const [field, label, options] of [
    ['severity', 'Severity', FLAG_SEVERITIES],
    ['category', 'Category', FLAG_CATEGORIES]
  ] as const) {
    const pick = el('select', `ov-flag-${field}`);
    pick.setAttribute('aria-label', label);
    pick.disabled = ctx.draft.submitted;
    for (const value of ['', ...options]) {
      const o = el('option', undefined, value || `${label}…`);
      o.value = value;
      pick.append(o);
    }
    pick.value = f[field] ?? '';
    pick.addEventListener('change', () => ctx.setFlagField(index, field, pick.value || null));
    head.append(pick);
  }
  const rm = el('button', 'ov-btn ov-flag-remove', 'Remove');
  rm.type = 'button';
  rm.disabled = ctx.draft.submitted;
  rm.addEventListener('click', () => ctx.removeFlag(index));
  head.append(rm);
  const ta = el('textarea', 'ov-flag-text');
  ta.value = f.comment;
  ta.readOnly = ctx.draft.submitted;
  ta.placeholder = 'What is wrong here?';
  ta.setAttribute('aria-label', `Comment on line ${f.line}`);
  ta.addEventListener('input', () => ctx.setFlagText(index, ta.value));
  row.append(head, ta);
  return row;
}

export function renderRow(ctx: RowContext, row: Row): HTMLElement {
  switch (row.t) {
    case 'file':
      return renderFile(ctx, row.file);
    case 'hunk': {
      const h = ctx.files[row.file].hunks[row.hunk];
      const range = `@@ -${h.old_start},${h.old_len} +${h.new_start},${h.new_len} @@`;
      const head = el('div', 'ov-row ov-hunk', h.header ? `${range} ${h.header}` : range);
      head.dataset.file = String(row.file);
      head.dataset.hunk = String(row.hunk);
      return head;
    }
    case 'line':
      return renderLine(ctx, row);
    case 'pair':
      return renderPair(ctx, row.left, row.right);
    case 'fold':
      return renderFold(ctx, row);
    case 'comment':
      return renderComment(ctx, row.comment);
    case 'flag':
      return renderFlag(ctx, row.flag);
    case 'sealed':
      return renderSealed(ctx, row);
    case 'rest': {
      const n = row.files ? `${row.files} more file${row.files === 1 ? '' : 's'}` : `${row.lines} more lines`;
      return el('div', 'ov-row ov-rest', `Loading ${n}…`);
    }
    case 'orphans': {
      const box = el('div', 'ov-row ov-orphans');
      box.append(el('div', 'ov-orphans-head', 'AI comments on lines outside the diff'));
      for (const i of row.comments) {
        box.append(renderComment(ctx, i, true));
      }
      return box;
    }
  }
}

const STEP = 20;

/** The rest of a hunk not opened in depth: open it (one audit), or say that none are left. */
function renderSealed(ctx: RowContext, row: Extract<Row, { t: 'sealed' }>): HTMLElement {
  const box = el('div', 'ov-row ov-sealed');
  box.dataset.file = String(row.file);
  box.dataset.hunk = String(row.hunk);
  box.append(el('span', 'ov-sealed-text', `${row.hidden} more line${row.hidden === 1 ? '' : 's'} of this hunk`));
  const audit = ctx.audit;
  const matches = audit?.matches?.get(hunkKey(row.file, row.hunk)) ?? 0;
  if (matches) {
    box.append(el('span', 'ov-sealed-matches', `${matches} search match${matches === 1 ? '' : 'es'} inside`));
  }
  if (audit && audit.left > 0 && !ctx.draft.submitted) {
    const b = el('button', 'ov-btn ov-audit-open', `Open in depth (uses 1 of ${audit.left} audit${audit.left === 1 ? '' : 's'} left)`);
    b.type = 'button';
    b.addEventListener('click', () => audit.open(row.file, row.hunk));
    box.append(b);
  } else {
    box.append(el('span', 'ov-audit-none', 'No audits left: this hunk cannot be opened'));
  }
  return box;
}

/** A fold: show it all, or (when longer than a step) a step more from its top or bottom. */
function renderFold(ctx: RowContext, row: Extract<Row, { t: 'fold' }>): HTMLElement {
  const box = el('div', 'ov-row ov-foldrow');
  const all = el('button', 'ov-fold', `⋯ show ${row.count} unchanged lines`);
  all.type = 'button';
  all.dataset.fold = row.key;
  all.addEventListener('click', () => ctx.expand(row.key));
  box.append(all);
  if (row.count > STEP) {
    for (const [where, label, show] of [
      ['down', `↓ ${STEP} more`, row.up],
      ['up', `↑ ${STEP} more`, row.down]
    ] as const) {
      if (show) {
        const b = el('button', `ov-fold-step ov-fold-${where}`, label);
        b.type = 'button';
        b.title = where === 'down' ? 'Show more lines below the code above' : 'Show more lines above the code below';
        b.addEventListener('click', () => ctx.reveal(row.key, where, STEP));
        box.append(b);
      }
    }
  }
  return box;
}

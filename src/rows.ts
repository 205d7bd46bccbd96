/**
 * Rendering of one display row: file and hunk headers, diff lines (unified or side by side),
 * folds, the critique's comments with keep / edit / reject, and the rater's own line flags.
 *
 * Every piece of data (code, paths, claims, task text) goes in through textContent or a
 * form control's value, never innerHTML, so a payload in any field stays inert text.
 */
import { Draft } from './draft';
import { filePath, LineRef, Row } from './diffmodel';
import { languageOf, renderCode } from './highlight';
import { Action, CommentView, FileView, Reason, Side } from './types';

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
  flagLine(path: string, side: Side, line: number): void;
  focusLine(path: string, side: Side, line: number): void;
  expand(key: string): void;
  dispose(comment: number, action: Action | null): void;
  setReason(comment: number, reason: Reason | null): void;
  setEditText(comment: number, text: string): void;
  setFlagText(flag: number, text: string): void;
  removeFlag(flag: number): void;
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
    cell.title = 'Flag this line and comment on it';
    cell.addEventListener('click', ev => {
      ev.stopPropagation();
      ctx.flagLine(path, side, n);
    });
  }
  return cell;
}

/** The side a line is anchored on: its new number if it has one, else its old. */
function sideOf(l: LineRef): [Side, number] {
  return l.new !== null ? ['new', l.new] : ['old', l.old as number];
}

function codeCell(ctx: RowContext, l: LineRef | null, cls: string): HTMLElement {
  const code = el('span', `${cls} ov-${l ? l.kind : 'empty'}`);
  if (l) {
    const f = ctx.files[l.file];
    renderCode(code, l.text, l.kind === 'meta' ? null : languageOf(ctx.language, filePath(f)));
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

function renderFile(ctx: RowContext, index: number): HTMLElement {
  const f = ctx.files[index];
  const row = el('div', 'ov-row ov-filehead');
  row.dataset.file = String(index);
  row.append(el('span', `ov-fstatus ov-fstatus-${f.status}`, f.status));
  const name = f.status === 'renamed' ? `${f.old_path} → ${f.new_path}` : filePath(f);
  row.append(el('span', 'ov-path', name));
  row.append(el('span', 'ov-added', `+${f.added}`), el('span', 'ov-removed', `−${f.removed}`));
  if (f.binary) {
    row.append(el('span', 'ov-binary', 'binary file: contents not shown'));
  }
  return row;
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
  for (const [action, label] of ACTIONS) {
    const b = el('button', `ov-btn ov-act ov-act-${action}`, label);
    b.type = 'button';
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
  reason.disabled = !disp;
  reason.addEventListener('change', () => ctx.setReason(index, (reason.value || null) as Reason | null));
  actions.append(reason);
  head.append(actions);
  card.append(head);
  if (disp?.action === 'edit') {
    const ta = el('textarea', 'ov-edit-text');
    ta.value = disp.edited_text ?? c.text;
    ta.setAttribute('aria-label', 'Edited comment');
    ta.addEventListener('input', () => ctx.setEditText(index, ta.value));
    card.append(ta);
  } else {
    card.append(el('div', 'ov-claim', c.text));
  }
  return card;
}

function renderFlag(ctx: RowContext, index: number): HTMLElement {
  const f = ctx.draft.flags[index];
  const row = el('div', 'ov-row ov-flag');
  row.dataset.flag = String(index);
  const head = el('div', 'ov-flag-head');
  head.append(el('span', 'ov-flag-badge', '⚑ Your comment'), el('span', 'ov-where', `${f.path} line ${f.line}${f.side === 'old' ? ' (old)' : ''}`));
  const rm = el('button', 'ov-btn ov-flag-remove', 'Remove');
  rm.type = 'button';
  rm.addEventListener('click', () => ctx.removeFlag(index));
  head.append(rm);
  const ta = el('textarea', 'ov-flag-text');
  ta.value = f.comment;
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
      return el('div', 'ov-row ov-hunk', h.header ? `${range} ${h.header}` : range);
    }
    case 'line':
      return renderLine(ctx, row);
    case 'pair':
      return renderPair(ctx, row.left, row.right);
    case 'fold': {
      const b = el('button', 'ov-row ov-fold', `⋯ show ${row.count} unchanged lines`);
      b.type = 'button';
      b.dataset.fold = row.key;
      b.addEventListener('click', () => ctx.expand(row.key));
      return b;
    }
    case 'comment':
      return renderComment(ctx, row.comment);
    case 'flag':
      return renderFlag(ctx, row.flag);
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

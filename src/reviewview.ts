/**
 * The review view shared by the JupyterLab panel and the notebook widget: task statement,
 * critique, virtualised diff with anchored comments and flags, and the judgment form.
 *
 * It owns the draft and talks to its back end only through a ReviewTransport, so both hosts
 * record through the same code and obey the same blinding (the view shows only what the
 * server sent, and the server sends no critique in the unassisted condition).
 */
import { ActiveClock, Draft, dropDraft, freshDraft, loadDraft, missingFields, saveDraft, toPayload } from './draft';
import { anchorKey, buildRows, filePath, RowModel, rowOffsets } from './diffmodel';
import { JudgmentForm, StatusKind } from './form';
import { el, renderRow, RowContext } from './rows';
import { Action, CommentView, DEFAULT_OPTIONS, ItemView, Reason, ReviewOptions, ReviewTransport, Side } from './types';
import { VirtualList } from './virtual';

/** Keys the view answers to (Ctrl/Cmd+Enter always submits). Configurable in the settings. */
export interface KeyMap {
  nextComment: string;
  prevComment: string;
  flagLine: string;
  toggleView: string;
  nextItem: string;
}

export const DEFAULT_KEYS: KeyMap = { nextComment: 'j', prevComment: 'k', flagLine: 'f', toggleView: 'u', nextItem: 'n' };

export class ReviewView {
  readonly node = el('div', 'ov-review');
  private header = el('div', 'ov-header');
  private toolbar = el('div', 'ov-toolbar');
  private list = new VirtualList();
  private form: JudgmentForm;
  private view: ItemView | null = null;
  private draft: Draft | null = null;
  private model: RowModel = { rows: [], commentRows: [] };
  private expanded = new Set<string>();
  private activeComment = -1;
  private focus: { path: string; side: Side; line: number } | null = null;
  private clock: ActiveClock;
  private timeUp = false;
  private progressText = '';
  private keys: KeyMap = { ...DEFAULT_KEYS };
  private ctx: RowContext | null = null;

  constructor(
    private transport: ReviewTransport,
    private options: ReviewOptions = { ...DEFAULT_OPTIONS }
  ) {
    this.form = new JudgmentForm({ changed: () => this.changed(), submit: () => void this.submit(), next: () => void this.next() });
    this.node.tabIndex = 0;
    // Keys typed here are the view's own: stop JupyterLab (e.g. notebook command mode) taking them.
    this.node.setAttribute('data-lm-suppress-shortcuts', 'true');
    this.node.addEventListener('keydown', ev => this.onKey(ev));
    this.list.node.classList.add('ov-diff');
    this.node.append(this.header, this.toolbar, this.list.node, this.form.node);
    this.clock = new ActiveClock(s => this.tick(s));
    this.node.style.setProperty('--ov-row-height', `${options.rowHeight}px`);
    this.showEmpty('Loading…');
  }

  get currentView(): ItemView | null {
    return this.view;
  }

  setKeys(keys: Partial<KeyMap>): void {
    this.keys = { ...this.keys, ...keys };
  }

  setOptions(options: Partial<ReviewOptions>): void {
    this.options = { ...this.options, ...options };
    this.node.style.setProperty('--ov-row-height', `${this.options.rowHeight}px`);
    if (this.view) {
      this.renderToolbar();
      this.rebuild();
    }
  }

  setProgress(done: number, total: number): void {
    this.progressText = total ? `${done} of ${total} done` : '';
    const p = this.node.querySelector('.ov-progress');
    if (p) {
      p.textContent = this.progressText;
    }
  }

  /** Show an item (or, with null, the end of the queue). Restores a stored draft of it. */
  setView(view: ItemView | null, emptyText = 'Your queue is done. Thank you!'): void {
    this.clock.stop();
    this.view = view && view.assignment ? view : null;
    this.expanded.clear();
    this.activeComment = -1;
    this.focus = null;
    this.timeUp = false;
    if (!this.view) {
      this.draft = null;
      this.showEmpty(emptyText);
      return;
    }
    const a = this.view.assignment;
    const prior = this.view.judgment;
    let stored = loadDraft(a.id);
    if (stored && prior && prior.submission_id === stored.submission_id) {
      // The server holds the submission this draft was waiting for: it is done.
      dropDraft(a.id);
      stored = null;
    }
    this.draft = stored ?? freshDraft(a.id, prior);
    this.renderHeader();
    this.renderToolbar();
    this.form.bind(this.draft, a.verdict_scale);
    this.form.setSubmitLabel(prior ? 'Submit revision' : 'Submit');
    if (this.draft.submitted) {
      this.form.setStatus('queued', 'Waiting for the server to confirm…');
    } else if (prior && !stored) {
      this.form.setStatus('saved', 'Saved ✓ (you can revise and resubmit)');
    } else {
      this.form.setStatus('idle', stored ? 'Draft restored' : '');
    }
    this.rebuild();
    this.list.node.scrollTop = 0;
    this.updateCountdown();
    if (!this.draft.submitted) {
      this.clock.start();
    }
  }

  /** The server stored a submission (perhaps one the offline queue delivered late). */
  confirm(submissionId: string): void {
    if (this.draft && this.draft.submission_id === submissionId) {
      this.clock.stop();
      dropDraft(this.draft.assignment_id);
      this.form.setStatus('saved', 'Saved ✓');
      this.form.setLocked(true);
    } else {
      dropDraftBySubmission(submissionId);
    }
  }

  /** The server refused a submission: unlock the form so the rater can fix and resend it. */
  refuse(submissionId: string, message: string): void {
    if (this.draft && this.draft.submission_id === submissionId) {
      this.draft.submitted = false;
      saveDraft(this.draft);
      this.form.setLocked(false);
      this.form.setStatus('error', `Not saved: ${message}`);
      this.clock.start();
    }
  }

  setStatus(kind: StatusKind, text: string): void {
    this.form.setStatus(kind, text);
  }

  dispose(): void {
    this.clock.stop();
  }

  // ------------------------------------------------------------------ actions

  async submit(): Promise<void> {
    const d = this.draft;
    const v = this.view;
    if (!d || !v || d.submitted) {
      return;
    }
    const scale = v.assignment.verdict_scale;
    const missing = missingFields(d, scale);
    if (missing.length) {
      this.form.setStatus('error', `Choose ${missing.join(' and ')} before submitting`);
      return;
    }
    // Lock first, synchronously: a second click finds the draft already submitted.
    this.clock.sync();
    this.clock.stop();
    d.submitted = true;
    const payload = toPayload(d, scale);
    saveDraft(d);
    this.form.setLocked(true);
    this.form.setStatus('sending', 'Saving…');
    let outcome;
    try {
      outcome = await this.transport.submit(payload);
    } catch (err) {
      outcome = { state: 'error' as const, message: (err as Error).message || String(err) };
    }
    if (outcome.state === 'saved') {
      this.confirm(payload.submission_id);
    } else if (outcome.state === 'queued') {
      this.form.setStatus('queued', 'Offline: kept in this browser, will be sent when the server answers');
    } else {
      this.refuse(payload.submission_id, outcome.message);
    }
  }

  async next(): Promise<void> {
    if (this.draft && this.draft.submitted && this.form.statusKind !== 'saved') {
      return; // leave only once the server confirmed, so the rater sees any refusal
    }
    await this.transport.next();
  }

  /** Move to the next (+1) or previous (-1) critique comment and scroll it into view. */
  jumpComment(step: number): void {
    const n = this.comments().length;
    if (!n) {
      return;
    }
    this.activeComment = this.activeComment < 0 ? (step > 0 ? 0 : n - 1) : (this.activeComment + step + n) % n;
    const c = this.comments()[this.activeComment];
    this.focus = { path: c.path || this.defaultPath(), side: c.side, line: c.end_line };
    this.refreshRows();
    const row = this.model.commentRows[this.activeComment];
    if (row >= 0) {
      this.list.scrollToRow(row);
    }
    this.renderCommentNav();
  }

  /** Flag the focused line (the last clicked line, or the active comment's line). */
  flagFocused(): void {
    if (this.focus) {
      this.flagLine(this.focus.path, this.focus.side, this.focus.line);
    }
  }

  toggleMode(): void {
    this.setOptions({ diffView: this.options.diffView === 'unified' ? 'split' : 'unified' });
  }

  // ------------------------------------------------------------------ internals

  private comments(): CommentView[] {
    return this.view?.critique?.comments ?? [];
  }

  private defaultPath(): string {
    return this.view && this.view.files.length ? filePath(this.view.files[0]) : '';
  }

  private changed(): void {
    if (this.draft && !this.draft.submitted) {
      saveDraft(this.draft);
      if (this.form.statusKind !== 'sending') {
        this.form.setStatus('idle', 'Draft kept in this browser');
      }
      if (this.timeUp) {
        void this.submit();
      }
    }
  }

  private tick(seconds: number): void {
    if (!this.draft || this.draft.submitted) {
      return;
    }
    this.draft.active_s += seconds;
    saveDraft(this.draft);
    this.updateCountdown();
  }

  private updateCountdown(): void {
    const limit = this.view?.assignment.time_limit_s;
    if (!limit || !this.draft) {
      this.form.countdown.textContent = '';
      return;
    }
    const left = Math.max(0, limit - this.draft.active_s);
    const m = Math.floor(left / 60);
    const s = Math.floor(left % 60);
    this.form.countdown.textContent = `⏱ ${m}:${String(s).padStart(2, '0')} left`;
    this.form.countdown.classList.toggle('ov-urgent', left < 30);
    if (left <= 0 && !this.timeUp && !this.draft.submitted) {
      this.timeUp = true;
      const missing = missingFields(this.draft, this.view!.assignment.verdict_scale);
      if (missing.length) {
        // A judgment needs a verdict and a confidence; it goes out the moment they are chosen.
        this.form.setStatus('error', `Time is up: choose ${missing.join(' and ')} to submit`);
      } else {
        void this.submit();
      }
    }
  }

  private flagLine(path: string, side: Side, line: number): void {
    const d = this.draft;
    if (!d || d.submitted) {
      return;
    }
    let index = d.flags.findIndex(f => f.path === path && f.side === side && f.line === line);
    if (index < 0) {
      d.flags.push({ path, side, line, comment: '' });
      index = d.flags.length - 1;
      this.changed();
      this.rebuild();
    }
    this.focus = { path, side, line };
    const ta = this.list.node.querySelector<HTMLTextAreaElement>(`[data-flag="${index}"] textarea`);
    ta?.focus({ preventScroll: true });
  }

  private context(): RowContext {
    const d = this.draft as Draft;
    const v = this.view as ItemView;
    const def = this.defaultPath();
    return {
      files: v.files,
      language: v.item.language,
      mode: this.options.diffView,
      comments: this.comments(),
      draft: d,
      activeComment: this.activeComment,
      focus: this.focus,
      flagged: new Set(d.flags.map(f => anchorKey(f.path || def, f.side, f.line))),
      commented: new Set(this.comments().flatMap(c => range(c.start_line, c.end_line).map(n => anchorKey(c.path || def, c.side, n)))),
      flagLine: (p, s, n) => this.flagLine(p, s, n),
      focusLine: (p, s, n) => {
        this.focus = { path: p, side: s, line: n };
        if (this.ctx) {
          this.ctx.focus = this.focus;
        }
        for (const r of this.list.node.querySelectorAll('.ov-focus')) {
          r.classList.remove('ov-focus');
        }
      },
      expand: key => {
        this.expanded.add(key);
        this.rebuild();
      },
      dispose: (i, action) => this.setDisposition(i, action),
      setReason: (i, reason) => this.setReason(i, reason),
      setEditText: (i, text) => {
        const disp = d.dispositions[this.comments()[i].id];
        if (disp) {
          disp.edited_text = text;
          this.changed();
        }
      },
      setFlagText: (i, text) => {
        d.flags[i].comment = text;
        this.changed();
      },
      removeFlag: i => {
        d.flags.splice(i, 1);
        this.changed();
        this.rebuild();
      }
    };
  }

  private setDisposition(index: number, action: Action | null): void {
    const d = this.draft;
    if (!d || d.submitted) {
      return;
    }
    const c = this.comments()[index];
    if (action === null) {
      delete d.dispositions[c.id];
    } else {
      const old = d.dispositions[c.id];
      d.dispositions[c.id] = {
        comment_id: c.id,
        action,
        reason: old?.reason ?? (action === 'keep' ? 'valid' : null),
        edited_text: action === 'edit' ? (old?.edited_text ?? c.text) : null
      };
    }
    this.changed();
    this.refreshRows();
    this.renderCommentNav();
  }

  private setReason(index: number, reason: Reason | null): void {
    const d = this.draft;
    const c = this.comments()[index];
    if (d && !d.submitted && d.dispositions[c.id]) {
      d.dispositions[c.id].reason = reason;
      this.changed();
    }
  }

  private rebuild(): void {
    const v = this.view;
    const d = this.draft;
    if (!v || !d) {
      return;
    }
    this.model = buildRows(v.files, {
      mode: this.options.diffView,
      context: this.options.contextLines,
      expanded: this.expanded,
      comments: this.comments(),
      flags: d.flags
    });
    this.ctx = this.context();
    const rows = this.model.rows;
    this.list.node.classList.toggle('ov-split', this.options.diffView === 'split');
    this.list.setSource({
      count: rows.length,
      offsets: rowOffsets(rows, this.options.rowHeight),
      render: i => renderRow(this.ctx as RowContext, rows[i])
    });
  }

  /** Re-render the visible rows with fresh state (active comment, dispositions), same rows. */
  private refreshRows(): void {
    this.ctx = this.context();
    this.list.refresh();
  }

  private showEmpty(text: string): void {
    this.header.replaceChildren(el('div', 'ov-empty', text));
    this.toolbar.replaceChildren();
    this.list.setSource({ count: 0, offsets: new Float64Array(1), render: () => el('div') });
    this.form.node.hidden = true;
  }

  private renderHeader(): void {
    const v = this.view as ItemView;
    this.form.node.hidden = false;
    const top = el('div', 'ov-title');
    top.append(el('span', 'ov-study', `${v.assignment.study} · item ${v.assignment.position + 1}`), el('span', 'ov-progress', this.progressText));
    const task = el('div', 'ov-task');
    task.append(el('div', 'ov-label', 'Task'), el('div', 'ov-task-text', v.item.task || '(no task statement)'));
    if (v.item.spec && v.item.spec !== v.item.task) {
      task.append(el('div', 'ov-spec', v.item.spec));
    }
    this.header.replaceChildren(top, task);
    const c = v.critique;
    if (c) {
      const box = el('div', 'ov-critique');
      const verdict = c.verdict === 'buggy' ? 'has a bug' : c.verdict === 'correct' ? 'looks correct' : 'no verdict';
      const conf = c.confidence === null ? '' : ` (${Math.round(c.confidence * 100)}% confident)`;
      box.append(el('span', 'ov-ai-badge', 'AI'), el('span', 'ov-ai-verdict', `The assistant says: ${verdict}${conf}`));
      if (c.summary) {
        box.append(el('div', 'ov-ai-summary', c.summary));
      }
      this.header.append(box);
    }
  }

  private renderToolbar(): void {
    const v = this.view as ItemView;
    const mode = el('span', 'ov-seg');
    for (const [value, label] of [
      ['unified', 'Unified'],
      ['split', 'Side by side']
    ] as const) {
      const b = el('button', 'ov-btn ov-mode', label);
      b.type = 'button';
      b.dataset.mode = value;
      b.setAttribute('aria-pressed', String(this.options.diffView === value));
      b.addEventListener('click', () => this.setOptions({ diffView: value }));
      mode.append(b);
    }
    const files = el('span', 'ov-files');
    if (v.files.length > 1) {
      v.files.forEach((f, i) => {
        const b = el('button', 'ov-btn ov-file', `${filePath(f)} +${f.added} −${f.removed}`);
        b.type = 'button';
        b.addEventListener('click', () => {
          const row = this.model.rows.findIndex(r => r.t === 'file' && r.file === i);
          this.list.scrollToRow(row);
        });
        files.append(b);
      });
    }
    const nav = el('span', 'ov-comment-nav');
    this.toolbar.replaceChildren(mode, nav, files);
    this.renderCommentNav();
  }

  private renderCommentNav(): void {
    const nav = this.toolbar.querySelector('.ov-comment-nav');
    const n = this.comments().length;
    if (!nav) {
      return;
    }
    nav.replaceChildren();
    if (!n) {
      return;
    }
    const prev = el('button', 'ov-btn ov-prev-comment', '◀');
    prev.type = 'button';
    prev.title = `Previous comment (${this.keys.prevComment})`;
    prev.addEventListener('click', () => this.jumpComment(-1));
    const next = el('button', 'ov-btn ov-next-comment', '▶');
    next.type = 'button';
    next.title = `Next comment (${this.keys.nextComment})`;
    next.addEventListener('click', () => this.jumpComment(1));
    const done = Object.keys(this.draft?.dispositions ?? {}).length;
    const where = this.activeComment < 0 ? `${n} AI comments` : `comment ${this.activeComment + 1} of ${n}`;
    nav.append(prev, el('span', 'ov-nav-text', `${where} · ${done} answered`), next);
  }

  private onKey(ev: KeyboardEvent): void {
    if ((ev.ctrlKey || ev.metaKey) && ev.key === 'Enter') {
      ev.preventDefault();
      ev.stopPropagation();
      void this.submit();
      return;
    }
    const t = ev.target as HTMLElement;
    if (ev.ctrlKey || ev.metaKey || ev.altKey || t.closest('textarea, input, select')) {
      return;
    }
    const k = this.keys;
    const actions: Record<string, () => void> = {
      [k.nextComment]: () => this.jumpComment(1),
      [k.prevComment]: () => this.jumpComment(-1),
      [k.flagLine]: () => this.flagFocused(),
      [k.toggleView]: () => this.toggleMode(),
      [k.nextItem]: () => void this.next()
    };
    const act = actions[ev.key];
    if (act) {
      ev.preventDefault();
      ev.stopPropagation();
      act();
    }
  }
}

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= Math.min(b, a + 500); i++) {
    out.push(i);
  }
  return out;
}

/** Forget the draft that waited for `submissionId`, whichever assignment it belongs to. */
function dropDraftBySubmission(submissionId: string): void {
  try {
    for (let i = 0; i < window.localStorage.length; i++) {
      const key = window.localStorage.key(i) ?? '';
      if (key.startsWith('oversight-ext:draft:')) {
        const d = JSON.parse(window.localStorage.getItem(key) || 'null') as Draft | null;
        if (d && d.submission_id === submissionId) {
          window.localStorage.removeItem(key);
          return;
        }
      }
    }
  } catch {
    // storage unavailable: nothing to forget
  }
}

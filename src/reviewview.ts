/**
 * The review view shared by the JupyterLab panel and the notebook widget: task statement,
 * critique, virtualised diff with anchored comments and flags, and the judgment form.
 *
 * It owns the draft and talks to its back end only through a ReviewTransport, so both hosts
 * record through the same code and obey the same blinding (the view shows only what the
 * server sent, and the server sends no critique in the unassisted condition).
 */
import { AttentionRecorder, emptyRecord, segmentsOf } from './attention';
import { Triage } from './triage';
import { ActiveClock, contradictions, Draft, dropDraft, freshDraft, loadDraft, missingFields, saveDraft, toCannotJudgePayload, toPayload } from './draft';
import { anchorKey, decodeView, filePath, growOffsets, hunkKey, Layout, leadOffsets, lineDigits, Row, RowBuilder, RowModel, rowOffsets, rowUnits, widestLine } from './diffmodel';
import { JudgmentForm, StatusKind } from './form';
import { el, renderFile, renderRow, RowContext, viewedBox } from './rows';
import { renderMarkdown } from './markdown';
import { findHits, Hit, MAX_HITS, SealedMatches, sealedSummary, splitSealed } from './search';
import { Action, CannotJudge, CommentView, DEFAULT_OPTIONS, ItemView, JudgmentPayload, LineFlag, Reason, ReviewOptions, ReviewTransport, Side, WireItemView } from './types';
import { VirtualList } from './virtual';

/** File-list entries built before the first paint; the rest follow in slices of FILE_LIST_SLICE. */
const FILE_LIST_FIRST = 200;
const FILE_LIST_SLICE = 250;
/**
 * Diff lines whose rows are built before the first paint when a view opens (a few screens);
 * the rest are built after it in idle slices of ROW_SLICE_MS, or at once when the rater needs
 * them (scrolls past them, jumps, searches, folds).
 */
const FIRST_ROW_LINES = 600;
const ROW_SLICE_MS = 12;

/** Run `fn` when the page is idle (or soon, where requestIdleCallback is missing). */
function later(fn: () => void): void {
  if (typeof window.requestIdleCallback === 'function') {
    window.requestIdleCallback(fn, { timeout: 1000 });
  } else {
    window.setTimeout(fn, 16);
  }
}

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
  private body = el('div', 'ov-body');
  private fileList = el('div', 'ov-files');
  private sticky = el('div', 'ov-sticky');
  private stickyFile = -1;
  /** Bumped by each render of the file list: its slices still to come check they are current. */
  private fileListJob = 0;
  private form: JudgmentForm;
  private view: ItemView | null = null;
  private draft: Draft | null = null;
  private model: RowModel = { rows: [], commentRows: [], rowFile: new Int32Array(0), fileRows: [] };
  private offsets = new Float64Array(1);
  private expanded = new Set<string>();
  private revealed = new Map<string, [number, number]>();
  private collapsed = new Set<number>();
  /** Hunks opened in depth under the audit budget (the draft keeps them). */
  private opened = new Set<string>();
  private auditCounter = el('span', 'ov-audits');
  private query = '';
  private hits: Hit[] = [];
  /** Under an audit budget: per sealed hunk, how many matches it holds (never their text). */
  private sealedHits: SealedMatches[] = [];
  private hitsCapped = false;
  private hitIndex = -1;
  private pin: { file: number; hunk: number; idx: number } | null = null;
  private layout: Layout = { wrap: true, cols: 80, noteCols: 80 };
  private charPx = 0;
  private activeComment = -1;
  private focus: { path: string; side: Side; line: number } | null = null;
  private clock: ActiveClock;
  private attention: AttentionRecorder | null = null;
  /** The suspicion minimap and ranked hunks: only when the view carries hunk scores (assisted). */
  private triage: Triage | null = null;
  private triageSlot = el('div', 'ov-triage');
  private rankedOpen = false;
  private timeUp = false;
  private progressText = '';
  private keys: KeyMap = { ...DEFAULT_KEYS };
  private ctx: RowContext | null = null;
  /** The rows still being built after the first paint (null when the model is whole), and its job number. */
  private builder: RowBuilder | null = null;
  private rowJob = 0;
  /** Offsets of the rows the builder has built so far, for `layout`: the whole model's come ready. */
  private grown: { offsets: Float64Array; n: number; layout: Layout } | null = null;

  constructor(
    private transport: ReviewTransport,
    private options: ReviewOptions = { ...DEFAULT_OPTIONS }
  ) {
    this.form = new JudgmentForm({
      changed: () => this.changed(),
      submit: () => void this.submit(),
      cannotJudge: why => void this.submitCannotJudge(why),
      next: () => void this.next()
    });
    this.node.tabIndex = 0;
    // Keys typed here are the view's own: stop JupyterLab (e.g. notebook command mode) taking them.
    this.node.setAttribute('data-lm-suppress-shortcuts', 'true');
    this.node.addEventListener('keydown', ev => this.onKey(ev));
    this.list.node.classList.add('ov-diff');
    const wrap = el('div', 'ov-diffwrap');
    this.sticky.hidden = true;
    wrap.append(this.list.node, this.sticky);
    this.fileList.hidden = true;
    this.triageSlot.hidden = true;
    this.body.append(this.fileList, wrap, this.triageSlot);
    this.node.append(this.header, this.toolbar, this.body, this.form.node);
    this.list.onTop = row => this.updateSticky(row);
    this.list.onView = (first, last) => {
      this.attention?.see(segmentsOf(this.model.rows, first, last));
      const total = this.offsets[this.offsets.length - 1] || 1;
      this.triage?.showViewport(this.offsets[first] / total, this.offsets[last + 1] / total);
    };
    if (typeof ResizeObserver !== 'undefined') {
      new ResizeObserver(() => this.relayout()).observe(this.list.node);
    }
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
  setView(view: ItemView | WireItemView | null, emptyText = 'Your queue is done. Thank you!'): void {
    this.clock.stop();
    this.attention?.stop();
    this.attention = null;
    this.builder = null; // the rows another view was still building
    this.rowJob++;
    this.view = view && view.assignment ? decodeView(view) : null;
    this.expanded.clear();
    this.revealed.clear();
    this.collapsed.clear();
    this.query = '';
    this.hits = [];
    this.sealedHits = [];
    this.hitsCapped = false;
    this.hitIndex = -1;
    this.pin = null;
    this.charPx = 0;
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
    this.draft.viewed ??= [];
    this.opened = new Set(this.draft.audits ?? []);
    const viewed = new Set(this.draft.viewed);
    this.view.files.forEach((f, i) => viewed.has(filePath(f)) && this.collapsed.add(i));
    this.renderHeader();
    this.renderToolbar();
    this.form.bind(this.draft, a.verdict_scale, a.confidence_levels);
    this.form.setSubmitLabel(prior ? 'Submit revision' : 'Submit');
    this.setupTriage();
    this.draft.attention ??= emptyRecord();
    this.attention = new AttentionRecorder(this.draft.attention, Date.parse(this.draft.started_at));
    if (!this.draft.submitted) {
      this.attention.start(); // before the first rows render, so the first screen is recorded
    }
    if (this.draft.submitted) {
      this.form.setStatus('queued', 'Waiting for the server to confirm…');
    } else if (prior && !stored) {
      const said = prior.cannot_judge ? ' as "cannot judge"' : '';
      this.form.setStatus('saved', `Saved${said} ✓ (you can revise and resubmit)`);
    } else {
      this.form.setStatus('idle', stored ? 'Draft restored' : '');
    }
    this.list.node.scrollTop = 0;
    this.rebuild(true);
    this.renderFileList();
    this.updateCountdown();
    if (!this.draft.submitted) {
      this.clock.start();
    }
  }

  /** The server stored a submission (perhaps one the offline queue delivered late). */
  confirm(submissionId: string): void {
    if (this.draft && this.draft.submission_id === submissionId) {
      this.clock.stop();
      this.attention?.stop();
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
      this.refreshRows();
      this.form.setStatus('error', `Not saved: ${message}`);
      this.clock.start();
      this.attention?.start();
    }
  }

  setStatus(kind: StatusKind, text: string): void {
    this.form.setStatus(kind, text);
  }

  dispose(): void {
    this.clock.stop();
    this.attention?.stop();
  }

  // ------------------------------------------------------------------ actions

  async submit(confirmed = false): Promise<void> {
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
    const kept = contradictions(d, this.comments(), scale);
    if (kept.length && !confirmed && !this.timeUp) {
      const n = kept.length === 1 ? 'an AI comment' : `${kept.length} AI comments`;
      this.form.ask(`You kept ${n} that report a serious bug, but your verdict is "correct". Submit anyway?`, () => void this.submit(true));
      return;
    }
    this.form.closeQuestion();
    await this.send(d, () => toPayload(d, scale));
  }

  /** Give no verdict: store a "cannot judge" record with the rater's reason (it may be revised later). */
  async submitCannotJudge(why: CannotJudge): Promise<void> {
    const d = this.draft;
    if (!d || !this.view || d.submitted) {
      return;
    }
    this.form.closeQuestion();
    await this.send(d, () => toCannotJudgePayload(d, why));
  }

  private async send(d: Draft, build: () => JudgmentPayload): Promise<void> {
    // Lock first, synchronously: a second click finds the draft already submitted.
    this.clock.sync();
    this.clock.stop();
    this.attention?.stop(); // every span ends before the payload stamps submitted_at
    let payload: JudgmentPayload;
    try {
      payload = build();
    } catch (err) {
      this.form.setStatus('error', (err as Error).message);
      this.clock.start();
      this.attention?.start();
      return;
    }
    d.submitted = true;
    saveDraft(d);
    this.form.setLocked(true);
    this.refreshRows(); // keep / edit / reject and the flags lock with the form
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
    this.completeRows(); // the comment's row may not be built yet
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

  /** Search the whole diff (folded and collapsed lines too) and go to the first hit. */
  search(query: string): void {
    this.query = query;
    this.findAll();
    this.hitIndex = -1;
    if (this.hits.length) {
      this.gotoHit(0);
    } else {
      const pinned = this.pin !== null;
      this.pin = null;
      if (pinned) {
        this.rebuild(); // the last hit's line may fold again
      } else {
        this.refreshRows();
      }
      this.renderHitCount();
    }
  }

  /**
   * The hits of the query. Under an audit budget a sealed hunk's hits are not gone to (that
   * would show its lines): they are counted per hunk instead ("3 matches in 2 sealed hunks"),
   * so the rater can decide where to spend an audit.
   */
  private findAll(): void {
    const all = findHits(this.view?.files ?? [], this.query);
    const sealed = this.budget() === null ? null : this.opened;
    const split = splitSealed(all, (f, h) => !sealed || sealed.has(hunkKey(f, h)));
    this.hits = split.open;
    this.sealedHits = split.sealed;
    this.hitsCapped = all.length >= MAX_HITS;
  }

  /** Go to the next (+1) or previous (-1) search hit, revealing its line. */
  stepHit(step: number): void {
    const n = this.hits.length;
    if (n) {
      this.gotoHit((this.hitIndex + step + n) % n);
    }
  }

  /** The study's audit budget (hunks per item opened in depth), or null for none. */
  private budget(): number | null {
    const b = this.view?.assignment.audit_budget_hunks;
    return typeof b === 'number' && b > 0 ? b : null;
  }

  private auditsLeft(): number {
    const b = this.budget();
    return b === null ? Infinity : Math.max(0, b - this.opened.size);
  }

  /** Open a sealed hunk in depth: one audit, recorded as an attention event; an opened one is free. */
  openHunk(file: number, hunk: number): void {
    const d = this.draft;
    const key = hunkKey(file, hunk);
    if (!d || d.submitted || this.budget() === null || this.opened.has(key)) {
      return;
    }
    if (this.auditsLeft() <= 0) {
      this.form.setStatus('error', `No audits left: all ${this.budget()} are used, so this hunk cannot be opened`);
      return;
    }
    this.opened.add(key);
    d.audits = [...this.opened];
    this.attention?.event('audit', file, hunk);
    this.changed();
    this.renderAuditCounter();
    if (this.query) {
      // The opened hunk's matches become hits: go to its first one.
      this.findAll();
      const first = this.hits.findIndex(h => h.file === file && h.hunk === hunk);
      if (first >= 0) {
        this.gotoHit(first);
        return;
      }
      this.renderHitCount();
    }
    this.rebuild();
  }

  private renderAuditCounter(): void {
    const b = this.budget();
    this.auditCounter.hidden = b === null;
    this.auditCounter.textContent = b === null ? '' : `${this.auditsLeft()} of ${b} audits left`;
    this.auditCounter.title = 'Hunks you may still open in depth on this item; reopening one you opened is free';
    this.auditCounter.classList.toggle('ov-urgent', b !== null && this.auditsLeft() === 0);
  }

  /** Record an expansion of the fold `key` in the attention record, under the fold's hunk. */
  private foldEvent(key: string): void {
    const fold = this.model.rows.find(r => r.t === 'fold' && r.key === key);
    if (fold && fold.t === 'fold') {
      this.attention?.event('expand', fold.file, fold.hunk);
    }
  }

  private gotoHit(index: number): void {
    const h = this.hits[index];
    this.attention?.event('search', h.file, h.hunk);
    this.hitIndex = index;
    this.pin = { file: h.file, hunk: h.hunk, idx: h.idx };
    this.collapsed.delete(h.file);
    this.rebuild();
    const row = this.model.rows.findIndex(r => holds(r, h));
    if (row >= 0) {
      this.list.scrollToRow(row);
    }
    this.renderHitCount();
  }

  private renderHitCount(): void {
    const out = this.toolbar.querySelector('.ov-search-count');
    if (out) {
      const n = this.hits.length;
      const total = n >= MAX_HITS ? `${MAX_HITS}+` : String(n);
      out.textContent = !this.query ? '' : n ? `${this.hitIndex + 1} of ${total}` : this.sealedHits.length ? 'no open match' : 'no match';
    }
    this.renderSealedHits();
  }

  /** The button "N matches in M sealed hunks" and its list of those hunks (headers only, diff order). */
  private renderSealedHits(): void {
    const button = this.toolbar.querySelector<HTMLButtonElement>('.ov-sealed-hits');
    const list = this.toolbar.querySelector<HTMLElement>('.ov-sealed-hit-list');
    if (!button || !list) {
      return;
    }
    const summary = this.query ? sealedSummary(this.sealedHits, this.hitsCapped) : '';
    button.hidden = !summary;
    button.textContent = summary;
    button.setAttribute('aria-expanded', String(!list.hidden && !!summary));
    list.replaceChildren();
    if (!summary) {
      list.hidden = true;
      return;
    }
    const files = this.view?.files ?? [];
    for (const m of this.sealedHits) {
      const f = files[m.file];
      const h = f?.hunks[m.hunk];
      if (!h) {
        continue;
      }
      const entry = el('button', 'ov-btn ov-sealed-hit');
      entry.type = 'button';
      entry.dataset.file = String(m.file);
      entry.dataset.hunk = String(m.hunk);
      const where = `@@ -${h.old_start},${h.old_len} +${h.new_start},${h.new_len} @@${h.header ? ' ' + h.header : ''}`;
      entry.append(
        ...(files.length > 1 ? [el('span', 'ov-sealed-hit-path', filePath(f))] : []),
        el('span', 'ov-sealed-hit-header', where),
        el('span', 'ov-sealed-hit-count', `${m.count} match${m.count === 1 ? '' : 'es'}`)
      );
      entry.title = 'Go to this sealed hunk; opening it uses an audit';
      entry.addEventListener('click', () => {
        list.hidden = true;
        button.setAttribute('aria-expanded', 'false');
        this.gotoHunk(m.file, m.hunk);
      });
      list.append(entry);
    }
  }

  private toggleCollapsed(file: number): void {
    if (!this.collapsed.delete(file)) {
      this.collapsed.add(file);
    }
    this.rebuild();
    this.scrollToFile(file);
  }

  private toggleViewed(file: number): void {
    const d = this.draft;
    if (!d || !this.view) {
      return;
    }
    const path = filePath(this.view.files[file]);
    const viewed = new Set(d.viewed ?? []);
    if (viewed.delete(path)) {
      this.collapsed.delete(file);
    } else {
      viewed.add(path);
      this.collapsed.add(file);
    }
    d.viewed = [...viewed];
    if (!d.submitted) {
      saveDraft(d);
    }
    this.rebuild();
    this.renderFileList();
    this.scrollToFile(file);
  }

  private scrollToFile(file: number): void {
    this.completeRows();
    const row = this.model.fileRows[file];
    if (row !== undefined && this.offsets[row] < this.list.node.scrollTop) {
      this.list.node.scrollTop = this.offsets[row];
      this.list.update();
    }
  }

  /** The file header pinned to the top of the diff while the rater is inside that file. */
  private updateSticky(top: number): void {
    const f = top >= 0 ? this.model.rowFile[top] : -1;
    const show = f >= 0 && this.offsets[this.model.fileRows[f]] < this.list.node.scrollTop;
    this.sticky.hidden = !show;
    if (show && f !== this.stickyFile && this.ctx) {
      this.sticky.replaceChildren(renderFile(this.ctx, f));
      this.stickyFile = f;
    }
    this.sticky.style.width = `${this.list.node.clientWidth}px`;
  }

  /** Measure the code font and the view's width: the wrap columns and gutter depend on them. */
  private measure(): Layout {
    const v = this.view;
    const node = this.list.node;
    if (!this.charPx) {
      const probe = el('span', 'ov-probe', '0'.repeat(100));
      node.append(probe);
      this.charPx = probe.getBoundingClientRect().width / 100 || 7.2;
      probe.remove();
    }
    const cw = this.charPx;
    const digits = Math.max(3, v ? lineDigits(v.files) : 3);
    this.node.style.setProperty('--ov-ln-digits', String(digits));
    const width = node.clientWidth || 800;
    const gutter = digits * cw + 12;
    const split = this.options.diffView === 'split';
    const code = split ? (width - 2 * gutter) / 2 : width - 2 * gutter - 2 * cw;
    // Two pixels short of the column: sub-pixel widths must not give a column one char too many.
    const cols = Math.max(8, Math.floor((code - 2) / cw));
    // Comment cards use the interface font (about 8 px a character at 13 px, counted wide).
    const noteCols = Math.max(20, Math.floor((width - 12 * cw - 48) / 8));
    return { wrap: this.options.wrapLines, cols, noteCols };
  }

  /** After a resize: new wrap columns change the row heights (rows themselves stay). */
  private relayout(): void {
    if (!this.view || !this.draft || !this.options.wrapLines) {
      return;
    }
    const next = this.measure();
    if (next.cols !== this.layout.cols || next.noteCols !== this.layout.noteCols) {
      const top = this.list.topRow;
      this.layout = next;
      this.setRows();
      if (top > 0) {
        this.list.node.scrollTop = this.offsets[top];
        this.list.update();
      }
    }
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
    this.attention?.checkpoint();
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
    // The stopwatch glyph is in few system fonts: CSS draws the clock face over it (ov-clock).
    const clock = el('span', 'ov-clock', '⏱');
    clock.setAttribute('aria-hidden', 'true');
    this.form.countdown.replaceChildren(clock, document.createTextNode(` ${m}:${String(s).padStart(2, '0')} left`));
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

  private flagLine(path: string, side: Side, line: number, extend = false): void {
    const d = this.draft;
    if (!d || d.submitted) {
      return;
    }
    const f = this.focus;
    const held = extend && f && f.path === path && f.side === side ? d.flags.find(x => x.path === path && x.side === side && x.line === f.line) : undefined;
    if (held && line !== held.line) {
      // Shift-click: the focused flag now covers the lines between its first line and this one.
      const last = held.end_line ?? held.line;
      const lo = Math.min(held.line, line);
      const hi = Math.max(line < held.line ? last : held.line, line);
      held.line = lo;
      held.end_line = hi > lo ? hi : null;
      this.focus = { path, side, line: lo };
      this.changed();
      this.rebuild();
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
      flagged: new Set(d.flags.flatMap(f => range(f.line, f.end_line ?? f.line).map(n => anchorKey(f.path || def, f.side, n)))),
      commented: new Set(this.comments().flatMap(c => range(c.start_line, c.end_line).map(n => anchorKey(c.path || def, c.side, n)))),
      flagLine: (p, s, n, extend) => this.flagLine(p, s, n, extend),
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
        this.foldEvent(key);
        this.rebuild();
      },
      query: this.query,
      hit: this.hitIndex >= 0 ? this.hits[this.hitIndex] : null,
      collapsed: this.collapsed,
      viewed: new Set(d.viewed ?? []),
      toggleCollapsed: f => this.toggleCollapsed(f),
      toggleViewed: f => this.toggleViewed(f),
      reveal: (key, where, n) => {
        const [top, bottom] = this.revealed.get(key) ?? [0, 0];
        this.revealed.set(key, where === 'down' ? [top + n, bottom] : [top, bottom + n]);
        this.foldEvent(key);
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
      setFlagField: (i, field, value) => {
        if (field === 'severity') {
          d.flags[i].severity = value as LineFlag['severity'];
        } else {
          d.flags[i].category = value;
        }
        this.changed();
      },
      removeFlag: i => {
        d.flags.splice(i, 1);
        this.changed();
        this.rebuild();
      },
      audit:
        this.budget() === null
          ? null
          : {
              left: this.auditsLeft(),
              open: (f, h) => this.openHunk(f, h),
              matches: new Map(this.sealedHits.map(m => [hunkKey(m.file, m.hunk), m.count]))
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

  /**
   * Build the rows for the current state. With `progressive` (a view just opened), only the
   * first screens' rows are built now and the rest after the first paint; otherwise all.
   */
  private rebuild(progressive = false): void {
    const v = this.view;
    const d = this.draft;
    const job = ++this.rowJob;
    this.builder = null;
    this.grown = null;
    if (!v || !d) {
      return;
    }
    const builder = new RowBuilder(v.files, {
      mode: this.options.diffView,
      context: this.options.contextLines,
      expanded: this.expanded,
      revealed: this.revealed,
      collapsed: this.collapsed,
      pin: this.pin,
      comments: this.comments(),
      flags: d.flags,
      opened: this.budget() === null ? null : this.opened
    });
    if (progressive && !builder.step(FIRST_ROW_LINES)) {
      this.builder = builder;
      this.model = builder.partial();
      requestAnimationFrame(() => later(() => this.buildMore(job)));
    } else {
      this.model = builder.finish();
    }
    this.ctx = this.context();
    this.list.node.classList.toggle('ov-split', this.options.diffView === 'split');
    this.list.node.classList.toggle('ov-wrap', this.options.wrapLines);
    this.list.node.classList.toggle('ov-nowrap', !this.options.wrapLines);
    this.layout = this.measure();
    this.setRows();
  }

  /** Build more rows in an idle slice; once all are built, show the whole model. */
  private buildMore(job: number): void {
    const b = this.builder;
    if (job !== this.rowJob || !b) {
      return; // a newer build replaced this one
    }
    const end = performance.now() + ROW_SLICE_MS;
    while (!b.step(200)) {
      if (performance.now() > end) {
        this.growOffsets(b);
        later(() => this.buildMore(job));
        return;
      }
    }
    this.completeRows();
  }

  /** Extend the offsets of the rows built so far (a million rows' heights at once would stall a frame). */
  private growOffsets(b: RowBuilder): void {
    let g = this.grown;
    if (!g || g.layout !== this.layout) {
      g = this.grown = { offsets: new Float64Array(1024), n: 0, layout: this.layout };
    }
    g.offsets = growOffsets(g.offsets, g.n, b.built, this.options.rowHeight, this.layout, this.comments());
    g.n = b.built.length;
  }

  /** Finish the rows still being built now (the rater needs them) and show them where the view was. */
  private completeRows(): void {
    const b = this.builder;
    if (!b) {
      return;
    }
    this.builder = null;
    b.step(Infinity);
    this.growOffsets(b);
    const g = this.grown as { offsets: Float64Array; n: number };
    this.grown = null;
    const model = b.finish();
    this.showRows(model, leadOffsets(g.offsets, g.n, this.leadHeight(model)));
  }

  /**
   * Scrolled to rows not built yet: build on until the built rows reach `px` pixels down (a
   * screen or two; all of them only when the rater jumped far), and show them with the rest
   * row after them. The idle build goes on from there.
   */
  private buildTo(px: number): void {
    const b = this.builder;
    if (!b) {
      return;
    }
    this.growOffsets(b);
    let g = this.grown as { offsets: Float64Array; n: number };
    while (!b.done && g.offsets[g.n] < px) {
      b.step(FIRST_ROW_LINES);
      this.growOffsets(b);
      g = this.grown as { offsets: Float64Array; n: number };
    }
    if (b.done) {
      this.completeRows();
      return;
    }
    const model = b.partial();
    const base = leadOffsets(g.offsets, g.n, this.leadHeight(model));
    const offsets = new Float64Array(base.length + 1);
    offsets.set(base);
    offsets[base.length] = base[base.length - 1] + rowUnits(model.rows[model.rows.length - 1], this.layout, this.comments()) * this.options.rowHeight;
    this.showRows(model, offsets);
  }

  /** The height of the orphans row leading `model` (null when none leads it). */
  private leadHeight(model: RowModel): number | null {
    return model.rows.length && model.rows[0].t === 'orphans' ? rowUnits(model.rows[0], this.layout, this.comments()) * this.options.rowHeight : null;
  }

  /** Show a model that extends the one on screen, where the view was: the rows built first keep their places. */
  private showRows(model: RowModel, offsets: Float64Array): void {
    const before = this.model;
    const top = this.list.topRow;
    const within = top >= 0 ? this.list.node.scrollTop - this.offsets[top] : 0;
    this.model = model;
    // An orphans row may now lead the rows (or lead them no more).
    const lead = (m: RowModel): number => (m.rows.length && m.rows[0].t === 'orphans' ? 1 : 0);
    const at = Math.max(0, top + lead(model) - lead(before));
    this.setRows(offsets);
    if (top > 0 || within > 0) {
      this.list.node.scrollTop = this.offsets[Math.min(at, model.rows.length)] + within;
      this.list.update();
    }
  }

  /** Hand the rows to the list with offsets for the current layout (computed here unless given). */
  private setRows(offsets?: Float64Array): void {
    const v = this.view as ItemView;
    const rows = this.model.rows;
    this.offsets = offsets ?? rowOffsets(rows, this.options.rowHeight, this.layout, this.comments());
    if (this.layout.wrap) {
      this.list.setWidth(null);
    } else {
      // One row per line: the content is as wide as the widest line, and scrolls sideways.
      const digits = Math.max(3, lineDigits(v.files));
      const gutter = digits * this.charPx + 12;
      const code = widestLine(v.files) * this.charPx + 16;
      const split = this.options.diffView === 'split';
      const need = split ? 2 * (gutter + code) : 2 * gutter + 2 * this.charPx + code;
      this.list.setWidth(need > this.list.node.clientWidth ? need : null);
    }
    this.stickyFile = -1;
    this.list.setSource({
      count: rows.length,
      offsets: this.offsets,
      render: i => {
        if (rows[i].t === 'rest') {
          // Scrolled to rows not built yet: build them now (as far as the screen and one more), after this frame's rows.
          window.setTimeout(() => this.buildTo(this.list.node.scrollTop + 2 * (this.list.node.clientHeight || 600)), 0);
        }
        return renderRow(this.ctx as RowContext, rows[i]);
      }
    });
    this.drawTriage();
  }

  /** Build the minimap and ranked list when the view carries the assistant's hunk scores, else remove them. */
  private setupTriage(): void {
    const scores = this.view?.critique?.hunk_scores;
    this.triage = scores && scores.length && this.view ? new Triage(this.view.files, scores, { goto: (f, h) => this.gotoHunk(f, h) }) : null;
    this.triageSlot.hidden = !this.triage;
    this.triageSlot.replaceChildren(...(this.triage ? [...(this.rankedOpen ? [this.triage.rankedList()] : []), this.triage.minimap] : []));
  }

  /** Place each hunk on the minimap by its rows' share of the diff's height. */
  private drawTriage(): void {
    if (!this.triage) {
      return;
    }
    const rows = this.model.rows;
    const total = this.offsets[rows.length] || 1;
    const place = new Map<string, [number, number]>();
    let open: string | null = null;
    for (let i = 0; i <= rows.length; i++) {
      const r = rows[i];
      if (i === rows.length || r.t === 'hunk' || r.t === 'file' || r.t === 'rest') {
        if (open !== null) {
          (place.get(open) as [number, number])[1] = this.offsets[i] / total;
          open = null;
        }
        if (i < rows.length && r.t === 'hunk') {
          open = `${r.file}:${r.hunk}`;
          place.set(open, [this.offsets[i] / total, this.offsets[i + 1] / total]);
        }
      }
    }
    this.triage.draw((f, h) => place.get(`${f}:${h}`) ?? null);
  }

  /** Scroll to a hunk's header (opening its file if the rater collapsed it). */
  private gotoHunk(file: number, hunk: number): void {
    if (this.collapsed.delete(file)) {
      this.rebuild();
      this.renderFileList();
    }
    this.completeRows();
    const row = this.model.rows.findIndex(r => r.t === 'hunk' && r.file === file && r.hunk === hunk);
    if (row >= 0) {
      this.list.scrollToRow(row);
    }
  }

  /** Re-render the visible rows with fresh state (active comment, dispositions), same rows. */
  private refreshRows(): void {
    this.ctx = this.context();
    this.stickyFile = -1;
    this.list.refresh();
  }

  private showEmpty(text: string): void {
    this.header.replaceChildren(el('div', 'ov-empty', text), this.queueButton(null));
    this.toolbar.replaceChildren();
    this.fileList.hidden = true;
    this.sticky.hidden = true;
    this.list.setSource({ count: 0, offsets: new Float64Array(1), render: () => el('div') });
    this.form.node.hidden = true;
  }

  /** The queue: every item with its state; a done one opens for revision. */
  private queueButton(current: string | null): HTMLElement {
    const box = el('span', 'ov-queue-box');
    const transport = this.transport;
    if (!transport.queue || !transport.open) {
      return box;
    }
    const toggle = el('button', 'ov-btn ov-queue-toggle', 'Queue');
    toggle.type = 'button';
    toggle.title = 'All items of this study; open a submitted one to revise it';
    const list = el('div', 'ov-queue');
    list.hidden = true;
    toggle.addEventListener('click', async () => {
      if (!list.hidden) {
        list.hidden = true;
        return;
      }
      let entries;
      try {
        entries = await transport.queue!();
      } catch (err) {
        list.replaceChildren(el('div', 'ov-error', `Cannot load the queue: ${(err as Error).message}`));
        list.hidden = false;
        return;
      }
      list.replaceChildren(
        ...entries.map(e => {
          const status = e.status ?? (e.done ? 'judged' : 'open');
          const said = status === 'cannot_judge' ? 'cannot judge' : status === 'judged' ? 'submitted' : 'to do';
          const b = el('button', 'ov-btn ov-queue-item', `Item ${e.position + 1} · ${said}`);
          b.type = 'button';
          b.dataset.assignment = e.id;
          b.dataset.done = String(e.done);
          b.dataset.status = status;
          if (e.id === current) {
            b.setAttribute('aria-current', 'true');
          }
          b.addEventListener('click', () => {
            list.hidden = true;
            void transport.open!(e.id);
          });
          return b;
        })
      );
      list.hidden = false;
    });
    box.append(toggle, list);
    return box;
  }

  private renderHeader(): void {
    const v = this.view as ItemView;
    this.form.node.hidden = false;
    const top = el('div', 'ov-title');
    this.renderAuditCounter();
    top.append(
      el('span', 'ov-study', `${v.assignment.study} · item ${v.assignment.position + 1}`),
      this.queueButton(v.assignment.id),
      el('span', 'ov-progress', this.progressText),
      this.auditCounter
    );
    const task = el('div', 'ov-task');
    const text = el('div', 'ov-task-text');
    renderMarkdown(text, v.item.task || '(no task statement)');
    task.append(el('div', 'ov-label', 'Task'), text);
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
    const wrap = el('button', 'ov-btn ov-wrap-toggle', 'Wrap lines');
    wrap.type = 'button';
    wrap.title = 'Wrap long lines, or keep one row per line and scroll sideways';
    wrap.setAttribute('aria-pressed', String(this.options.wrapLines));
    wrap.addEventListener('click', () => this.setOptions({ wrapLines: !this.options.wrapLines }));
    const find = el('span', 'ov-find');
    const input = el('input', 'ov-search');
    input.type = 'search';
    input.placeholder = 'Search the diff (Ctrl+F)';
    input.setAttribute('aria-label', 'Search the diff');
    input.value = this.query;
    let timer = 0;
    input.addEventListener('input', () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => this.search(input.value), 200);
    });
    input.addEventListener('keydown', ev => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        window.clearTimeout(timer);
        if (input.value !== this.query) {
          this.search(input.value);
        } else {
          this.stepHit(ev.shiftKey ? -1 : 1);
        }
      } else if (ev.key === 'Escape') {
        input.value = '';
        this.search('');
      }
    });
    const prev = el('button', 'ov-btn ov-hit-prev', '▲');
    prev.type = 'button';
    prev.title = 'Previous match (Shift+Enter)';
    prev.addEventListener('click', () => this.stepHit(-1));
    const next = el('button', 'ov-btn ov-hit-next', '▼');
    next.type = 'button';
    next.title = 'Next match (Enter)';
    next.addEventListener('click', () => this.stepHit(1));
    const sealedHits = el('button', 'ov-btn ov-sealed-hits');
    sealedHits.type = 'button';
    sealedHits.hidden = true;
    sealedHits.title = 'Matches inside hunks you have not opened in depth: their text stays hidden until you open one (one audit)';
    const sealedList = el('div', 'ov-sealed-hit-list');
    sealedList.hidden = true;
    sealedList.setAttribute('role', 'list');
    sealedHits.addEventListener('click', () => {
      sealedList.hidden = !sealedList.hidden;
      sealedHits.setAttribute('aria-expanded', String(!sealedList.hidden));
    });
    find.append(input, el('span', 'ov-search-count'), prev, next, sealedHits, sealedList);
    const nav = el('span', 'ov-comment-nav');
    const triage = el('span', 'ov-triage-nav');
    if (this.view?.critique?.hunk_scores?.length) {
      const next = el('button', 'ov-btn ov-next-suspicious', 'Next suspicious hunk');
      next.type = 'button';
      next.title = 'Go to the next hunk in the assistant\u2019s suspicion ranking';
      next.addEventListener('click', () => this.triage?.next());
      const ranked = el('button', 'ov-btn ov-ranked-toggle', 'Ranked hunks');
      ranked.type = 'button';
      ranked.setAttribute('aria-pressed', String(this.rankedOpen));
      ranked.addEventListener('click', () => {
        this.rankedOpen = !this.rankedOpen;
        ranked.setAttribute('aria-pressed', String(this.rankedOpen));
        this.setupTriage();
        this.drawTriage();
      });
      triage.append(next, ranked);
    }
    this.toolbar.replaceChildren(mode, wrap, find, triage, nav);
    this.renderCommentNav();
    this.renderHitCount();
  }

  /** The files pane: each file with its counts, a "viewed" mark, and a jump to it. */
  private renderFileList(): void {
    const v = this.view as ItemView;
    const box = this.fileList;
    const job = ++this.fileListJob;
    box.hidden = v.files.length < 2;
    if (box.hidden || !this.ctx) {
      return;
    }
    const viewed = new Set(this.draft?.viewed ?? []);
    const n = v.files.filter(f => viewed.has(filePath(f))).length;
    const head = el('div', 'ov-files-head', `${v.files.length} files · ${n} viewed`);
    const entry = (i: number): HTMLElement => {
      const f = v.files[i];
      const e = el('div', 'ov-file-entry');
      if (viewed.has(filePath(f))) {
        e.classList.add('ov-is-viewed');
      }
      const b = el('button', 'ov-btn ov-file', `${filePath(f)} +${f.added} −${f.removed}`);
      b.type = 'button';
      b.title = filePath(f);
      b.addEventListener('click', () => {
        if (this.collapsed.delete(i)) {
          this.rebuild();
        }
        this.completeRows();
        this.list.scrollToRow(this.model.fileRows[i]);
        this.list.node.scrollTop = this.offsets[this.model.fileRows[i]];
        this.list.update();
      });
      e.append(viewedBox(this.ctx as RowContext, i), b);
      return e;
    };
    // A diff of thousands of files would build tens of thousands of nodes before the first
    // paint: the first entries now, the rest in slices after it (a newer render cancels them).
    let next = Math.min(v.files.length, FILE_LIST_FIRST);
    box.replaceChildren(head, ...Array.from({ length: next }, (_, i) => entry(i)));
    const more = (): void => {
      if (job !== this.fileListJob || next >= v.files.length) {
        return;
      }
      const end = Math.min(v.files.length, next + FILE_LIST_SLICE);
      const slice = document.createDocumentFragment();
      for (; next < end; next++) {
        slice.append(entry(next));
      }
      box.append(slice);
      later(more);
    };
    // After the first paint, and in idle time, so that neither it nor scrolling waits for them.
    requestAnimationFrame(() => later(more));
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
    if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === 'f') {
      // The diff is virtualised: the browser's find sees only the rows on screen.
      ev.preventDefault();
      ev.stopPropagation();
      this.toolbar.querySelector<HTMLInputElement>('.ov-search')?.focus();
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

/** Whether a display row shows the line of a search hit. */
function holds(r: Row, h: Hit): boolean {
  const is = (l: { file: number; hunk: number; idx: number } | null): boolean => !!l && l.file === h.file && l.hunk === h.hunk && l.idx === h.idx;
  return r.t === 'line' ? is(r) : r.t === 'pair' ? is(r.left) || is(r.right) : false;
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

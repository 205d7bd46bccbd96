/**
 * The review view shared by the JupyterLab panel and the notebook widget: task statement,
 * critique, virtualised diff with anchored comments and flags, and the judgment form.
 *
 * It owns the draft and talks to its back end only through a ReviewTransport, so both hosts
 * record through the same code and obey the same blinding (the view shows only what the
 * server sent, and the server sends no critique in the unassisted condition).
 *
 * This class holds the state its parts share (the item, folds, the search, the audit budget,
 * the focused line and comment), builds the rows' context from it, and moves between comments,
 * hits, hunks and files. Its parts, each in its own module:
 * - judgment.ts: the draft, the time limit, the attention record, submission and the answer;
 * - diffpane.ts: the virtualised rows, their lazy building, offsets, sticky header, scrolling;
 * - header.ts: title line, queue, task and critique summary;
 * - toolbar.ts: layout switches, triage buttons, comment navigator; searchbar.ts: the search;
 * - filelist.ts: the files pane; keys.ts: the keyboard;
 * - annotations.ts: the rater's comment actions and line flags in the draft;
 * - form.ts: the judgment form; triage.ts: minimap and ranked hunks.
 */
import { commentedLines, extendFlag, flaggedLines, setDisposition, setReason } from './annotations';
import { segmentsOf } from './attention';
import { DiffPane } from './diffpane';
import { decodeView, filePath, hunkKey } from './diffmodel';
import { Draft, saveDraft } from './draft';
import { FileList } from './filelist';
import { JudgmentForm, StatusKind } from './form';
import { queueButton, renderHeader } from './header';
import { DEFAULT_KEYS, handleKey, KeyMap } from './keys';
import { Judgment } from './judgment';
import { el, RowContext } from './rows';
import { holdsHit, SearchBar } from './searchbar';
import { layoutControls, renderCommentNav, triageControls } from './toolbar';
import { Triage } from './triage';
import { Action, CannotJudge, CommentView, DEFAULT_OPTIONS, ItemView, LineFlag, Reason, ReviewOptions, ReviewTransport, Side, WireItemView } from './types';

// Callers take the keys from here, beside the view they configure.
export { DEFAULT_KEYS };
export type { KeyMap };

export class ReviewView {
  readonly node = el('div', 'ov-review');
  private header = el('div', 'ov-header');
  private toolbar = el('div', 'ov-toolbar');
  private pane: DiffPane = new DiffPane(this.node, {
    options: () => this.options,
    files: () => (this.view && this.draft ? this.view.files : null),
    comments: () => this.comments(),
    rowsSet: () => this.drawTriage()
  });
  private body = el('div', 'ov-body');
  private fileList = new FileList();
  private form: JudgmentForm;
  private judgment: Judgment;
  private view: ItemView | null = null;
  private expanded = new Set<string>();
  private revealed = new Map<string, [number, number]>();
  private collapsed = new Set<number>();
  /** Hunks opened in depth under the audit budget (the draft keeps them). */
  private opened = new Set<string>();
  private auditCounter = el('span', 'ov-audits');
  private searchBar = new SearchBar({
    search: q => this.search(q),
    step: n => this.stepHit(n),
    gotoHunk: (f, h) => this.gotoHunk(f, h)
  });
  private pin: { file: number; hunk: number; idx: number } | null = null;
  private activeComment = -1;
  private focus: { path: string; side: Side; line: number } | null = null;
  /** The suspicion minimap and ranked hunks: only when the view carries hunk scores (assisted). */
  private triage: Triage | null = null;
  private triageSlot = el('div', 'ov-triage');
  private rankedOpen = false;
  private progressText = '';
  private keys: KeyMap = { ...DEFAULT_KEYS };

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
    this.judgment = new Judgment(this.form, transport, {
      assignment: () => this.view?.assignment ?? null,
      comments: () => this.comments(),
      refreshRows: () => this.refreshRows()
    });
    this.node.tabIndex = 0;
    // Keys typed here are the view's own: stop JupyterLab (e.g. notebook command mode) taking them.
    this.node.setAttribute('data-lm-suppress-shortcuts', 'true');
    this.node.addEventListener('keydown', ev =>
      handleKey(ev, this.keys, {
        submit: () => void this.submit(),
        find: () => this.searchBar.focus(),
        nextComment: () => this.jumpComment(1),
        prevComment: () => this.jumpComment(-1),
        flagLine: () => this.flagFocused(),
        toggleView: () => this.toggleMode(),
        nextItem: () => void this.next()
      })
    );
    this.triageSlot.hidden = true;
    this.body.append(this.fileList.node, this.pane.node, this.triageSlot);
    this.node.append(this.header, this.toolbar, this.body, this.form.node);
    this.pane.list.onView = (first, last) => {
      const offsets = this.pane.offsets;
      this.judgment.attention?.see(segmentsOf(this.pane.model.rows, first, last));
      const total = offsets[offsets.length - 1] || 1;
      this.triage?.showViewport(offsets[first] / total, offsets[last + 1] / total);
    };
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
    this.judgment.stop();
    this.pane.stop(); // the rows another view was still building
    this.view = view && view.assignment ? decodeView(view) : null;
    this.expanded.clear();
    this.revealed.clear();
    this.collapsed.clear();
    this.searchBar.reset();
    this.pin = null;
    this.pane.forgetFont();
    this.activeComment = -1;
    this.focus = null;
    if (!this.view) {
      this.judgment.draft = null;
      this.showEmpty(emptyText);
      return;
    }
    const a = this.view.assignment;
    const prior = this.view.judgment;
    const stored = this.judgment.open(a.id, prior);
    const draft = this.judgment.draft as Draft;
    draft.viewed ??= [];
    this.opened = new Set(draft.audits ?? []);
    const viewed = new Set(draft.viewed);
    this.view.files.forEach((f, i) => viewed.has(filePath(f)) && this.collapsed.add(i));
    this.showHeader();
    this.renderToolbar();
    this.form.bind(draft, a.verdict_scale, a.confidence_levels);
    this.form.setSubmitLabel(prior ? 'Submit revision' : 'Submit');
    this.setupTriage();
    this.judgment.begin(prior, stored);
    this.pane.list.node.scrollTop = 0;
    this.rebuild(true);
    this.renderFileList();
    this.judgment.run();
  }

  /** The server stored a submission (perhaps one the offline queue delivered late). */
  confirm(submissionId: string): void {
    this.judgment.confirm(submissionId);
  }

  /** The server refused a submission: unlock the form so the rater can fix and resend it. */
  refuse(submissionId: string, message: string): void {
    this.judgment.refuse(submissionId, message);
  }

  setStatus(kind: StatusKind, text: string): void {
    this.form.setStatus(kind, text);
  }

  dispose(): void {
    this.judgment.dispose();
  }

  // ------------------------------------------------------------------ actions

  /** Submit the judgment (after its checks; `confirmed`: the rater answered "submit anyway"). */
  async submit(confirmed = false): Promise<void> {
    await this.judgment.submit(confirmed);
  }

  /** Give no verdict: store a "cannot judge" record with the rater's reason (it may be revised later). */
  async submitCannotJudge(why: CannotJudge): Promise<void> {
    await this.judgment.submitCannotJudge(why);
  }

  /** Go to the next item, once the server confirmed this one (if it was submitted). */
  async next(): Promise<void> {
    await this.judgment.next();
  }

  // ------------------------------------------------------------------ navigation

  /** Move to the next (+1) or previous (-1) critique comment and scroll it into view. */
  jumpComment(step: number): void {
    const n = this.comments().length;
    if (!n) {
      return;
    }
    this.activeComment = this.activeComment < 0 ? (step > 0 ? 0 : n - 1) : (this.activeComment + step + n) % n;
    const c = this.comments()[this.activeComment];
    this.pane.completeRows(); // the comment's row may not be built yet
    this.focus = { path: c.path || this.defaultPath(), side: c.side, line: c.end_line };
    this.refreshRows();
    const row = this.pane.model.commentRows[this.activeComment];
    if (row >= 0) {
      this.pane.list.scrollToRow(row);
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
    this.searchBar.query = query;
    this.findAll();
    this.searchBar.index = -1;
    if (this.searchBar.hits.length) {
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

  /** Go to the next (+1) or previous (-1) search hit, revealing its line. */
  stepHit(step: number): void {
    const n = this.searchBar.hits.length;
    if (n) {
      this.gotoHit((this.searchBar.index + step + n) % n);
    }
  }

  /** The hits of the query; under an audit budget, those in sealed hunks only counted. */
  private findAll(): void {
    this.searchBar.find(this.view?.files ?? [], this.budget() === null ? null : this.opened);
  }

  private gotoHit(index: number): void {
    const h = this.searchBar.hits[index];
    this.judgment.attention?.event('search', h.file, h.hunk);
    this.searchBar.index = index;
    this.pin = { file: h.file, hunk: h.hunk, idx: h.idx };
    this.collapsed.delete(h.file);
    this.rebuild();
    const row = this.pane.model.rows.findIndex(r => holdsHit(r, h));
    if (row >= 0) {
      this.pane.list.scrollToRow(row);
    }
    this.renderHitCount();
  }

  private renderHitCount(): void {
    this.searchBar.renderCount(this.view?.files ?? []);
  }

  /** Scroll to a hunk's header (opening its file if the rater collapsed it). */
  private gotoHunk(file: number, hunk: number): void {
    if (this.collapsed.delete(file)) {
      this.rebuild();
      this.renderFileList();
    }
    this.pane.completeRows();
    const row = this.pane.model.rows.findIndex(r => r.t === 'hunk' && r.file === file && r.hunk === hunk);
    if (row >= 0) {
      this.pane.list.scrollToRow(row);
    }
  }

  private toggleCollapsed(file: number): void {
    if (!this.collapsed.delete(file)) {
      this.collapsed.add(file);
    }
    this.rebuild();
    this.pane.scrollToFile(file);
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
    this.pane.scrollToFile(file);
  }

  // ------------------------------------------------------------------ audit budget

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
    this.judgment.attention?.event('audit', file, hunk);
    this.changed();
    this.renderAuditCounter();
    if (this.searchBar.query) {
      // The opened hunk's matches become hits: go to its first one.
      this.findAll();
      const first = this.searchBar.hits.findIndex(h => h.file === file && h.hunk === hunk);
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
    const fold = this.pane.model.rows.find(r => r.t === 'fold' && r.key === key);
    if (fold && fold.t === 'fold') {
      this.judgment.attention?.event('expand', fold.file, fold.hunk);
    }
  }

  // ------------------------------------------------------------------ the draft

  private comments(): CommentView[] {
    return this.view?.critique?.comments ?? [];
  }

  private defaultPath(): string {
    return this.view && this.view.files.length ? filePath(this.view.files[0]) : '';
  }

  /** The draft of the item shown (the judgment keeps it). */
  private get draft(): Draft | null {
    return this.judgment.draft;
  }

  private changed(): void {
    this.judgment.changed();
  }

  private flagLine(path: string, side: Side, line: number, extend = false): void {
    const d = this.draft;
    if (!d || d.submitted) {
      return;
    }
    const f = this.focus;
    const held = extend && f && f.path === path && f.side === side ? d.flags.find(x => x.path === path && x.side === side && x.line === f.line) : undefined;
    if (held && line !== held.line) {
      this.focus = { path, side, line: extendFlag(held, line) };
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
    const ta = this.pane.list.node.querySelector<HTMLTextAreaElement>(`[data-flag="${index}"] textarea`);
    ta?.focus({ preventScroll: true });
  }

  private setDisposition(index: number, action: Action | null): void {
    const d = this.draft;
    if (!d || d.submitted) {
      return;
    }
    setDisposition(d, this.comments()[index], action);
    this.changed();
    this.refreshRows();
    this.renderCommentNav();
  }

  private setReason(index: number, reason: Reason | null): void {
    const d = this.draft;
    if (d && !d.submitted && setReason(d, this.comments()[index], reason)) {
      this.changed();
    }
  }

  // ------------------------------------------------------------------ rows

  /** What the rows render with: the draft, the comments, the search, and the rater's actions on them. */
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
      flagged: flaggedLines(d.flags, def),
      commented: commentedLines(this.comments(), def),
      flagLine: (p, s, n, extend) => this.flagLine(p, s, n, extend),
      focusLine: (p, s, n) => {
        this.focus = { path: p, side: s, line: n };
        if (this.pane.ctx) {
          this.pane.ctx.focus = this.focus;
        }
        for (const r of this.pane.list.node.querySelectorAll('.ov-focus')) {
          r.classList.remove('ov-focus');
        }
      },
      expand: key => {
        this.expanded.add(key);
        this.foldEvent(key);
        this.rebuild();
      },
      query: this.searchBar.query,
      hit: this.searchBar.current,
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
              matches: this.searchBar.sealedCounts()
            }
    };
  }

  /**
   * Build the rows for the current state. With `progressive` (a view just opened), only the
   * first screens' rows are built now and the rest after the first paint; otherwise all.
   */
  private rebuild(progressive = false): void {
    const v = this.view;
    const d = this.draft;
    if (!v || !d) {
      this.pane.stop();
      return;
    }
    const opts = {
      mode: this.options.diffView,
      context: this.options.contextLines,
      expanded: this.expanded,
      revealed: this.revealed,
      collapsed: this.collapsed,
      pin: this.pin,
      comments: this.comments(),
      flags: d.flags,
      opened: this.budget() === null ? null : this.opened
    };
    this.pane.build(v.files, opts, this.context(), progressive);
  }

  /** Re-render the visible rows with fresh state (active comment, dispositions), same rows. */
  private refreshRows(): void {
    this.pane.refresh(this.context());
  }

  // ------------------------------------------------------------------ triage

  /** Build the minimap and ranked list when the view carries the assistant's hunk scores, else remove them. */
  private setupTriage(): void {
    const scores = this.view?.critique?.hunk_scores;
    this.triage = scores && scores.length && this.view ? new Triage(this.view.files, scores, { goto: (f, h) => this.gotoHunk(f, h) }) : null;
    this.triageSlot.hidden = !this.triage;
    this.triageSlot.replaceChildren(...(this.triage ? [...(this.rankedOpen ? [this.triage.rankedList()] : []), this.triage.minimap] : []));
  }

  /** Place each hunk on the minimap by its rows' share of the diff's height. */
  private drawTriage(): void {
    this.triage?.draw(this.pane.hunkPlaces());
  }

  // ------------------------------------------------------------------ chrome

  private showEmpty(text: string): void {
    this.header.replaceChildren(el('div', 'ov-empty', text), queueButton(this.transport, null));
    this.toolbar.replaceChildren();
    this.fileList.hide();
    this.pane.clear();
    this.form.node.hidden = true;
  }

  private showHeader(): void {
    const v = this.view as ItemView;
    this.form.node.hidden = false;
    this.renderAuditCounter();
    renderHeader(this.header, v, [queueButton(this.transport, v.assignment.id), el('span', 'ov-progress', this.progressText), this.auditCounter]);
  }

  private renderToolbar(): void {
    const triage = triageControls(
      !!this.view?.critique?.hunk_scores?.length,
      this.rankedOpen,
      () => this.triage?.next(),
      () => {
        this.rankedOpen = !this.rankedOpen;
        this.setupTriage();
        this.drawTriage();
        return this.rankedOpen;
      }
    );
    const nav = el('span', 'ov-comment-nav');
    this.toolbar.replaceChildren(...layoutControls(this.options, o => this.setOptions(o)), this.searchBar.build(), triage, nav);
    this.renderCommentNav();
    this.renderHitCount();
  }

  /** The files pane: a click on a file opens it if collapsed and puts its header at the top. */
  private renderFileList(): void {
    const v = this.view as ItemView;
    this.fileList.render(v.files, new Set(this.draft?.viewed ?? []), this.pane.ctx, i => {
      if (this.collapsed.delete(i)) {
        this.rebuild();
      }
      this.pane.showFile(i);
    });
  }

  private renderCommentNav(): void {
    const nav = this.toolbar.querySelector('.ov-comment-nav');
    if (nav) {
      renderCommentNav(nav, this.comments().length, this.activeComment, Object.keys(this.draft?.dispositions ?? {}).length, this.keys, step => this.jumpComment(step));
    }
  }
}

/**
 * The life of one judgment in the review view: its draft (kept in this browser at each
 * change), the active time against the item's time limit, the attention record, and the
 * submission: its checks, the send through the transport, and the server's answer (saved,
 * queued offline, refused). The view decides what is shown; this decides when the draft is
 * saved, locked and sent.
 */
import { AttentionRecorder, emptyRecord } from './attention';
import { ActiveClock, contradictions, Draft, dropDraft, dropDraftBySubmission, freshDraft, loadDraft, missingFields, saveDraft, toCannotJudgePayload, toPayload } from './draft';
import { JudgmentForm } from './form';
import { el } from './rows';
import { AssignmentView, CannotJudge, CommentView, JudgmentPayload, ReviewTransport } from './types';

/** What the judgment reads from the view, always as it is now. */
export interface JudgmentHost {
  /** The assignment shown, or null while none is. */
  assignment(): AssignmentView | null;
  comments(): CommentView[];
  /** Redraw the rows: their keep / edit / reject buttons and flags lock and unlock with the form. */
  refreshRows(): void;
}

export class Judgment {
  /** The draft of the item shown (null while none is). */
  draft: Draft | null = null;
  /** What the rater had on screen and when, recorded into the draft. */
  attention: AttentionRecorder | null = null;
  private clock: ActiveClock;
  private timeUp = false;

  constructor(
    private form: JudgmentForm,
    private transport: ReviewTransport,
    private host: JudgmentHost
  ) {
    this.clock = new ActiveClock(s => this.tick(s));
  }

  /** Stop the time and the attention record (the view goes away). */
  dispose(): void {
    this.clock.stop();
    this.attention?.stop();
  }

  /** Stop the time and drop the attention record: another item comes. */
  stop(): void {
    this.clock.stop();
    this.attention?.stop();
    this.attention = null;
    this.timeUp = false;
  }

  /**
   * Take up the draft of assignment `id`: the one stored in this browser, unless the server
   * already holds what it waited for (`prior`), else a fresh one from `prior`. Returns the stored
   * draft, or null when it starts afresh.
   */
  open(id: string, prior: JudgmentPayload | null): Draft | null {
    let stored = loadDraft(id);
    if (stored && prior && prior.submission_id === stored.submission_id) {
      // The server holds the submission this draft was waiting for: it is done.
      dropDraft(id);
      stored = null;
    }
    this.draft = stored ?? freshDraft(id, prior);
    return stored;
  }

  /** Start the attention record (before the first rows render, so the first screen is recorded) and say where the draft stands. */
  begin(prior: JudgmentPayload | null, stored: Draft | null): void {
    const d = this.draft as Draft;
    d.attention ??= emptyRecord();
    this.attention = new AttentionRecorder(d.attention, Date.parse(d.started_at));
    if (!d.submitted) {
      this.attention.start();
    }
    if (d.submitted) {
      this.form.setStatus('queued', 'Waiting for the server to confirm…');
    } else if (prior && !stored) {
      const said = prior.cannot_judge ? ' as "cannot judge"' : '';
      this.form.setStatus('saved', `Saved${said} ✓ (you can revise and resubmit)`);
    } else {
      this.form.setStatus('idle', stored ? 'Draft restored' : '');
    }
  }

  /** Show the time left and start the clock (once the rows are on screen). */
  run(): void {
    this.updateCountdown();
    if (!this.draft?.submitted) {
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
      this.host.refreshRows();
      this.form.setStatus('error', `Not saved: ${message}`);
      this.clock.start();
      this.attention?.start();
    }
  }

  async submit(confirmed = false): Promise<void> {
    const d = this.draft;
    const a = this.host.assignment();
    if (!d || !a || d.submitted) {
      return;
    }
    const scale = a.verdict_scale;
    const missing = missingFields(d, scale);
    if (missing.length) {
      this.form.setStatus('error', `Choose ${missing.join(' and ')} before submitting`);
      return;
    }
    const kept = contradictions(d, this.host.comments(), scale);
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
    if (!d || !this.host.assignment() || d.submitted) {
      return;
    }
    this.form.closeQuestion();
    await this.send(d, () => toCannotJudgePayload(d, why));
  }

  async next(): Promise<void> {
    if (this.draft && this.draft.submitted && this.form.statusKind !== 'saved') {
      return; // leave only once the server confirmed, so the rater sees any refusal
    }
    await this.transport.next();
  }

  /** The rater changed the draft: keep it (and send it, once the time is up). */
  changed(): void {
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
    this.host.refreshRows(); // keep / edit / reject and the flags lock with the form
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
    const a = this.host.assignment();
    const limit = a?.time_limit_s;
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
      const missing = missingFields(this.draft, (a as AssignmentView).verdict_scale);
      if (missing.length) {
        // A judgment needs a verdict and a confidence; it goes out the moment they are chosen.
        this.form.setStatus('error', `Time is up: choose ${missing.join(' and ')} to submit`);
      } else {
        void this.submit();
      }
    }
  }
}

/**
 * The in-progress judgment of one assignment, kept in localStorage so that a page reload
 * (or a kernel restart under the notebook widget) mid-item restores every choice, the
 * submission id and the active time already spent.
 */
import { AttentionRecord, CannotJudge, Disposition, JudgmentPayload, LineFlag } from './types';

export interface Draft {
  assignment_id: string;
  /** Made once per judgment on the client; a retry or double click reuses it, so one row is stored. */
  submission_id: string;
  started_at: string;
  active_s: number;
  verdict: 'buggy' | 'correct' | null;
  confidence: number | null;
  likert: number | null;
  comment: string;
  flags: LineFlag[];
  dispositions: Record<string, Disposition>;
  supersedes: string | null;
  /** Paths of the files the rater marked as viewed (absent in drafts kept by older versions). */
  viewed?: string[];
  /** What was on screen and when (src/attention.ts; absent in drafts kept by older versions). */
  attention?: AttentionRecord;
  /** Hunks (`file:hunk`) opened in depth under the study's audit budget. */
  audits?: string[];
  /** Set when the rater pressed submit: the draft is frozen and waits for the server. */
  submitted: boolean;
}

const PREFIX = 'oversight-ext:draft:';

export function newId(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') {
    return crypto.randomUUID();
  }
  // randomUUID needs a secure context; plain-http hosts other than localhost lack it.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map(x => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // sandboxed iframes may forbid storage: the draft then lives only in memory
  }
}

/** A fresh draft, pre-filled from the rater's stored judgment when they revise one. */
export function freshDraft(assignmentId: string, previous: JudgmentPayload | null): Draft {
  const d: Draft = {
    assignment_id: assignmentId,
    submission_id: newId(),
    started_at: new Date().toISOString(),
    active_s: 0,
    verdict: null,
    confidence: null,
    likert: null,
    comment: '',
    flags: [],
    dispositions: {},
    supersedes: null,
    viewed: [],
    attention: { spans: [], events: [] },
    submitted: false
  };
  if (previous) {
    d.verdict = previous.verdict ?? null;
    d.confidence = previous.confidence ?? null;
    d.likert = previous.likert;
    d.comment = previous.comment;
    d.flags = previous.flags.map(f => ({ ...f }));
    for (const disp of previous.dispositions) {
      d.dispositions[disp.comment_id] = { ...disp };
    }
    d.supersedes = previous.submission_id;
    // A revision keeps the hunks already opened: they stay open and free, and the budget is the item's.
    d.audits = [...new Set((previous.attention?.events ?? []).filter(e => e[1] === 'audit').map(e => `${e[2]}:${e[3]}`))];
  }
  return d;
}

export function loadDraft(assignmentId: string): Draft | null {
  const raw = storage()?.getItem(PREFIX + assignmentId);
  if (!raw) {
    return null;
  }
  try {
    const d = JSON.parse(raw) as Draft;
    return d.assignment_id === assignmentId ? d : null;
  } catch {
    return null;
  }
}

export function saveDraft(d: Draft): void {
  storage()?.setItem(PREFIX + d.assignment_id, JSON.stringify(d));
}

export function dropDraft(assignmentId: string): void {
  storage()?.removeItem(PREFIX + assignmentId);
}

/** Forget the draft that waited for `submissionId`, whichever assignment it belongs to. */
export function dropDraftBySubmission(submissionId: string): void {
  try {
    for (let i = 0; i < window.localStorage.length; i++) {
      const key = window.localStorage.key(i) ?? '';
      if (key.startsWith(PREFIX)) {
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

/** What is still missing before the draft can be submitted (empty when complete). */
export function missingFields(d: Draft, scale: 'binary' | 'likert'): string[] {
  const out: string[] = [];
  if (scale === 'likert' ? d.likert === null : d.verdict === null) {
    out.push('verdict');
  }
  if (d.confidence === null) {
    out.push('confidence');
  }
  for (const disp of Object.values(d.dispositions)) {
    if (disp.action === 'edit' && !(disp.edited_text ?? '').trim()) {
      out.push('edited comment text');
      break;
    }
  }
  return out;
}

/**
 * The comments the rater kept (or edited) that claim a serious problem while the verdict says
 * "correct": a likely slip the view asks about before submitting.
 */
export function contradictions(d: Draft, comments: Array<{ id: string; severity: string }>, scale: 'binary' | 'likert'): string[] {
  const verdict = scale === 'likert' ? (d.likert === null ? null : verdictOfLikert(d.likert)) : d.verdict;
  if (verdict !== 'correct') {
    return [];
  }
  const serious = new Set(['critical', 'major']);
  return comments
    .filter(c => serious.has(c.severity) && (d.dispositions[c.id]?.action === 'keep' || d.dispositions[c.id]?.action === 'edit'))
    .map(c => c.id);
}

/** A Likert answer from 1 (certainly correct) to 7 (certainly has a bug); 4 and up leans buggy. */
export function verdictOfLikert(likert: number): 'buggy' | 'correct' {
  return likert >= 4 ? 'buggy' : 'correct';
}

/** What every POST body of a draft carries, whatever the rater concluded. */
function common(d: Draft) {
  return {
    submission_id: d.submission_id,
    assignment_id: d.assignment_id,
    time_on_task_s: Math.round(d.active_s * 10) / 10,
    flags: d.flags.map(f => ({ ...f })),
    dispositions: Object.values(d.dispositions).map(x => ({
      comment_id: x.comment_id,
      action: x.action,
      reason: x.reason,
      edited_text: x.action === 'edit' ? x.edited_text : null
    })),
    comment: d.comment,
    supersedes: d.supersedes,
    started_at: d.started_at,
    submitted_at: new Date().toISOString(),
    attention: d.attention ? (JSON.parse(JSON.stringify(d.attention)) as AttentionRecord) : null
  };
}

/** The POST body for a complete draft. */
export function toPayload(d: Draft, scale: 'binary' | 'likert'): JudgmentPayload {
  const verdict = scale === 'likert' && d.likert !== null ? verdictOfLikert(d.likert) : d.verdict;
  if (verdict === null || d.confidence === null) {
    throw new Error(`cannot submit: choose ${missingFields(d, scale).join(' and ')}`);
  }
  return { ...common(d), verdict, confidence: d.confidence, likert: scale === 'likert' ? d.likert : null };
}

/** The POST body saying the rater cannot judge the item, and why: no verdict, confidence or Likert. */
export function toCannotJudgePayload(d: Draft, why: CannotJudge): JudgmentPayload {
  const note = (why.note ?? '').trim();
  if (why.reason === 'other' && !note) {
    throw new Error('cannot submit: say why the item cannot be judged');
  }
  return { ...common(d), likert: null, cannot_judge: note ? { reason: why.reason, note } : { reason: why.reason } };
}

/**
 * Counts active seconds: time while the page is visible. A hidden tab (another tab in front,
 * a minimised window) does not count, so time on task measures attention, not wall time.
 */
export class ActiveClock {
  private last: number | null = null;
  private timer: number | undefined;
  private onVis = (): void => this.sync();

  constructor(private tick: (seconds: number) => void) {}

  start(): void {
    this.stop();
    this.last = this.visible() ? performance.now() : null;
    document.addEventListener('visibilitychange', this.onVis);
    this.timer = window.setInterval(() => this.sync(), 1000);
  }

  stop(): void {
    this.sync();
    window.clearInterval(this.timer);
    document.removeEventListener('visibilitychange', this.onVis);
    this.last = null;
  }

  /** Add the visible time since the last call and restart the interval. */
  sync(): void {
    const now = performance.now();
    if (this.last !== null) {
      this.tick((now - this.last) / 1000);
    }
    this.last = this.visible() ? now : null;
  }

  private visible(): boolean {
    return document.visibilityState !== 'hidden';
  }
}

/**
 * The shapes the review UI exchanges with the server (REST) or the kernel (widget).
 * They mirror the server's item-view contract and the Judgment record's JSON form.
 */

/** [kind, old line, new line, text]; kind is context | add | del | meta. */
export type DiffLineTuple = [LineKind, number | null, number | null, string];
export type LineKind = 'context' | 'add' | 'del' | 'meta';
export type Side = 'new' | 'old';

export interface HunkView {
  header: string;
  old_start: number;
  old_len: number;
  new_start: number;
  new_len: number;
  lines: DiffLineTuple[];
}

export interface FileView {
  old_path: string;
  new_path: string;
  status: string;
  binary: boolean;
  added: number;
  removed: number;
  hunks: HunkView[];
}

export interface CommentView {
  id: string;
  path: string;
  side: Side;
  start_line: number;
  end_line: number;
  text: string;
  severity: string;
  category: string;
}

export interface CritiqueView {
  id: string;
  verdict: 'buggy' | 'correct' | null;
  confidence: number | null;
  summary: string;
  comments: CommentView[];
  /** The assistant's suspicion of each hunk, in diff order (files then hunks); sent only where the condition shows its evidence. */
  hunk_scores?: number[];
}

export interface AssignmentView {
  id: string;
  study: string;
  position: number;
  condition_kind: 'assisted' | 'unassisted';
  display: 'evidence' | 'verdict';
  time_limit_s: number | null;
  /** Hunks of the item the rater may open in depth; null or absent: no audit budget. */
  audit_budget_hunks?: number | null;
  verdict_scale: 'binary' | 'likert';
  /** The study's confidence levels (binary verdicts: 0.55-0.95); older servers send none. */
  confidence_levels?: number[];
}

export interface ItemView {
  assignment: AssignmentView;
  item: { id: string; spec: string; language: string; task: string; path: string; diff: string };
  files: FileView[];
  critique: CritiqueView | null;
  judgment: JudgmentPayload | null;
}

/**
 * A hunk as the server sends it: `kinds` holds one character per line (' ' context, '+' added,
 * '-' deleted, '\\' meta) and `text` the lines without their prefix, joined by newlines (a line
 * never holds one); the line numbers follow from the starts. A hundred thousand lines travel as
 * a few strings instead of a hundred thousand arrays (see decodeFiles in diffmodel.ts).
 */
export interface WireHunk {
  header: string;
  old_start: number;
  old_len: number;
  new_start: number;
  new_len: number;
  kinds: string;
  text: string;
}

export interface WireFile extends Omit<FileView, 'hunks'> {
  hunks: Array<WireHunk | HunkView>;
}

/** The item view as it arrives from the server or the kernel, before its hunks are decoded. */
export interface WireItemView extends Omit<ItemView, 'files'> {
  files: WireFile[];
}

export interface LineFlag {
  path: string;
  line: number;
  side: Side;
  comment: string;
  /** The last line of a flag over several lines (absent or null: one line). */
  end_line?: number | null;
  severity?: FlagSeverity | null;
  category?: string | null;
}

export type FlagSeverity = 'info' | 'minor' | 'major' | 'critical';

export type Action = 'keep' | 'edit' | 'reject';
export type Reason = 'valid' | 'nitpick' | 'wrong';

export interface Disposition {
  comment_id: string;
  action: Action;
  reason: Reason | null;
  edited_text: string | null;
}

/** The POST /oversight/api/judgments body (and the judgment the server echoes back). */
export interface JudgmentPayload {
  submission_id: string;
  assignment_id: string;
  /** Absent in a "cannot judge" submission (cannot_judge set), required otherwise. */
  verdict?: 'buggy' | 'correct';
  confidence?: number;
  time_on_task_s: number;
  flags: LineFlag[];
  dispositions: Disposition[];
  likert: number | null;
  comment: string;
  supersedes: string | null;
  started_at: string | null;
  submitted_at: string;
  /** What was on screen and when (src/attention.ts); older clients send none. */
  attention?: AttentionRecord | null;
  /** Instead of a verdict: the rater cannot judge this item, and why. */
  cannot_judge?: CannotJudge | null;
}

/** Why a rater gives no verdict (the schema's short fixed list; "other" needs a note). */
export type CannotJudgeReason = 'outside_expertise' | 'too_large' | 'broken' | 'other';

export interface CannotJudge {
  reason: CannotJudgeReason;
  note?: string;
}

/** The reasons the panel offers, in its order, with their words. */
export const CANNOT_JUDGE_REASONS: Array<[CannotJudgeReason, string]> = [
  ['outside_expertise', 'Outside my expertise'],
  ['too_large', 'Too large for the time'],
  ['broken', 'Item is broken / unreadable'],
  ['other', 'Other (say why)']
];

/** [t0_ms, t1_ms, file, hunk, first, last]: hunk lines first..last on screen from t0 to t1 ms after started_at. */
export type AttentionSpan = [number, number, number, number, number, number];
export type AttentionKind = 'expand' | 'search' | 'audit';
/** [t_ms, kind, file, hunk]: the rater expanded folded context, or went to a search hit, in the hunk. */
export type AttentionEvent = [number, AttentionKind, number, number];

/** The attention record (oversight_ext/attention.py describes it; the schema limits it). */
export interface AttentionRecord {
  spans: AttentionSpan[];
  events: AttentionEvent[];
  /** Set once the client stopped recording at the size limits. */
  truncated?: boolean;
}

/**
 * The schema's default five confidence levels, used when the server sends no study levels
 * (the assignment's confidence_levels). Written once in
 * oversight_ext/schema/submission.schema.json (with JudgmentPayload's fields);
 * tests/test_submission_schema.py checks this file against it.
 */
export const CONFIDENCE_LEVELS = [0.25, 0.42, 0.6, 0.8, 1.0];

/** How a submission ended: stored by the server, waiting in the offline queue, or refused. */
export type SubmitOutcome = { state: 'saved' } | { state: 'queued' } | { state: 'error'; message: string };

/**
 * How a ReviewView talks to its back end: fetch to the REST API in the JupyterLab panel,
 * `model.send` and traitlets in the notebook widget.
 */
export interface ReviewTransport {
  /** Deliver a judgment; resolves once it is stored, queued for retry, or refused. */
  submit(payload: JudgmentPayload): Promise<SubmitOutcome>;
  /** Ask for the next assignment; the host then calls ReviewView.setView. */
  next(): Promise<void>;
  /** The rater's queue in order, each assignment done or not (hosts that can list it). */
  queue?(): Promise<QueueEntry[]>;
  /** Show one assignment of the queue, e.g. a submitted one to revise. */
  open?(assignmentId: string): Promise<void>;
}

export interface QueueEntry {
  id: string;
  position: number;
  done: boolean;
  /** open, judged (a verdict) or cannot_judge; older servers send only done. */
  status?: 'open' | 'judged' | 'cannot_judge';
}

export interface ReviewOptions {
  diffView: 'unified' | 'split';
  contextLines: number;
  rowHeight: number;
  /** Wrap long lines (true) or keep one row per line and scroll sideways (false). */
  wrapLines: boolean;
}

export const DEFAULT_OPTIONS: ReviewOptions = { diffView: 'unified', contextLines: 3, rowHeight: 20, wrapLines: true };

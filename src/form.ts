/**
 * The judgment form under the diff: verdict (binary or 1-7 Likert), confidence (the study's levels),
 * an overall comment, the submit button, the saved / queued / error state and the countdown.
 */
import { Draft } from './draft';
import { el } from './rows';
import { CANNOT_JUDGE_REASONS, CONFIDENCE_LEVELS, CannotJudge, CannotJudgeReason } from './types';

export type StatusKind = 'idle' | 'sending' | 'saved' | 'queued' | 'error';

export interface FormHost {
  changed(): void;
  submit(): void;
  /** Send a "cannot judge" record with the rater's reason instead of a verdict. */
  cannotJudge(why: CannotJudge): void;
  next(): void;
}

const LIKERT_LABELS = ['certainly correct', 'probably correct', 'leaning correct', 'unsure', 'leaning bug', 'probably bug', 'certainly bug'];

export class JudgmentForm {
  readonly node = el('div', 'ov-form');
  private verdictBox = el('div', 'ov-verdict');
  private confBox = el('div', 'ov-confidence');
  private commentBox = el('textarea', 'ov-overall');
  readonly submitButton = el('button', 'ov-btn ov-submit ov-primary', 'Submit');
  private nextButton = el('button', 'ov-btn ov-next', 'Next item →');
  readonly cannotButton = el('button', 'ov-btn ov-cannot', 'Cannot judge…');
  private cannotBox = el('div', 'ov-form-row ov-cannot-box');
  private status = el('span', 'ov-status');
  private confirmBox = el('div', 'ov-form-row ov-confirm');
  readonly countdown = el('span', 'ov-countdown');
  private draft: Draft | null = null;
  private scale: 'binary' | 'likert' = 'binary';
  private levels: readonly number[] = CONFIDENCE_LEVELS;

  constructor(private host: FormHost) {
    const vRow = el('div', 'ov-form-row');
    vRow.append(el('span', 'ov-label', 'Verdict'), this.verdictBox);
    const cRow = el('div', 'ov-form-row');
    cRow.append(el('span', 'ov-label', 'Confidence'), this.confBox);
    this.commentBox.placeholder = 'Overall comment (optional)';
    this.commentBox.setAttribute('aria-label', 'Overall comment');
    this.commentBox.addEventListener('input', () => {
      if (this.draft) {
        this.draft.comment = this.commentBox.value;
        this.host.changed();
      }
    });
    this.submitButton.type = 'button';
    this.submitButton.title = 'Submit (Ctrl+Enter)';
    this.submitButton.addEventListener('click', () => this.host.submit());
    this.nextButton.type = 'button';
    this.nextButton.title = 'Next item (n)';
    this.nextButton.hidden = true;
    this.nextButton.addEventListener('click', () => this.host.next());
    this.status.setAttribute('role', 'status');
    this.status.setAttribute('aria-live', 'polite');
    this.cannotButton.type = 'button';
    this.cannotButton.title = 'Give no verdict and say why (outside your expertise, too large, broken, other)';
    this.cannotButton.addEventListener('click', () => this.openCannotJudge());
    const actions = el('div', 'ov-form-row ov-form-actions');
    actions.append(this.submitButton, this.cannotButton, this.status, this.countdown, this.nextButton);
    this.confirmBox.hidden = true;
    this.confirmBox.setAttribute('role', 'alertdialog');
    this.cannotBox.hidden = true;
    this.cannotBox.setAttribute('role', 'group');
    this.cannotBox.setAttribute('aria-label', 'Cannot judge this item');
    this.node.append(vRow, cRow, this.commentBox, this.confirmBox, this.cannotBox, actions);
  }

  /** The reason picker: a fixed list, a note (required for "other"), send or cancel. */
  private openCannotJudge(): void {
    if (!this.cannotBox.hidden) {
      this.cannotBox.hidden = true;
      return;
    }
    const pick = el('select', 'ov-cannot-reason');
    pick.setAttribute('aria-label', 'Why you cannot judge this item');
    for (const [value, label] of CANNOT_JUDGE_REASONS) {
      const o = el('option', '', label);
      o.value = value;
      pick.append(o);
    }
    const note = el('input', 'ov-cannot-note');
    note.type = 'text';
    note.maxLength = 2000;
    note.placeholder = 'Note (required for Other)';
    note.setAttribute('aria-label', 'Why, in your words');
    const send = el('button', 'ov-btn ov-primary ov-cannot-send', 'Submit: cannot judge');
    send.type = 'button';
    const back = el('button', 'ov-btn ov-cannot-cancel', 'Cancel');
    back.type = 'button';
    const problem = el('span', 'ov-cannot-problem');
    send.addEventListener('click', () => {
      const reason = pick.value as CannotJudgeReason;
      const text = note.value.trim();
      if (reason === 'other' && !text) {
        problem.textContent = 'Say why in the note';
        note.focus();
        return;
      }
      this.cannotBox.hidden = true;
      this.host.cannotJudge(text ? { reason, note: text } : { reason });
    });
    back.addEventListener('click', () => {
      this.cannotBox.hidden = true;
    });
    this.cannotBox.replaceChildren(el('span', 'ov-label', 'Cannot judge'), pick, note, send, back, problem);
    this.cannotBox.hidden = false;
    pick.focus();
  }

  /** Ask before submitting: `yes` runs on "Submit anyway"; "Go back" only closes the question. */
  ask(question: string, yes: () => void): void {
    const go = el('button', 'ov-btn ov-primary ov-confirm-yes', 'Submit anyway');
    go.type = 'button';
    const back = el('button', 'ov-btn ov-confirm-no', 'Go back');
    back.type = 'button';
    go.addEventListener('click', () => {
      this.confirmBox.hidden = true;
      yes();
    });
    back.addEventListener('click', () => {
      this.confirmBox.hidden = true;
    });
    this.confirmBox.replaceChildren(el('span', 'ov-confirm-text', question), go, back);
    this.confirmBox.hidden = false;
    go.focus();
  }

  closeQuestion(): void {
    this.confirmBox.hidden = true;
  }

  /**
   * Show a draft's choices; the controls write back into it. `levels`: the study's confidence
   * levels as the server sends them (an older server sends none: the schema's default five).
   */
  bind(draft: Draft, scale: 'binary' | 'likert', levels?: readonly number[]): void {
    this.levels = levels && levels.length ? levels : CONFIDENCE_LEVELS;
    this.draft = draft;
    this.scale = scale;
    this.commentBox.value = draft.comment;
    this.render();
  }

  /** Lock the controls while a submission is in flight or stored. */
  setLocked(locked: boolean): void {
    this.submitButton.disabled = locked;
    this.cannotButton.disabled = locked;
    if (locked) {
      this.cannotBox.hidden = true;
    }
    for (const b of this.node.querySelectorAll<HTMLButtonElement>('.ov-choice')) {
      b.disabled = locked;
    }
    this.commentBox.readOnly = locked;
  }

  setStatus(kind: StatusKind, text: string): void {
    this.status.dataset.state = kind;
    this.status.textContent = text;
    this.nextButton.hidden = kind !== 'saved';
  }

  get statusKind(): StatusKind {
    return (this.status.dataset.state as StatusKind) || 'idle';
  }

  setSubmitLabel(text: string): void {
    this.submitButton.textContent = text;
  }

  private choice(label: string, pressed: boolean, onPick: () => void): HTMLButtonElement {
    const b = el('button', 'ov-btn ov-choice', label);
    b.type = 'button';
    b.setAttribute('aria-pressed', String(pressed));
    b.addEventListener('click', () => {
      onPick();
      this.render();
      this.host.changed();
    });
    return b;
  }

  private render(): void {
    const d = this.draft;
    if (!d) {
      return;
    }
    this.verdictBox.replaceChildren();
    if (this.scale === 'binary') {
      for (const [value, label] of [
        ['correct', 'Correct'],
        ['buggy', 'Has a bug']
      ] as const) {
        const b = this.choice(label, d.verdict === value, () => (d.verdict = value));
        b.dataset.verdict = value;
        this.verdictBox.append(b);
      }
    } else {
      LIKERT_LABELS.forEach((label, i) => {
        const b = this.choice(String(i + 1), d.likert === i + 1, () => (d.likert = i + 1));
        b.dataset.likert = String(i + 1);
        b.title = label;
        this.verdictBox.append(b);
      });
      this.verdictBox.append(el('span', 'ov-hint', '1 = certainly correct … 7 = certainly has a bug'));
    }
    this.confBox.replaceChildren();
    for (const level of this.levels) {
      const b = this.choice(`${Math.round(level * 100)}%`, d.confidence !== null && Math.abs(d.confidence - level) < 1e-6, () => (d.confidence = level));
      b.dataset.confidence = String(level);
      this.confBox.append(b);
    }
    this.setLocked(d.submitted);
  }
}

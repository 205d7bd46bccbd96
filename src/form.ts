/**
 * The judgment form under the diff: verdict (binary or 1-7 Likert), confidence (the study's levels),
 * an overall comment, the submit button, the saved / queued / error state and the countdown.
 */
import { Draft } from './draft';
import { el } from './rows';
import { CONFIDENCE_LEVELS } from './types';

export type StatusKind = 'idle' | 'sending' | 'saved' | 'queued' | 'error';

export interface FormHost {
  changed(): void;
  submit(): void;
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
    const actions = el('div', 'ov-form-row ov-form-actions');
    actions.append(this.submitButton, this.status, this.countdown, this.nextButton);
    this.confirmBox.hidden = true;
    this.confirmBox.setAttribute('role', 'alertdialog');
    this.node.append(vRow, cRow, this.commentBox, this.confirmBox, actions);
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

/**
 * The notebook widget (anywidget ES module): the same ReviewView, talking to the kernel.
 * Python sends `view` (the item view, {} when done), `progress` and `status`; the view sends
 * {type: "submit", payload} and {type: "next"} messages.
 */
import css from '../style/review.css';
import { ReviewView } from './reviewview';
import { DEFAULT_OPTIONS, JudgmentPayload, ReviewTransport, SubmitOutcome, WireItemView } from './types';

interface AnyModel {
  get(name: string): any;
  set(name: string, value: any): void;
  save_changes(): void;
  send(msg: any): void;
  on(event: string, cb: () => void): void;
  off(event: string, cb: () => void): void;
}

const ANSWER_TIMEOUT_MS = 20000;

/** Sends to the kernel and waits for `status` to say saved or error (or the view to hold the judgment). */
export class WidgetTransport implements ReviewTransport {
  constructor(private model: AnyModel) {}

  submit(payload: JudgmentPayload): Promise<SubmitOutcome> {
    const model = this.model;
    return new Promise(resolve => {
      const finish = (o: SubmitOutcome): void => {
        clearTimeout(timer);
        model.off('change:status', onStatus);
        model.off('change:view', onView);
        resolve(o);
      };
      const onStatus = (): void => {
        const s = String(model.get('status') ?? '');
        if (s === 'saved') {
          finish({ state: 'saved' });
        } else if (s.startsWith('error')) {
          finish({ state: 'error', message: s.replace(/^error:\s*/, '') });
        }
      };
      const onView = (): void => {
        const v = model.get('view') as WireItemView;
        if (v?.judgment?.submission_id === payload.submission_id) {
          finish({ state: 'saved' });
        }
      };
      // A dead kernel never answers; the draft stays, and Submit resends the same submission id.
      const timer = setTimeout(
        () => finish({ state: 'error', message: 'no answer from the kernel (restarted?); run the cell again, then Submit' }),
        ANSWER_TIMEOUT_MS
      );
      model.on('change:status', onStatus);
      model.on('change:view', onView);
      // Reset the status so that the kernel's "saved" is a change even after an earlier save.
      model.set('status', 'sending');
      model.save_changes();
      model.send({ type: 'submit', payload });
    });
  }

  async next(): Promise<void> {
    this.model.send({ type: 'next' });
  }
}

function injectStyle(): void {
  if (!document.getElementById('oversight-ext-widget-style')) {
    const style = document.createElement('style');
    style.id = 'oversight-ext-widget-style';
    style.textContent = css;
    document.head.appendChild(style);
  }
}

export function render({ model, el }: { model: AnyModel; el: HTMLElement }): () => void {
  injectStyle();
  const view = new ReviewView(new WidgetTransport(model), { ...DEFAULT_OPTIONS });
  view.node.classList.add('ov-widget');
  el.appendChild(view.node);
  let shown = '';
  const show = (): void => {
    const v = model.get('view') as WireItemView | Record<string, never>;
    const id = v && 'assignment' in v ? `${v.assignment.id}:${v.judgment?.submission_id ?? ''}` : '';
    if (id && id === shown) {
      return; // the same item re-sent after a save: keep the view (and its saved state)
    }
    shown = id;
    view.setView(v && 'assignment' in v ? (v as WireItemView) : null);
  };
  const progress = (): void => {
    const p = model.get('progress') ?? {};
    view.setProgress(Number(p.done ?? 0), Number(p.total ?? 0));
  };
  model.on('change:view', show);
  model.on('change:progress', progress);
  show();
  progress();
  return () => {
    model.off('change:view', show);
    model.off('change:progress', progress);
    view.dispose();
  };
}

export default { render };

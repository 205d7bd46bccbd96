/**
 * The JupyterLab main-area review panel (a ReviewView over REST) and the sidebar that lists
 * the rater's studies with their progress and a start / continue button.
 */
import { Widget } from '@lumino/widgets';
import { Outbox } from './outbox';
import { ApiError, ReviewApi, RestTransport } from './rest';
import { el } from './rows';
import { ReviewView } from './reviewview';
import { ReviewOptions } from './types';

export class ReviewPanel extends Widget {
  readonly view: ReviewView;
  readonly transport: RestTransport;
  private unlisten: () => void;

  constructor(api: ReviewApi, outbox: Outbox, readonly study: string, options: ReviewOptions, onSaved: () => void) {
    super();
    this.id = `oversight-review-${study.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    this.title.label = `Review: ${study}`;
    this.title.closable = true;
    this.addClass('jp-OversightReview');
    this.transport = new RestTransport(api, outbox, study, {
      show: v => this.view.setView(v),
      progress: (done, total) => this.view.setProgress(done, total)
    });
    this.view = new ReviewView(this.transport, options);
    this.node.appendChild(this.view.node);
    this.unlisten = outbox.listen({
      saved: p => {
        this.view.confirm(p.submission_id);
        void this.transport.refreshProgress().catch(() => undefined);
        onSaved();
      },
      refused: (p, msg) => this.view.refuse(p.submission_id, msg),
      waiting: (p, why) => {
        if (this.view.currentView?.assignment.id === p.assignment_id) {
          this.view.setStatus('queued', `Not yet saved: ${why}`);
        }
      }
    });
  }

  /** Load the rater's next assignment; errors show in the view rather than vanish. */
  async start(): Promise<void> {
    try {
      await this.transport.next();
    } catch (err) {
      this.view.setView(null, `Could not load the study: ${errorText(err)}`);
    }
  }

  protected onAfterShow(): void {
    this.view.node.focus({ preventScroll: true });
  }

  protected onActivateRequest(): void {
    this.view.node.focus({ preventScroll: true });
  }

  dispose(): void {
    this.unlisten();
    this.view.dispose();
    super.dispose();
  }
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    return err.message;
  }
  return (err as Error)?.message ?? String(err);
}

export class StudiesSidebar extends Widget {
  private list = el('div', 'ov-study-list');
  private who = el('div', 'ov-who');

  constructor(
    private api: ReviewApi,
    private open: (study: string) => void
  ) {
    super();
    this.id = 'oversight-studies';
    this.title.caption = 'Oversight studies';
    this.addClass('jp-OversightSidebar');
    const head = el('div', 'ov-side-head');
    const refresh = el('button', 'ov-btn ov-refresh', '↻');
    refresh.type = 'button';
    refresh.title = 'Refresh';
    refresh.addEventListener('click', () => void this.refresh());
    head.append(el('h2', 'ov-side-title', 'Review studies'), refresh);
    this.node.append(head, this.who, this.list);
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  async refresh(): Promise<void> {
    let me;
    try {
      me = await this.api.me();
    } catch (err) {
      this.list.replaceChildren(el('div', 'ov-error', `Cannot reach the oversight server: ${errorText(err)}`));
      return;
    }
    this.who.textContent = `Signed in as ${me.rater}${me.role === 'owner' ? ' (owner)' : ''}`;
    if (!me.studies.length) {
      this.list.replaceChildren(el('div', 'ov-empty', 'No studies are assigned to you yet.'));
      return;
    }
    this.list.replaceChildren(
      ...me.studies.map(s => {
        const card = el('div', 'ov-study-card');
        card.dataset.study = s.name;
        const bar = el('div', 'ov-bar');
        const fill = el('div', 'ov-bar-fill');
        fill.style.width = `${s.total ? (100 * s.done) / s.total : 0}%`;
        bar.append(fill);
        const finished = s.total > 0 && s.done >= s.total;
        const label = finished ? 'Review again' : s.done ? 'Continue' : 'Start';
        const b = el('button', 'ov-btn ov-primary ov-start', label);
        b.type = 'button';
        b.addEventListener('click', () => this.open(s.name));
        card.append(el('div', 'ov-study-name', s.name), el('div', 'ov-study-count', `${s.done} / ${s.total} done`), bar, b);
        return card;
      })
    );
  }
}

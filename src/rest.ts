/**
 * The REST side of the panel: typed calls to /oversight/api (Jupyter's token and XSRF are
 * added by ServerConnection) and the transport that sends judgments through the offline queue.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { Outbox, PostResult } from './outbox';
import { JudgmentPayload, QueueEntry, ReviewTransport, SubmitOutcome, WireItemView } from './types';

export interface StudyProgress {
  name: string;
  done: number;
  total: number;
}

export interface Me {
  rater: string;
  role: 'rater' | 'owner';
  studies: StudyProgress[];
}

export interface Queue {
  study: string;
  done: number;
  total: number;
  assignments: QueueEntry[];
}

export class ApiError extends Error {}

export class ReviewApi {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  private url(...parts: string[]): string {
    return URLExt.join(this.settings.baseUrl, 'oversight', 'api', ...parts.map(encodeURIComponent));
  }

  private async get<T>(...parts: string[]): Promise<T> {
    const resp = await ServerConnection.makeRequest(this.url(...parts), { method: 'GET' }, this.settings);
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      throw new ApiError(body?.error ?? body?.message ?? `GET ${parts.join('/')} failed (HTTP ${resp.status})`);
    }
    return body as T;
  }

  me(): Promise<Me> {
    return this.get<Me>('me');
  }

  queue(study: string): Promise<Queue> {
    return this.get<Queue>('studies', study, 'queue');
  }

  async next(study: string): Promise<string | null> {
    return (await this.get<{ assignment_id: string | null }>('studies', study, 'next')).assignment_id;
  }

  /** The item view with the parsed diff only (raw=0): the diff text would travel twice. */
  async view(assignmentId: string): Promise<WireItemView> {
    const url = `${this.url('assignments', assignmentId)}?raw=0`;
    const resp = await ServerConnection.makeRequest(url, { method: 'GET' }, this.settings);
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      throw new ApiError(body?.error ?? body?.message ?? `GET assignments/${assignmentId} failed (HTTP ${resp.status})`);
    }
    return body as WireItemView;
  }

  /** POST a judgment; throws only when the server cannot be reached (the outbox retries). */
  async post(payload: JudgmentPayload): Promise<PostResult> {
    const init = { method: 'POST', body: JSON.stringify(payload), headers: { 'Content-Type': 'application/json' } };
    const resp = await ServerConnection.makeRequest(this.url('judgments'), init, this.settings);
    const body = await resp.json().catch(() => ({}));
    return { status: resp.status, body };
  }
}

export interface RestHost {
  show(view: WireItemView | null): void;
  progress(done: number, total: number): void;
}

/** Submits through the offline queue; `next` asks the server for this rater's next assignment. */
export class RestTransport implements ReviewTransport {
  constructor(
    readonly api: ReviewApi,
    readonly outbox: Outbox,
    readonly study: string,
    private host: RestHost
  ) {}

  async submit(payload: JudgmentPayload): Promise<SubmitOutcome> {
    let outcome: SubmitOutcome | null = null;
    const stop = this.outbox.listen({
      saved: p => {
        if (p.submission_id === payload.submission_id) {
          outcome = { state: 'saved' };
        }
      },
      refused: (p, message) => {
        if (p.submission_id === payload.submission_id) {
          outcome = { state: 'error', message };
        }
      }
    });
    try {
      await this.outbox.submit(payload);
    } finally {
      stop();
    }
    return outcome ?? { state: 'queued' };
  }

  async next(): Promise<void> {
    const id = await this.api.next(this.study);
    this.host.show(id ? await this.api.view(id) : null);
    await this.refreshProgress();
  }

  async queue(): Promise<QueueEntry[]> {
    return (await this.api.queue(this.study)).assignments;
  }

  async open(assignmentId: string): Promise<void> {
    this.host.show(await this.api.view(assignmentId));
    await this.refreshProgress();
  }

  async refreshProgress(): Promise<void> {
    const q = await this.api.queue(this.study);
    this.host.progress(q.done, q.total);
  }
}

/**
 * The offline queue: submitted judgments wait in localStorage until the server confirms
 * them. A network failure or a 5xx keeps the entry and retries with backoff (and at once
 * when the browser comes back online); a 2xx confirms; any other 4xx is a refusal that no
 * retry can fix, so the entry is dropped and the rater is told why. Because the client made
 * the submission id, a retry of a judgment the server did store returns the stored row.
 */
import { JudgmentPayload } from './types';

export interface PostResult {
  status: number;
  body: any;
}

/** Sends one payload; throws when the server cannot be reached at all. */
export type Poster = (payload: JudgmentPayload) => Promise<PostResult>;

export interface OutboxEvents {
  saved(payload: JudgmentPayload, judgment: any): void;
  refused(payload: JudgmentPayload, message: string): void;
  waiting(payload: JudgmentPayload, why: string): void;
}

const KEY = 'oversight-ext:outbox';
const MAX_DELAY_MS = 15000;

export interface KeyValue {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export class Outbox {
  private delay = 1000;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> | null = null;
  private listeners: Partial<OutboxEvents>[] = [];

  constructor(
    private post: Poster,
    private store: KeyValue = window.localStorage,
    private key = KEY
  ) {
    if (typeof window !== 'undefined' && window.addEventListener) {
      window.addEventListener('online', () => void this.flush());
    }
  }

  listen(events: Partial<OutboxEvents>): () => void {
    this.listeners.push(events);
    return () => {
      this.listeners = this.listeners.filter(l => l !== events);
    };
  }

  pending(): JudgmentPayload[] {
    try {
      return JSON.parse(this.store.getItem(this.key) || '[]') as JudgmentPayload[];
    } catch {
      return [];
    }
  }

  /** Queue a payload (once per submission id) and try to deliver everything queued. */
  async submit(payload: JudgmentPayload): Promise<void> {
    const queue = this.pending();
    if (!queue.some(p => p.submission_id === payload.submission_id)) {
      queue.push(payload);
      this.store.setItem(this.key, JSON.stringify(queue));
    }
    await this.flush();
  }

  /** Deliver queued payloads in order; resolves after one pass (a retry is scheduled if needed). */
  flush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.pass().finally(() => {
        this.flushing = null;
      });
    }
    return this.flushing;
  }

  private remove(submissionId: string): void {
    const rest = this.pending().filter(p => p.submission_id !== submissionId);
    this.store.setItem(this.key, JSON.stringify(rest));
  }

  private emit<K extends keyof OutboxEvents>(name: K, ...args: Parameters<OutboxEvents[K]>): void {
    for (const l of this.listeners) {
      (l[name] as ((...a: any[]) => void) | undefined)?.(...args);
    }
  }

  private async pass(): Promise<void> {
    clearTimeout(this.timer);
    const tried = new Set<string>();
    // Loop until nothing untried is left: a payload queued while this pass ran is sent too.
    for (;;) {
      const payload = this.pending().find(p => !tried.has(p.submission_id));
      if (!payload) {
        break;
      }
      tried.add(payload.submission_id);
      let result: PostResult;
      try {
        result = await this.post(payload);
      } catch (err) {
        this.emit('waiting', payload, `server unreachable (${(err as Error).message || err}); will retry`);
        this.retryLater();
        return;
      }
      if (result.status >= 200 && result.status < 300) {
        this.remove(payload.submission_id);
        this.emit('saved', payload, result.body?.judgment ?? null);
      } else if (result.status >= 500 || result.status === 408 || result.status === 429) {
        this.emit('waiting', payload, `server answered ${result.status}; will retry`);
        this.retryLater();
        return;
      } else {
        this.remove(payload.submission_id);
        const msg = result.body?.error ?? `server refused the judgment (HTTP ${result.status})`;
        const field = result.body?.field ? ` (${result.body.field})` : '';
        this.emit('refused', payload, `${msg}${field}`);
      }
    }
    this.delay = 1000;
  }

  private retryLater(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), this.delay);
    this.delay = Math.min(MAX_DELAY_MS, this.delay * 2);
  }
}

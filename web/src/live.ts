// The SSE connection: EventSource resumes by itself with Last-Event-ID after
// a network drop; when the stream is closed for good (an HTTP error) a new
// one is opened with ?last_event_id= after a backoff, or the login is shown
// when the session has ended.
import { ApiError, currentSession } from './api';
import type { LiveSync } from './state/sync';

export const EVENT_TYPES = [
  'hello',
  'reset',
  'flood',
  'endpoints',
  'endpoint_removed',
  'block',
  'block_removed',
  'policy',
  'policy_removed',
  'incident',
  'audit',
  'rate',
  'port_flood',
  'port_fleet',
] as const;

export type ConnState = 'live' | 'reconnecting';

/** The part of EventSource this uses (a fake in tests). */
export interface Source {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  addEventListener(type: string, fn: (ev: Event) => void): void;
  close(): void;
}

export interface LiveDeps {
  sync: Pick<LiveSync, 'onEvent' | 'lastEventId'>;
  onState: (s: ConnState) => void;
  onAuthLost: () => void;
  open?: (url: string) => Source;
  /** Resolves when the session still holds; rejects with the API's error. */
  checkSession?: () => Promise<unknown>;
  later?: (fn: () => void, ms: number) => unknown;
  cancel?: (t: unknown) => void;
  random?: () => number;
}

const CLOSED = 2;

export class LiveConnection {
  private es: Source | null = null;
  private timer: unknown = null;
  private backoffMs = 500;
  private stopped = false;
  private readonly d: Required<LiveDeps>;

  constructor(deps: LiveDeps) {
    this.d = {
      open: (url) => new EventSource(url, { withCredentials: true }),
      checkSession: currentSession,
      later: (fn, ms) => setTimeout(fn, ms),
      cancel: (t) => clearTimeout(t as number),
      random: Math.random,
      ...deps,
    };
  }

  start(): void {
    this.stopped = false;
    const last = this.d.sync.lastEventId();
    const url = '/v1/events' + (last ? `?last_event_id=${encodeURIComponent(last)}` : '');
    const es = this.d.open(url);
    this.es = es;
    es.onopen = () => {
      this.backoffMs = 500;
      this.d.onState('live');
    };
    es.onerror = () => {
      this.d.onState('reconnecting');
      if (es.readyState === CLOSED) void this.retry(es);
    };
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (ev) => {
        const m = ev as MessageEvent<string>;
        let data: unknown;
        try {
          data = JSON.parse(m.data);
        } catch {
          return; // a malformed event is skipped, never fatal
        }
        void this.d.sync.onEvent(type, m.lastEventId || null, data);
      });
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.d.cancel(this.timer);
    this.es?.close();
    this.es = null;
  }

  private async retry(es: Source): Promise<void> {
    es.close();
    if (this.es === es) this.es = null;
    if (this.stopped) return;
    try {
      await this.d.checkSession();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        this.d.onAuthLost();
        return;
      }
    }
    if (this.stopped) return;
    const wait = this.backoffMs * (0.75 + this.d.random() / 2);
    this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
    this.timer = this.d.later(() => {
      this.timer = null;
      if (!this.stopped) this.start();
    }, wait);
  }
}

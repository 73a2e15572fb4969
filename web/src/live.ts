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
  'endpoint',
  'endpoint_removed',
  'block',
  'block_removed',
  'policy',
  'policy_removed',
  'incident',
  'audit',
  'rate',
] as const;

export type ConnState = 'live' | 'reconnecting';

export class LiveConnection {
  private es: EventSource | null = null;
  private timer = 0;
  private backoffMs = 500;
  private stopped = false;

  constructor(
    private readonly sync: LiveSync,
    private readonly onState: (s: ConnState) => void,
    private readonly onAuthLost: () => void,
  ) {}

  start(): void {
    this.stopped = false;
    const last = this.sync.lastEventId();
    const url = '/v1/events' + (last ? `?last_event_id=${encodeURIComponent(last)}` : '');
    const es = new EventSource(url, { withCredentials: true });
    this.es = es;
    es.onopen = () => {
      this.backoffMs = 500;
      this.onState('live');
    };
    es.onerror = () => {
      this.onState('reconnecting');
      if (es.readyState === EventSource.CLOSED) void this.retry();
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
        void this.sync.onEvent(type, m.lastEventId || null, data);
      });
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.es?.close();
    this.es = null;
  }

  private async retry(): Promise<void> {
    this.es?.close();
    this.es = null;
    if (this.stopped) return;
    try {
      await currentSession();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        this.onAuthLost();
        return;
      }
    }
    const wait = this.backoffMs * (0.75 + Math.random() / 2);
    this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
    this.timer = window.setTimeout(() => {
      if (!this.stopped) this.start();
    }, wait);
  }
}

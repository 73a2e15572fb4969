import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { LiveConnection, type Source } from './live';
import { Fleet } from './state/fleet';
import { LiveSync } from './state/sync';
import { flood } from './state/testdata';

class FakeSource implements Source {
  readyState = 0;
  onopen: ((ev: Event) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  closed = false;
  private listeners = new Map<string, (ev: Event) => void>();
  constructor(readonly url: string) {}
  addEventListener(type: string, fn: (ev: Event) => void): void {
    this.listeners.set(type, fn);
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  emit(type: string, id: string, data: unknown): void {
    this.listeners.get(type)?.({ data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId: id } as unknown as Event);
  }
  fail(closed: boolean): void {
    this.readyState = closed ? 2 : 0;
    this.onerror?.(new Event('error'));
  }
}

function setup(session: () => Promise<unknown> = async () => ({})) {
  const fleet = new Fleet();
  const sync = new LiveSync({ fleet, load: async () => ({ floods: [], endpoints: [], blocks: [], policies: [] }), changed: () => {} });
  const sources: FakeSource[] = [];
  const states: string[] = [];
  const timers: (() => void)[] = [];
  let authLost = 0;
  const conn = new LiveConnection({
    sync,
    onState: (s) => states.push(s),
    onAuthLost: () => authLost++,
    open: (url) => {
      const s = new FakeSource(url);
      sources.push(s);
      return s;
    },
    checkSession: session,
    later: (fn) => timers.push(fn),
    cancel: () => {},
    random: () => 0.5,
  });
  return { fleet, sync, conn, sources, states, timers, authLost: () => authLost };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('LiveConnection', () => {
  it('feeds events to the sync and shows live once open', async () => {
    const t = setup();
    t.conn.start();
    expect(t.sources[0]!.url).toBe('/v1/events');
    t.sources[0]!.open();
    t.sources[0]!.emit('hello', 'ab:1', { epoch: 'ab', seq: 1 });
    await settle();
    t.sources[0]!.emit('flood', 'ab:2', flood(3));
    t.sources[0]!.emit('flood', 'ab:3', '{not json'); // skipped
    await settle();
    expect(t.fleet.floods.has(3)).toBe(true);
    expect(t.states).toEqual(['live']);
    expect(t.sync.lastEventId()).toBe('ab:2');
  });

  it('a dropped stream that the browser retries itself shows reconnecting and opens nothing new', () => {
    const t = setup();
    t.conn.start();
    t.sources[0]!.open();
    t.sources[0]!.fail(false);
    expect(t.states).toEqual(['live', 'reconnecting']);
    expect(t.sources.length).toBe(1);
  });

  it('a stream closed for good reopens after a backoff from the last event id', async () => {
    const t = setup();
    t.conn.start();
    t.sources[0]!.open();
    t.sources[0]!.emit('hello', 'ab:41', { epoch: 'ab', seq: 41 });
    await settle();
    t.sources[0]!.emit('flood', 'ab:42', flood(1));
    t.sources[0]!.fail(true);
    await settle();
    expect(t.sources[0]!.closed).toBe(true);
    expect(t.timers.length).toBe(1);
    t.timers[0]!();
    expect(t.sources[1]!.url).toBe('/v1/events?last_event_id=ab%3A42');
  });

  it('an ended session shows the login instead of retrying', async () => {
    const t = setup(async () => {
      throw new ApiError(401, 'unauthenticated', 'unauthenticated');
    });
    t.conn.start();
    t.sources[0]!.fail(true);
    await settle();
    expect(t.authLost()).toBe(1);
    expect(t.timers.length).toBe(0);
  });

  it('the console being down (not a 401) still retries', async () => {
    const t = setup(async () => {
      throw new ApiError(0, 'unreachable', 'down');
    });
    t.conn.start();
    t.sources[0]!.fail(true);
    await settle();
    expect(t.authLost()).toBe(0);
    expect(t.timers.length).toBe(1);
  });

  it('stop closes the stream and cancels a pending retry', async () => {
    const t = setup();
    t.conn.start();
    t.conn.stop();
    expect(t.sources[0]!.closed).toBe(true);
  });
});

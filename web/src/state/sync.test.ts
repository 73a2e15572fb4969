import { describe, expect, it } from 'vitest';
import type { Part, Snapshot } from './fleet';
import { Fleet } from './fleet';
import { LiveSync, parseEventId } from './sync';
import { endpoint, flood } from './testdata';
import type { RateEvent } from './types';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function setup(snapshots: (() => Promise<Snapshot>)[]) {
  const fleet = new Fleet();
  const changes: Set<Part>[] = [];
  const rates: RateEvent[] = [];
  let loads = 0;
  const sync = new LiveSync({
    fleet,
    load: () => snapshots[loads++]!(),
    changed: (p) => changes.push(p),
    rate: (r) => rates.push(r),
  });
  return { fleet, sync, changes, rates, loads: () => loads };
}

const empty = (over: Partial<Snapshot> = {}): Snapshot => ({ floods: [], endpoints: [], blocks: [], policies: [], ...over });

describe('event ids', () => {
  it('parses epoch:seq and refuses anything else', () => {
    expect(parseEventId('7F3A9C01:1542')).toEqual({ epoch: '7f3a9c01', seq: 1542 });
    expect(parseEventId('')).toBeNull();
    expect(parseEventId('abc')).toBeNull();
    expect(parseEventId('zz:1')).toBeNull();
    expect(parseEventId('ab:-1')).toBeNull();
  });
});

describe('LiveSync snapshot + delta', () => {
  it('hello loads the lists, then events apply on top', async () => {
    const t = setup([async () => empty({ floods: [flood(1)] })]);
    await t.sync.onEvent('hello', null, { epoch: 'ab', seq: 10, resource_version: '4' });
    expect(t.sync.phase).toBe('live');
    expect(t.sync.lastEventId()).toBe('ab:10');
    await t.sync.onEvent('flood', 'ab:11', flood(2));
    expect([...t.fleet.floods.keys()].sort()).toEqual([1, 2]);
    expect(t.sync.lastEventId()).toBe('ab:11');
  });

  it('events arriving while the lists load are replayed on top, in order', async () => {
    const d = deferred<Snapshot>();
    const t = setup([() => d.promise]);
    const loading = t.sync.onEvent('hello', null, { epoch: 'ab', seq: 10 });
    expect(t.sync.phase).toBe('loading');
    // Flood 1 changed twice during the load, the snapshot caught the first change.
    await t.sync.onEvent('flood', 'ab:11', flood(1, { peak_rate: 200 }));
    await t.sync.onEvent('flood', 'ab:12', flood(1, { peak_rate: 300, state: 'BLOCK' }));
    await t.sync.onEvent('endpoints', 'ab:13', { items: [endpoint('web-9')] });
    expect(t.fleet.floods.size).toBe(0); // nothing applied before the lists
    d.resolve(empty({ floods: [flood(1, { peak_rate: 200 })] }));
    await loading;
    expect(t.fleet.floods.get(1)).toMatchObject({ peak_rate: 300, state: 'BLOCK' });
    expect(t.fleet.endpoints.has('web-9')).toBe(true);
    expect(t.changes.length).toBe(1); // one notification for snapshot + replay
    expect([...t.changes[0]!].sort()).toEqual(['blocks', 'endpoints', 'floods', 'marks', 'policies']);
  });

  it('rate events go to the chart, and their endpoints\' rates to the fleet', async () => {
    const t = setup([async () => empty({ endpoints: [endpoint('web-1')] })]);
    await t.sync.onEvent('hello', null, { epoch: 'ab', seq: 1 });
    await t.sync.onEvent('rate', 'ab:2', { at: 'x', fleet: { attempts_per_s: 1, dropped_per_s: 0 }, endpoints: {} });
    expect(t.rates.length).toBe(1);
    expect(t.changes.length).toBe(1); // the load's; a rate naming no endpoint changes no part
    const fig = { attempts_per_s: 30, dropped_per_s: 0 };
    await t.sync.onEvent('rate', 'ab:3', { at: 'y', fleet: fig, endpoints: { 'web-1': fig } });
    expect(t.rates.length).toBe(2);
    expect([...t.changes[1]!]).toEqual(['endpoints']);
    expect(t.fleet.endpoints.get('web-1')?.attempts_per_s).toBe(30);
  });
});

describe('LiveSync resume after a gap', () => {
  it('a replay after reconnect skips what was already applied', async () => {
    const t = setup([async () => empty()]);
    await t.sync.onEvent('hello', null, { epoch: 'ab', seq: 1 });
    await t.sync.onEvent('flood', 'ab:2', flood(1, { peak_rate: 1 }));
    await t.sync.onEvent('flood', 'ab:3', flood(1, { peak_rate: 2 }));
    // Connection drops; the client resumes with Last-Event-ID ab:3, but the
    // server's replay overlaps by one event, then goes on.
    expect(t.sync.lastEventId()).toBe('ab:3');
    await t.sync.onEvent('flood', 'ab:3', flood(1, { peak_rate: 2 }));
    await t.sync.onEvent('flood', 'ab:4', flood(1, { peak_rate: 4 }));
    expect(t.sync.duplicates).toBe(1);
    expect(t.fleet.floods.get(1)?.peak_rate).toBe(4);
    expect(t.loads()).toBe(1); // resumed without reloading the lists
  });

  it('an event from another epoch without a reset reloads the lists', async () => {
    const t = setup([async () => empty({ floods: [flood(1)] }), async () => empty({ floods: [flood(7)] })]);
    await t.sync.onEvent('hello', null, { epoch: 'ab', seq: 100 });
    await t.sync.onEvent('flood', 'cd:5', flood(8));
    expect(t.loads()).toBe(2);
    // The lists were read after that event: they are the truth, it is not replayed.
    expect([...t.fleet.floods.keys()]).toEqual([7]);
    expect(t.sync.lastEventId()).toBe('cd:5');
  });
});

describe('LiveSync reset', () => {
  it('reset refetches every list and drops what the old lists had', async () => {
    const t = setup([
      async () => empty({ floods: [flood(1), flood(2)], endpoints: [endpoint('old')] }),
      async () => empty({ floods: [flood(3)], endpoints: [endpoint('new')] }),
    ]);
    await t.sync.onEvent('hello', null, { epoch: 'ab', seq: 1 });
    await t.sync.onEvent('reset', 'ef:900', { epoch: 'ef', seq: 900 });
    expect(t.loads()).toBe(2);
    expect([...t.fleet.floods.keys()]).toEqual([3]);
    expect([...t.fleet.endpoints.keys()]).toEqual(['new']);
    expect(t.sync.lastEventId()).toBe('ef:900');
    await t.sync.onEvent('flood', 'ef:900', flood(4)); // not after the reset's seq
    expect(t.fleet.floods.has(4)).toBe(false);
  });

  it('a reset without epoch or id takes its cursor from the next event, without reloading again', async () => {
    const t = setup([async () => empty(), async () => empty({ floods: [flood(1)] })]);
    await t.sync.onEvent('hello', null, { epoch: 'ab', seq: 1 });
    await t.sync.onEvent('reset', null, {});
    await t.sync.onEvent('flood', 'cd:7', flood(2));
    expect(t.loads()).toBe(2);
    expect([...t.fleet.floods.keys()].sort()).toEqual([1, 2]);
    expect(t.sync.lastEventId()).toBe('cd:7');
  });

  it('a second reset during a load wins over the first one’s lists', async () => {
    const first = deferred<Snapshot>();
    const second = deferred<Snapshot>();
    const t = setup([() => first.promise, () => second.promise]);
    const a = t.sync.onEvent('hello', null, { epoch: 'ab', seq: 1 });
    const b = t.sync.onEvent('reset', null, { epoch: 'ab', seq: 50 });
    second.resolve(empty({ floods: [flood(2)] }));
    await b;
    first.resolve(empty({ floods: [flood(1)] }));
    await a;
    expect([...t.fleet.floods.keys()]).toEqual([2]);
    expect(t.changes.length).toBe(1);
  });

  it('a failed load is reported and leaves the sync waiting for the next hello', async () => {
    const errors: unknown[] = [];
    const fleet = new Fleet();
    let n = 0;
    const sync = new LiveSync({
      fleet,
      load: async () => {
        if (n++ === 0) throw new Error('503');
        return empty({ floods: [flood(5)] });
      },
      changed: () => {},
      error: (e) => errors.push(e),
    });
    await sync.onEvent('hello', null, { epoch: 'ab', seq: 1 });
    expect(errors.length).toBe(1);
    expect(sync.phase).toBe('loading');
    await sync.onEvent('reset', null, { epoch: 'ab', seq: 2 });
    expect(sync.phase).toBe('live');
    expect(fleet.floods.has(5)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { filterEndpoints, fleetStatus, orderedEndpoints, orderedFloods } from './derived';
import { Fleet } from './fleet';
import { endpoint, flood } from './testdata';

describe('derived figures', () => {
  it('a quiet fleet is not under attack', () => {
    const f = new Fleet();
    f.applySnapshot({ floods: [], endpoints: [endpoint('a'), endpoint('b', { state: 'offline' })], blocks: [], policies: [] });
    const s = fleetStatus(f);
    expect(s.underAttack).toBe(false);
    expect(s.since).toBeNull();
    expect(s.byState.quiet).toBe(1);
    expect(s.byState.offline).toBe(1);
  });

  it('counts floods, blocking endpoints, the earliest start and the worst severity', () => {
    const f = new Fleet();
    f.applySnapshot({
      floods: [
        flood(1, { started_at: '2026-11-30T00:50:00.000Z', severity: 'MEDIUM' }),
        flood(2, { started_at: '2026-11-30T00:40:00.000Z', severity: 'CRITICAL', acknowledged_at: 'x' }),
      ],
      endpoints: [endpoint('a', { state: 'blocking' }), endpoint('b', { state: 'blocking' }), endpoint('c', { state: 'detecting' })],
      blocks: [],
      policies: [],
    });
    const s = fleetStatus(f);
    expect(s).toMatchObject({
      underAttack: true,
      activeFloods: 2,
      blockingEndpoints: 2,
      since: '2026-11-30T00:40:00.000Z',
      worstSeverity: 'CRITICAL',
      unacknowledged: 1,
    });
    expect(s.byState.detecting).toBe(1);
  });
});

describe('stable order', () => {
  it('floods newest first; updating one moves nothing, a new one goes on top', () => {
    const f = new Fleet();
    f.applySnapshot({ floods: [flood(3), flood(1), flood(2)], endpoints: [], blocks: [], policies: [] });
    expect(orderedFloods(f).map((x) => x.id)).toEqual([3, 2, 1]);
    f.applyEvent('flood', flood(1, { peak_rate: 5000, severity: 'CRITICAL' }));
    expect(orderedFloods(f).map((x) => x.id)).toEqual([3, 2, 1]);
    f.applyEvent('flood', flood(4));
    expect(orderedFloods(f).map((x) => x.id)).toEqual([4, 3, 2, 1]);
  });

  it('memoizes the order until the floods change', () => {
    const f = new Fleet();
    f.applySnapshot({ floods: [flood(1)], endpoints: [], blocks: [], policies: [] });
    const a = orderedFloods(f);
    f.applyEvent('endpoints', { items: [endpoint('x')] });
    expect(orderedFloods(f)).toBe(a);
    f.applyEvent('flood', flood(1, { peak_rate: 1 }));
    expect(orderedFloods(f)).not.toBe(a);
  });

  it('endpoints by name whatever their state', () => {
    const f = new Fleet();
    f.applySnapshot({ floods: [], endpoints: [endpoint('web-2'), endpoint('db-1'), endpoint('web-1')], blocks: [], policies: [] });
    f.applyEvent('endpoints', { items: [endpoint('web-1', { state: 'blocking' })] });
    expect(orderedEndpoints(f).map((e) => e.name)).toEqual(['db-1', 'web-1', 'web-2']);
  });
});

describe('label filter', () => {
  const list = [
    endpoint('web-1', { labels: { org: 'acme', dept: 'payments', type: 'server' } }),
    endpoint('web-2', { labels: { org: 'acme', dept: 'web', type: 'server' } }),
    endpoint('lap-1', { labels: { org: 'acme', dept: 'payments', type: 'laptop' } }),
  ];
  it('key=value terms must all match', () => {
    expect(filterEndpoints(list, 'dept=payments type=server').map((e) => e.name)).toEqual(['web-1']);
    expect(filterEndpoints(list, 'name=web-2').map((e) => e.name)).toEqual(['web-2']);
  });
  it('a bare word matches the name or a label value; empty matches all', () => {
    expect(filterEndpoints(list, 'laptop').map((e) => e.name)).toEqual(['lap-1']);
    expect(filterEndpoints(list, 'WEB').length).toBe(2);
    expect(filterEndpoints(list, '  ').length).toBe(3);
  });
});

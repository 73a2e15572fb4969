import { describe, expect, it } from 'vitest';
import { Fleet, orderedPortFloods } from './fleet';
import type { PortFleet, PortFlood } from './types';
import { block, endpoint, flood, policy } from './testdata';

describe('Fleet snapshot + delta', () => {
  it('keeps only active floods from a snapshot and keys every list', () => {
    const f = new Fleet();
    const parts = f.applySnapshot({
      floods: [flood(1), flood(2, { active: false, ended_at: '2026-11-30T01:00:00.000Z' })],
      endpoints: [endpoint('web-1'), endpoint('web-2')],
      blocks: [block('198.51.100.0/24')],
      policies: [policy('payments')],
    });
    expect([...parts].sort()).toEqual(['blocks', 'endpoints', 'floods', 'policies']);
    expect([...f.floods.keys()]).toEqual([1]);
    expect(f.endpoints.size).toBe(2);
    expect(f.blocks.get('198.51.100.0/24')?.added_by).toBe('alice');
  });

  it('a snapshot replaces what an older one had', () => {
    const f = new Fleet();
    f.applySnapshot({ floods: [flood(1)], endpoints: [endpoint('a')], blocks: [], policies: [] });
    f.applySnapshot({ floods: [flood(2)], endpoints: [endpoint('b')], blocks: [], policies: [] });
    expect([...f.floods.keys()]).toEqual([2]);
    expect([...f.endpoints.keys()]).toEqual(['b']);
  });

  it('applies deltas keyed by id, name and source, in place', () => {
    const f = new Fleet();
    f.applySnapshot({ floods: [flood(1)], endpoints: [endpoint('web-1')], blocks: [], policies: [] });
    const rev = f.rev.floods;
    f.applyEvent('flood', flood(1, { state: 'BLOCK', peak_rate: 900 }));
    expect(f.floods.size).toBe(1);
    expect(f.floods.get(1)?.peak_rate).toBe(900);
    expect(f.rev.floods).toBe(rev + 1);
    f.applyEvent('endpoints', { items: [endpoint('web-1', { state: 'blocking' })] });
    expect(f.endpoints.get('web-1')?.state).toBe('blocking');
    f.applyEvent('block', block('203.0.113.1'));
    f.applyEvent('block', block('203.0.113.1', { acked: 3, pending: 0 }));
    expect(f.blocks.size).toBe(1);
    expect(f.blocks.get('203.0.113.1')?.acked).toBe(3);
    f.applyEvent('policy', policy('p'));
    expect(f.policies.has('p')).toBe(true);
  });

  it('applies a batch of endpoints (a fan-out) as one change of the endpoints part', () => {
    const f = new Fleet();
    f.applySnapshot({ floods: [], endpoints: [endpoint('web-1'), endpoint('web-2')], blocks: [], policies: [] });
    const rev = f.rev.endpoints;
    const parts = f.applyEvent('endpoints', {
      items: [endpoint('web-2', { applied_version: 9 }), endpoint('web-3', { applied_version: 9 })],
    });
    expect([...parts]).toEqual(['endpoints']);
    expect(f.rev.endpoints).toBe(rev + 1);
    expect(f.endpoints.size).toBe(3);
    expect(f.endpoints.get('web-1')?.applied_version).toBe(endpoint('web-1').applied_version);
    expect(f.endpoints.get('web-2')?.applied_version).toBe(9);
    expect(f.applyEvent('endpoints', { items: [] }).size).toBe(0);
    expect(f.applyEvent('endpoints', {}).size).toBe(0); // malformed: nothing, never a throw
  });

  it('takes endpoints\' rates from rate events (only the changed ones are named)', () => {
    const f = new Fleet();
    f.applySnapshot({
      floods: [],
      endpoints: [endpoint('web-1', { attempts_per_s: 5 }), endpoint('web-2', { attempts_per_s: 7 })],
      blocks: [],
      policies: [],
    });
    const fig = (a: number) => ({ attempts_per_s: a, dropped_per_s: 0 });
    const rev = f.rev.endpoints;
    const parts = f.applyEvent('rate', { at: 'x', fleet: fig(900), endpoints: { 'web-1': fig(880), nope: fig(1) } });
    expect([...parts]).toEqual(['endpoints']);
    expect(f.endpoints.get('web-1')?.attempts_per_s).toBe(880);
    expect(f.endpoints.get('web-2')?.attempts_per_s).toBe(7); // not named: unchanged
    expect(f.endpoints.has('nope')).toBe(false);
    expect(f.rev.endpoints).toBe(rev + 1);
    expect(f.applyEvent('rate', { at: 'y', fleet: fig(900), endpoints: { 'web-1': fig(880) } }).size).toBe(0);
    expect(f.applyEvent('rate', { at: 'z', fleet: fig(900), endpoints: {} }).size).toBe(0);
  });

  it('removes on *_removed and on a flood that ended', () => {
    const f = new Fleet();
    f.applySnapshot({
      floods: [flood(1)],
      endpoints: [endpoint('web-1')],
      blocks: [block('10.0.0.0/8')],
      policies: [policy('p')],
    });
    expect(f.applyEvent('flood', flood(1, { active: false })).has('floods')).toBe(true);
    expect(f.floods.size).toBe(0);
    f.applyEvent('endpoint_removed', { name: 'web-1' });
    f.applyEvent('block_removed', { source: '10.0.0.0/8' });
    f.applyEvent('policy_removed', { name: 'p' });
    expect(f.endpoints.size + f.blocks.size + f.policies.size).toBe(0);
  });

  it('an ended flood it never knew changes nothing', () => {
    const f = new Fleet();
    expect(f.applyEvent('flood', flood(9, { active: false })).size).toBe(0);
    expect(f.applyEvent('block_removed', { source: 'x' }).size).toBe(0);
  });

  it('ignores unknown event types', () => {
    const f = new Fleet();
    expect(f.applyEvent('something_new', { x: 1 }).size).toBe(0);
  });

  it('derives marks: estimated start, detect, block, end, and operators’ actions (not agents’)', () => {
    const f = new Fleet();
    f.applyEvent('flood', flood(1));
    f.applyEvent('flood', flood(1, { state: 'BLOCK' }));
    f.applyEvent('flood', flood(1, { state: 'BLOCK' }));
    f.applyEvent('flood', flood(1, { active: false, ended_at: '2026-11-30T01:00:00.000Z' }));
    f.applyEvent('audit', { id: 1, at: 'x', actor: 'alice', action: 'block', target: 's', details: '' });
    f.applyEvent('audit', { id: 2, at: 'x', actor: 'agent:web-1', action: 'enroll', target: '', details: '' });
    expect(f.marks.map((m) => m.kind)).toEqual(['start', 'detect', 'block', 'end', 'action']);
    expect(f.marks[4]?.text).toBe('alice: block s');
  });

  it('places marks at the real times: the detection and each block where they happened, the estimated start apart', () => {
    const f = new Fleet();
    const sighting = (endpoint: string, last_seen: string, action: 'DETECT' | 'BLOCK') => ({
      endpoint,
      ports: [80],
      max_count: 300,
      peak_rate: 5000,
      first_attempt_at: '2026-11-30T00:53:15.000Z',
      last_seen,
      action,
    });
    // web-1 crossed at :20.000, its window started at :15.000 (the estimate).
    f.applyEvent('flood', flood(1, {
      started_at: '2026-11-30T00:53:15.000Z',
      last_seen: '2026-11-30T00:53:20.000Z',
      sightings: [sighting('web-1', '2026-11-30T00:53:20.000Z', 'DETECT')],
    }));
    f.applyEvent('flood', flood(1, {
      state: 'BLOCK',
      started_at: '2026-11-30T00:53:15.000Z',
      last_seen: '2026-11-30T00:53:21.000Z',
      sightings: [sighting('web-1', '2026-11-30T00:53:20.100Z', 'BLOCK'), sighting('web-2', '2026-11-30T00:53:21.000Z', 'DETECT')],
    }));
    expect(f.marks.map((m) => [m.kind, m.at])).toEqual([
      ['start', '2026-11-30T00:53:15.000Z'],
      ['detect', '2026-11-30T00:53:20.000Z'],
      ['block', '2026-11-30T00:53:20.100Z'],
    ]);
    expect(f.marks[2]?.text).toBe('203.0.113.1 blocked on web-1');
  });

  it('keeps live incidents and audit newest first, deduplicated, bounded', () => {
    const f = new Fleet();
    for (let i = 1; i <= 250; i++)
      f.applyEvent('incident', { id: i, flood_id: 1, note: '', created_by: 'a', created_at: '', webhook_status: 'pending' });
    f.applyEvent('incident', { id: 250, flood_id: 1, note: '', created_by: 'a', created_at: '', webhook_status: 'delivered to 1/1' });
    expect(f.liveIncidents.length).toBe(200);
    expect(f.liveIncidents[0]).toMatchObject({ id: 250, webhook_status: 'delivered to 1/1' });
    expect(f.liveIncidents[1]?.id).toBe(249);
  });
});

describe('Fleet port floods', () => {
  const pf = (id: string, over: Partial<PortFlood> = {}): PortFlood => ({
    id,
    endpoint: 'web-1',
    target: '192.0.2.10:443',
    dst: '192.0.2.10',
    dst_port: 443,
    reason: 'rate',
    rate: 20000,
    peak_rate: 22000,
    normal_rate: 40,
    distinct_sources: 19000,
    completion_ratio: 0.012,
    top_prefixes: [{ prefix: '198.51.100.0/24', share: 0.31 }],
    response: 'syncookies',
    attempts: 44000,
    severity: 'LOW',
    active: true,
    ended_by: null,
    started_at: '2026-11-30T00:53:19.870Z',
    last_seen: '2026-11-30T00:53:21.000Z',
    ended_at: null,
    ...over,
  });
  const quietFleet: PortFleet = {
    endpoints: [],
    targets: 0,
    since: null,
    peak_rate: 0,
    rate: 0,
    severity: null,
    shared_prefixes: [],
  };

  it('loads the active ones and the fleet view from a snapshot', () => {
    const f = new Fleet();
    const parts = f.applySnapshot({
      floods: [],
      endpoints: [],
      blocks: [],
      policies: [],
      portFloods: {
        items: [pf('a'), pf('b', { active: false, ended_by: 'agent' })],
        fleet: { ...quietFleet, endpoints: ['web-1'], targets: 1, severity: 'LOW' },
      },
    });
    expect(parts.has('port_floods')).toBe(true);
    expect([...f.portFloods.keys()]).toEqual(['a']);
    expect(f.portFleet?.targets).toBe(1);
  });

  it('applies detected, updated and ended live, in place, strongest first', () => {
    const f = new Fleet();
    expect([...f.applyEvent('port_flood', pf('a', { rate: 100 }))]).toEqual(['port_floods']);
    f.applyEvent('port_flood', pf('b', { endpoint: 'web-2', rate: 5000 }));
    f.applyEvent('port_flood', pf('a', { rate: 9000 })); // updated
    expect(orderedPortFloods(f).map((p) => [p.id, p.rate])).toEqual([
      ['a', 9000],
      ['b', 5000],
    ]);
    f.applyEvent('port_fleet', { ...quietFleet, endpoints: ['web-1', 'web-2'], targets: 2, severity: 'MEDIUM' });
    expect(f.portFleet?.severity).toBe('MEDIUM');
    f.applyEvent('port_flood', pf('a', { active: false, ended_by: 'agent' }));
    expect([...f.portFloods.keys()]).toEqual(['b']);
    // The end of one never seen changes nothing.
    expect(f.applyEvent('port_flood', pf('z', { active: false })).size).toBe(0);
    expect(f.rev.port_floods).toBe(5); // 3 floods, 1 fleet, 1 end
  });
});

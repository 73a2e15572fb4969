import { describe, expect, it } from 'vitest';
import { Fleet } from './fleet';
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
    f.applyEvent('endpoint', endpoint('web-1', { state: 'blocking' }));
    expect(f.endpoints.get('web-1')?.state).toBe('blocking');
    f.applyEvent('block', block('203.0.113.1'));
    f.applyEvent('block', block('203.0.113.1', { acked: 3, pending: 0 }));
    expect(f.blocks.size).toBe(1);
    expect(f.blocks.get('203.0.113.1')?.acked).toBe(3);
    f.applyEvent('policy', policy('p'));
    expect(f.policies.has('p')).toBe(true);
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

  it('derives marks: detect, block, end, and operators’ actions (not agents’)', () => {
    const f = new Fleet();
    f.applyEvent('flood', flood(1));
    f.applyEvent('flood', flood(1, { state: 'BLOCK' }));
    f.applyEvent('flood', flood(1, { state: 'BLOCK' }));
    f.applyEvent('flood', flood(1, { active: false, ended_at: '2026-11-30T01:00:00.000Z' }));
    f.applyEvent('audit', { id: 1, at: 'x', actor: 'alice', action: 'block', target: 's', details: '' });
    f.applyEvent('audit', { id: 2, at: 'x', actor: 'agent:web-1', action: 'enroll', target: '', details: '' });
    expect(f.marks.map((m) => m.kind)).toEqual(['detect', 'block', 'end', 'action']);
    expect(f.marks[3]?.text).toBe('alice: block s');
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

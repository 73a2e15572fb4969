import { describe, expect, it } from 'vitest';
import { formOf, parseSelector, policyBody } from './policy';
import { policy } from './testdata';

describe('policy form', () => {
  it('round-trips a policy through the form', () => {
    const p = policy('payments', { selector: { dept: 'payments', type: 'server' }, flood_threshold: 50, flood_window: '2s' });
    expect(policyBody(formOf(p))).toEqual({
      name: 'payments',
      selector: { dept: 'payments', type: 'server' },
      flood_threshold: 50,
      flood_window: '2s',
      block_duration: '1m',
      enforcer: 'xdp',
    });
  });
  it('an empty selector matches every endpoint', () => {
    expect(parseSelector('')).toEqual({});
  });
  it('refuses what the console would refuse, naming the field', () => {
    const ok = formOf(policy('p'));
    expect(policyBody({ ...ok, name: 'default' })).toMatch(/reserved/);
    expect(policyBody({ ...ok, selector: 'site=x' })).toMatch(/site/);
    expect(policyBody({ ...ok, selector: 'dept' })).toMatch(/key=value/);
    expect(policyBody({ ...ok, selector: 'dept=a, dept=b' })).toMatch(/twice/);
    expect(policyBody({ ...ok, flood_threshold: '0' })).toMatch(/threshold/);
    expect(policyBody({ ...ok, flood_threshold: '1.5' })).toMatch(/threshold/);
    expect(policyBody({ ...ok, flood_window: '5' })).toMatch(/window/);
    expect(policyBody({ ...ok, block_duration: '1m30s' })).not.toBeTypeOf('string');
    expect(policyBody({ ...ok, enforcer: 'iptables' })).toMatch(/enforcer/);
  });
});

import { describe, expect, it } from 'vitest';
import { can } from './roles';

describe('role gating', () => {
  it('a viewer may do nothing', () => {
    for (const a of ['block', 'unblock', 'isolate', 'release', 'escalate', 'acknowledge', 'policy_edit'] as const)
      expect(can('viewer', a)).toBe(false);
  });
  it('an operator acts but does not edit policies', () => {
    expect(can('operator', 'block')).toBe(true);
    expect(can('operator', 'acknowledge')).toBe(true);
    expect(can('operator', 'policy_edit')).toBe(false);
  });
  it('an admin may do everything; no session or an unknown role nothing', () => {
    expect(can('admin', 'policy_edit')).toBe(true);
    expect(can('admin', 'isolate')).toBe(true);
    expect(can(null, 'block')).toBe(false);
    expect(can('root' as never, 'block')).toBe(false);
  });
});

// What each role may do (docs/api.md "Roles"): the page shows no action that
// the console would refuse.
import type { Role } from './types';

export type Action =
  | 'block'
  | 'unblock'
  | 'isolate'
  | 'release'
  | 'escalate'
  | 'acknowledge'
  | 'policy_edit';

const NEEDS: Record<Action, Role> = {
  block: 'operator',
  unblock: 'operator',
  isolate: 'operator',
  release: 'operator',
  escalate: 'operator',
  acknowledge: 'operator',
  policy_edit: 'admin',
};
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function can(role: Role | null | undefined, action: Action): boolean {
  if (!role || !(role in RANK)) return false;
  return RANK[role] >= RANK[NEEDS[action]];
}

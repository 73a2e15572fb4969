// Figures and orders derived from the fleet, memoized on its revisions.
import type { Fleet } from './fleet';
import type { Endpoint, EndpointState, Flood } from './types';
import { ENDPOINT_STATES } from './types';

export interface FleetStatus {
  underAttack: boolean;
  activeFloods: number;
  blockingEndpoints: number;
  /** Earliest start among active floods (RFC 3339), null when quiet. */
  since: string | null;
  byState: Record<EndpointState, number>;
  worstSeverity: Flood['severity'] | null;
  unacknowledged: number;
}

const SEVERITY_RANK: Record<Flood['severity'], number> = { LOW: 0, MEDIUM: 1, HIGH: 2, CRITICAL: 3 };

export function fleetStatus(fleet: Fleet): FleetStatus {
  const byState = Object.fromEntries(ENDPOINT_STATES.map((s) => [s, 0])) as Record<EndpointState, number>;
  for (const e of fleet.endpoints.values()) byState[e.state] = (byState[e.state] ?? 0) + 1;
  let since: string | null = null;
  let sinceMs = Infinity;
  let worst: Flood['severity'] | null = null;
  let unack = 0;
  for (const f of fleet.floods.values()) {
    const t = Date.parse(f.started_at);
    if (t < sinceMs) {
      sinceMs = t;
      since = f.started_at;
    }
    if (worst === null || SEVERITY_RANK[f.severity] > SEVERITY_RANK[worst]) worst = f.severity;
    if (!f.acknowledged_at) unack++;
  }
  return {
    underAttack: fleet.floods.size > 0,
    activeFloods: fleet.floods.size,
    blockingEndpoints: byState.blocking,
    since,
    byState,
    worstSeverity: worst,
    unacknowledged: unack,
  };
}

/**
 * Active floods newest first (by id, which the console hands out in order):
 * a new flood appears on top and no existing row changes place when another
 * one is updated.
 */
export function orderedFloods(fleet: Fleet): Flood[] {
  return memo(fleet, 'floods', () => [...fleet.floods.values()].sort((a, b) => b.id - a.id));
}

/** Endpoints by name: tiles and rows never move when a state changes. */
export function orderedEndpoints(fleet: Fleet): Endpoint[] {
  return memo(fleet, 'endpoints', () =>
    [...fleet.endpoints.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  );
}

/** `key=value` label filter: every term must match; a bare word matches name or any label value. */
export function filterEndpoints(list: Endpoint[], filter: string): Endpoint[] {
  const terms = filter.trim().toLowerCase().split(/[\s,]+/).filter(Boolean);
  if (terms.length === 0) return list;
  return list.filter((e) =>
    terms.every((t) => {
      const eq = t.indexOf('=');
      if (eq > 0) {
        const k = t.slice(0, eq);
        const v = t.slice(eq + 1);
        if (k === 'name') return e.name.toLowerCase() === v;
        return (e.labels[k] ?? '').toLowerCase() === v;
      }
      return (
        e.name.toLowerCase().includes(t) ||
        Object.values(e.labels).some((v) => v.toLowerCase().includes(t))
      );
    }),
  );
}

const cache = new WeakMap<Fleet, Map<string, { rev: number; value: unknown }>>();
function memo<T>(fleet: Fleet, part: 'floods' | 'endpoints', make: () => T): T {
  let m = cache.get(fleet);
  if (!m) cache.set(fleet, (m = new Map()));
  const hit = m.get(part);
  if (hit && hit.rev === fleet.rev[part]) return hit.value as T;
  const value = make();
  m.set(part, { rev: fleet.rev[part], value });
  return value;
}

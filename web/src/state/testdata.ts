// Builders of API items for the unit tests.
import type { Block, Endpoint, Flood, Policy } from './types';

export function flood(id: number, over: Partial<Flood> = {}): Flood {
  return {
    id,
    source: `203.0.113.${id}`,
    ports: [80],
    state: 'DETECT',
    severity: 'LOW',
    endpoints: ['web-1'],
    sightings: [],
    started_at: '2026-11-30T00:53:19.870Z',
    last_seen: '2026-11-30T00:53:22.000Z',
    ended_at: null,
    peak_rate: 100,
    active: true,
    acknowledged_by: null,
    acknowledged_at: null,
    incidents: [],
    ...over,
  };
}

export function endpoint(name: string, over: Partial<Endpoint> = {}): Endpoint {
  return {
    name,
    labels: { org: 'acme', type: 'server', dept: 'web' },
    online: true,
    revoked: false,
    policy: 'default',
    policy_version: 1,
    applied_version: 1,
    lagging: false,
    isolated: false,
    active_blocks: 0,
    last_heartbeat: '2026-11-30T00:53:20.000Z',
    rejected: [],
    state: 'quiet',
    attempts_per_s: 10,
    ...over,
  };
}

export function block(source: string, over: Partial<Block> = {}): Block {
  return {
    source,
    expires_at: null,
    added_at: '2026-11-30T00:53:25.000Z',
    added_by: 'alice',
    reason: 'flood',
    version: 2,
    acked: 0,
    pending: 1,
    rejected: 0,
    ...over,
  };
}

export function policy(name: string, over: Partial<Policy> = {}): Policy {
  return {
    name,
    selector: { dept: name },
    flood_threshold: 200,
    flood_window: '5s',
    block_duration: '1m',
    enforcer: 'xdp',
    revision: 1,
    ...over,
  };
}

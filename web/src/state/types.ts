// Shapes of the console's API items (docs/api.md, docs/dashboard.md).
// Field names are the API's; nothing here is invented by the page.

export type Role = 'viewer' | 'operator' | 'admin';
export type FloodState = 'DETECT' | 'BLOCK';
export type Severity = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
export type EndpointState = 'offline' | 'isolated' | 'blocking' | 'detecting' | 'quiet';
export const ENDPOINT_STATES: readonly EndpointState[] = [
  'blocking',
  'detecting',
  'isolated',
  'offline',
  'quiet',
];

export interface Sighting {
  endpoint: string;
  ports: number[];
  max_count: number;
  peak_rate: number;
  first_attempt_at: string | null;
  last_seen: string;
  action: 'DETECT' | 'BLOCK' | 'UNBLOCKED';
}

export interface Flood {
  id: number;
  source: string;
  ports: number[];
  state: FloodState;
  severity: Severity;
  endpoints: string[];
  sightings: Sighting[];
  started_at: string;
  last_seen: string;
  ended_at: string | null;
  peak_rate: number;
  active: boolean;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  incidents: number[];
}

export interface Endpoint {
  name: string;
  labels: Record<string, string>;
  online: boolean;
  revoked: boolean;
  policy: string;
  policy_version: number;
  applied_version: number;
  lagging: boolean;
  isolated: boolean;
  active_blocks: number;
  last_heartbeat: string | null;
  /**
   * Online and no heartbeat for a while (the console's heartbeat_late_after,
   * 15 s). While online and not late, `last_heartbeat` is only as new as the
   * item: the console does not send an endpoint for its heartbeat time alone.
   * Absent from an older console.
   */
  heartbeat_late?: boolean;
  rejected: string[];
  state: EndpointState;
  attempts_per_s: number | null;
}

export interface Block {
  source: string;
  expires_at: string | null;
  added_at: string;
  added_by: string;
  reason: string;
  version: number;
  acked: number;
  pending: number;
  rejected: number;
}

export interface BlockDetail extends Block {
  applied_endpoints: string[];
  pending_endpoints: string[];
  rejected_endpoints: { endpoint: string; reason: string }[];
}

export interface Policy {
  name: string;
  selector: Record<string, string>;
  flood_threshold: number;
  flood_window: string;
  block_duration: string;
  enforcer: 'xdp' | 'nftables' | 'none';
  revision: number;
}

export interface Incident {
  id: number;
  flood_id: number;
  note: string;
  created_by: string;
  created_at: string;
  webhook_status: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  details: string;
}

export interface ListAnswer<T> {
  kind: string;
  resourceVersion: string;
  items: T[];
  more?: boolean;
}

export interface RateFigures {
  attempts_per_s: number | null;
  dropped_per_s: number | null;
}

/** `endpoints`: only those whose rate changed since an event last named them, a bounded number at a time. */
export interface RateEvent {
  at: string;
  fleet: RateFigures;
  endpoints: Record<string, RateFigures>;
}

/** `start`: a flood's estimated start (its earliest first attempt), apart from its detection. */
export type MarkKind = 'start' | 'detect' | 'block' | 'end' | 'action';
export interface Mark {
  at: string;
  kind: MarkKind;
  text: string;
  flood_id: number | null;
}

export interface TimelinePoint extends RateFigures {
  at: string;
}

export interface Timeline {
  kind: 'Timeline';
  endpoint: string | null;
  step: string;
  points: TimelinePoint[];
  marks: Mark[];
}

export interface Session {
  name: string;
  role: Role;
  csrf_token: string;
  expires_at: string;
}

export interface PolicyPreview {
  name: string;
  affected: { endpoint: string; from: string; to: string }[];
  unchanged: number;
}

/** A port flood: one endpoint's target (address:port) flooded from many sources (GET /v1/port-floods). */
export interface PortFlood {
  id: string;
  endpoint: string;
  target: string;
  dst: string;
  dst_port: number;
  reason: 'rate' | 'completion_ratio';
  rate: number;
  peak_rate: number;
  normal_rate: number;
  distinct_sources: number;
  completion_ratio: number;
  top_prefixes: { prefix: string; share: number }[];
  response: string;
  attempts: number;
  severity: Severity;
  active: boolean;
  ended_by: string | null;
  started_at: string;
  last_seen: string;
  ended_at: string | null;
}

/** The fleet-wide view over the active port floods (`fleet` of GET /v1/port-floods, event `port_fleet`). */
export interface PortFleet {
  endpoints: string[];
  targets: number;
  since: string | null;
  peak_rate: number;
  rate: number;
  severity: Severity | null;
  shared_prefixes: { prefix: string; endpoints: string[]; max_share: number }[];
}

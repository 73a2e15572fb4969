// The fleet as the page knows it: list snapshots plus live events, keyed by
// id / name / source. No DOM: views read it after each coalesced frame.
import type {
  AuditEntry,
  Block,
  Endpoint,
  Flood,
  Incident,
  Mark,
  Policy,
  PortFleet,
  PortFlood,
  RateEvent,
} from './types';

export type Part =
  | 'floods'
  | 'port_floods'
  | 'endpoints'
  | 'blocks'
  | 'policies'
  | 'incidents'
  | 'audit'
  | 'marks';

export interface Snapshot {
  floods: Flood[];
  endpoints: Endpoint[];
  blocks: Block[];
  policies: Policy[];
  /** GET /v1/port-floods (absent: the lists were loaded without it). */
  portFloods?: { items: PortFlood[]; fleet: PortFleet };
}

/** How many live incidents / audit entries / marks the page keeps. */
export const LIVE_KEEP = 200;
export const MARKS_KEEP = 1000;

export class Fleet {
  /** Active floods only, by id. */
  readonly floods = new Map<number, Flood>();
  readonly endpoints = new Map<string, Endpoint>();
  readonly blocks = new Map<string, Block>();
  readonly policies = new Map<string, Policy>();
  /** Active port floods only, by id (floods keyed by target). */
  readonly portFloods = new Map<string, PortFlood>();
  /** The fleet-wide view over them; null before the first load. */
  portFleet: PortFleet | null = null;
  /** Incidents and audit entries that arrived live, newest first. */
  liveIncidents: Incident[] = [];
  liveAudit: AuditEntry[] = [];
  /** Marks derived from live events (detections, blocks, ends, actions). */
  marks: Mark[] = [];
  /** Marks ever added (marks itself is bounded), to find the new ones. */
  marksAdded = 0;
  /** Bumped per part on every change, so derived views can memoize. */
  readonly rev: Record<Part, number> = {
    floods: 0,
    port_floods: 0,
    endpoints: 0,
    blocks: 0,
    policies: 0,
    incidents: 0,
    audit: 0,
    marks: 0,
  };

  /** Replace every list with a fresh snapshot (after hello or reset). */
  applySnapshot(s: Snapshot): Set<Part> {
    replaceAll(this.floods, s.floods.filter((f) => f.active), (f) => f.id);
    replaceAll(this.endpoints, s.endpoints, (e) => e.name);
    replaceAll(this.blocks, s.blocks, (b) => b.source);
    replaceAll(this.policies, s.policies, (p) => p.name);
    const parts: Part[] = ['floods', 'endpoints', 'blocks', 'policies'];
    if (s.portFloods) {
      replaceAll(this.portFloods, s.portFloods.items.filter((f) => f.active), (f) => f.id);
      this.portFleet = s.portFloods.fleet;
      parts.push('port_floods');
    }
    for (const p of parts) this.rev[p]++;
    return new Set(parts);
  }

  /** Apply one live event; answers the parts it changed (empty: none). */
  applyEvent(type: string, data: unknown): Set<Part> {
    const changed = new Set<Part>();
    const touch = (p: Part) => {
      this.rev[p]++;
      changed.add(p);
    };
    switch (type) {
      case 'flood': {
        const f = data as Flood;
        const old = this.floods.get(f.id);
        for (const m of floodMarks(old, f)) this.addMark(m) && touch('marks');
        if (f.active) this.floods.set(f.id, f);
        else if (!this.floods.delete(f.id)) break;
        touch('floods');
        break;
      }
      case 'port_flood': {
        const f = data as PortFlood;
        if (f.active) this.portFloods.set(f.id, f);
        else if (!this.portFloods.delete(f.id)) break;
        touch('port_floods');
        break;
      }
      case 'port_fleet':
        this.portFleet = data as PortFleet;
        touch('port_floods');
        break;
      case 'endpoints': {
        // The console batches endpoint changes (a fan-out's acks: one item per endpoint).
        const items = (data as { items?: Endpoint[] }).items ?? [];
        for (const e of items) this.endpoints.set(e.name, e);
        if (items.length > 0) touch('endpoints');
        break;
      }
      case 'rate': {
        // Endpoints' rates come apart from their items (a rate alone sends no
        // item): only the changed ones, a bounded number per event.
        const eps = (data as Partial<RateEvent>).endpoints ?? {};
        let moved = false;
        for (const [name, r] of Object.entries(eps)) {
          const e = this.endpoints.get(name);
          if (!e || e.attempts_per_s === r.attempts_per_s) continue;
          this.endpoints.set(name, { ...e, attempts_per_s: r.attempts_per_s });
          moved = true;
        }
        if (moved) touch('endpoints');
        break;
      }
      case 'endpoint_removed':
        if (this.endpoints.delete((data as { name: string }).name)) touch('endpoints');
        break;
      case 'block': {
        const b = data as Block;
        this.blocks.set(b.source, b);
        touch('blocks');
        break;
      }
      case 'block_removed':
        if (this.blocks.delete((data as { source: string }).source)) touch('blocks');
        break;
      case 'policy': {
        const p = data as Policy;
        this.policies.set(p.name, p);
        touch('policies');
        break;
      }
      case 'policy_removed':
        if (this.policies.delete((data as { name: string }).name)) touch('policies');
        break;
      case 'incident':
        this.liveIncidents = upsertNewestFirst(this.liveIncidents, data as Incident);
        touch('incidents');
        break;
      case 'audit': {
        const a = data as AuditEntry;
        this.liveAudit = upsertNewestFirst(this.liveAudit, a);
        touch('audit');
        if (a.actor !== 'console' && !a.actor.startsWith('agent:')) {
          this.addMark({
            at: a.at,
            kind: 'action',
            text: `${a.actor}: ${a.action} ${a.target}`,
            flood_id: null,
          });
          touch('marks');
        }
        break;
      }
      default:
        break; // unknown types are ignored: the contract may grow
    }
    return changed;
  }

  private addMark(m: Mark): boolean {
    this.marks.push(m);
    this.marksAdded++;
    if (this.marks.length > MARKS_KEEP) this.marks.splice(0, this.marks.length - MARKS_KEEP);
    return true;
  }
}

/**
 * Marks a flood's change implies, each at its own time: when it is new, the
 * detection (the earliest crossing among its sightings: each sighting's
 * newest event is its first then) and, apart, the estimated attack start
 * (the earliest first attempt, up to a window before); each endpoint whose
 * sighting turned BLOCK, at that block (its newest event); the end.
 */
export function floodMarks(old: Flood | undefined, f: Flood): Mark[] {
  const out: Mark[] = [];
  const where = f.endpoints.length === 1 ? ` on ${f.endpoints[0]}` : ` on ${f.endpoints.length} endpoints`;
  if (!old && f.active) {
    const crossings = f.sightings
      .filter((s) => s.first_attempt_at !== null)
      .map((s) => Date.parse(s.last_seen))
      .filter(Number.isFinite);
    const detected = crossings.length ? new Date(Math.min(...crossings)).toISOString() : f.last_seen;
    if (Date.parse(f.started_at) < Date.parse(detected))
      out.push({ at: f.started_at, kind: 'start', text: `${f.source} estimated start`, flood_id: f.id });
    out.push({ at: detected, kind: 'detect', text: f.source + where, flood_id: f.id });
  }
  if (f.active) {
    const before = new Map((old?.sightings ?? []).map((s) => [s.endpoint, s.action]));
    for (const s of f.sightings)
      if (s.action === 'BLOCK' && before.get(s.endpoint) !== 'BLOCK')
        out.push({ at: s.last_seen, kind: 'block', text: `${f.source} blocked on ${s.endpoint}`, flood_id: f.id });
    // An item without sightings: the flood's state is all there is.
    if (f.sightings.length === 0 && f.state === 'BLOCK' && old?.state !== 'BLOCK')
      out.push({ at: f.last_seen, kind: 'block', text: `${f.source} blocked`, flood_id: f.id });
  }
  if (!f.active && old)
    out.push({ at: f.ended_at ?? f.last_seen, kind: 'end', text: `${f.source} ended`, flood_id: f.id });
  return out;
}

/** Active port floods, the strongest first (rate, then target), for the floods view. */
export function orderedPortFloods(fleet: Fleet): PortFlood[] {
  return [...fleet.portFloods.values()].sort(
    (a, b) => b.rate - a.rate || a.endpoint.localeCompare(b.endpoint) || a.target.localeCompare(b.target),
  );
}

function replaceAll<K, V>(m: Map<K, V>, items: V[], key: (v: V) => K): void {
  m.clear();
  for (const it of items) m.set(key(it), it);
}

function upsertNewestFirst<T extends { id: number }>(list: T[], item: T): T[] {
  const rest = list.filter((x) => x.id !== item.id);
  rest.push(item);
  rest.sort((a, b) => b.id - a.id);
  return rest.slice(0, LIVE_KEEP);
}

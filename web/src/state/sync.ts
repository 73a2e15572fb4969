// Keeps a Fleet in step with the console's event stream (docs/dashboard.md
// "Live events"): hello/reset → load the lists, events that arrive while they
// load are kept and replayed on top, duplicates of a replay are dropped, and
// the last id is kept so a new connection resumes where the old one stopped.
import type { Fleet, Part, Snapshot } from './fleet';
import type { RateEvent } from './types';

export interface EventId {
  epoch: string;
  seq: number;
}

/** `"7f3a9c01:1542"` → {epoch, seq}; null when malformed. */
export function parseEventId(id: string | null | undefined): EventId | null {
  if (!id) return null;
  const m = /^([0-9a-fA-F]+):(\d+)$/.exec(id);
  if (!m) return null;
  return { epoch: m[1]!.toLowerCase(), seq: Number(m[2]) };
}

export type Phase = 'idle' | 'loading' | 'live';

export interface SyncDeps {
  fleet: Fleet;
  /** Fetch every list; may reject (the sync then waits for the next hello/reset). */
  load: () => Promise<Snapshot>;
  /** Told which parts changed (coalesce it: see FrameBatcher). */
  changed: (parts: Set<Part>) => void;
  /** Told of each `rate` event. */
  rate?: (r: RateEvent) => void;
  /** Told when loading fails. */
  error?: (e: unknown) => void;
}

interface Pending {
  type: string;
  data: unknown;
}

export class LiveSync {
  private cursor: EventId | null = null;
  private phase_: Phase = 'idle';
  private generation = 0;
  private buffer: Pending[] = [];
  /** Events dropped as duplicates of ones already applied (replays). */
  duplicates = 0;

  constructor(private readonly deps: SyncDeps) {}

  get phase(): Phase {
    return this.phase_;
  }

  /** The id to resume from (`Last-Event-ID` / `?last_event_id=`), or null. */
  lastEventId(): string | null {
    return this.cursor ? `${this.cursor.epoch}:${this.cursor.seq}` : null;
  }

  /**
   * One event from the stream. `id` is the SSE id (may be empty for hello).
   * Answers a promise that settles when any load it started is done (tests).
   */
  onEvent(type: string, id: string | null, data: unknown): Promise<void> {
    const eid = parseEventId(id);
    if (type === 'hello' || type === 'reset') {
      const d = (data ?? {}) as { epoch?: string; seq?: number };
      const epoch = (d.epoch ?? eid?.epoch ?? '').toLowerCase();
      const seq = typeof d.seq === 'number' ? d.seq : (eid?.seq ?? 0);
      // A reset that names no epoch: the next event's id sets the cursor.
      this.cursor = epoch ? { epoch, seq } : null;
      return this.reload();
    }
    if (eid) {
      const c = this.cursor;
      if (c && c.epoch === eid.epoch && eid.seq <= c.seq) {
        this.duplicates++;
        return Promise.resolve();
      }
      // Another epoch without a reset means the console restarted and we
      // missed its reset: only a reload is safe.
      if (c && c.epoch !== eid.epoch) {
        this.cursor = eid;
        return this.reload();
      }
      this.cursor = eid;
    }
    if (this.phase_ === 'loading') this.buffer.push({ type, data });
    else this.apply(type, data);
    return Promise.resolve();
  }

  private apply(type: string, data: unknown): void {
    // A rate goes to the chart, and its endpoints' rates to the fleet.
    if (type === 'rate') this.deps.rate?.(data as RateEvent);
    const parts = this.deps.fleet.applyEvent(type, data);
    if (parts.size > 0) this.deps.changed(parts);
  }

  private async reload(): Promise<void> {
    const gen = ++this.generation;
    this.phase_ = 'loading';
    this.buffer = [];
    let snap: Snapshot;
    try {
      snap = await this.deps.load();
    } catch (e) {
      if (gen === this.generation) this.deps.error?.(e);
      return;
    }
    if (gen !== this.generation) return; // a newer hello/reset took over
    const parts = this.deps.fleet.applySnapshot(snap);
    // Events that came while loading may be older than the lists; applied in
    // order, each object still ends at its newest state.
    const pending = this.buffer;
    this.buffer = [];
    this.phase_ = 'live';
    for (const p of pending) {
      if (p.type === 'rate') this.deps.rate?.(p.data as RateEvent);
      for (const part of this.deps.fleet.applyEvent(p.type, p.data)) parts.add(part);
    }
    this.deps.changed(parts);
  }
}

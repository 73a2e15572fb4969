// Coalescing: however many events arrive, views are told at most once per
// animation frame, with the union of what changed.
export type Schedule = (cb: () => void) => void;

export class FrameBatcher<K> {
  private dirty = new Set<K>();
  private scheduled = false;
  /** Frames flushed (for tests and the benchmark). */
  flushes = 0;

  constructor(
    private readonly schedule: Schedule,
    private readonly flush: (keys: Set<K>) => void,
  ) {}

  mark(keys: Iterable<K>): void {
    for (const k of keys) this.dirty.add(k);
    if (this.scheduled || this.dirty.size === 0) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      const keys = this.dirty;
      this.dirty = new Set();
      this.flushes++;
      this.flush(keys);
    });
  }
}

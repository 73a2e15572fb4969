// The rate series behind a chart: the console's timeline (5 s steps, 30 min)
// extended by live `rate` events, bounded in time and length.
import type { Mark, RateFigures, Timeline } from './types';

export const WINDOW_S = 30 * 60;
export const MAX_POINTS = 2400;
/** The narrowest span the chart shows (a fleet a minute old still reads as a timeline). */
export const MIN_SPAN_S = 5 * 60;

/**
 * What makes a mark the same moment whichever side made it (the console and
 * the page word a detection differently, and time it from different clocks):
 * a flood's start, detection and end once per flood, its block once per flood
 * and endpoint (the text names the endpoint), an operator's action by its
 * time and text.
 */
export function markKey(m: Mark): string {
  if (m.flood_id !== null) return m.kind === 'block' ? `block|${m.flood_id}|${m.text}` : `${m.kind}|${m.flood_id}`;
  return `${m.kind}|${Date.parse(m.at)}|${m.text.trim()}`;
}

export class RateSeries {
  /** Seconds since the epoch, ascending. */
  t: number[] = [];
  attempts: (number | null)[] = [];
  dropped: (number | null)[] = [];
  marks: Mark[] = [];
  rev = 0;

  constructor(readonly endpoint: string | null) {}

  load(tl: Timeline): void {
    this.t = [];
    this.attempts = [];
    this.dropped = [];
    for (const p of tl.points) this.push(Date.parse(p.at) / 1000, p);
    this.marks = [];
    this.addMarks(tl.marks);
    this.rev++;
  }

  /** One live figure; older than the newest point is ignored (no reordering). */
  add(at: string, f: RateFigures | undefined): boolean {
    if (!f) return false;
    const s = Date.parse(at) / 1000;
    if (!Number.isFinite(s)) return false;
    const last = this.t.length ? this.t[this.t.length - 1]! : -Infinity;
    if (s <= last) return false;
    this.push(s, f);
    this.trim(s);
    this.rev++;
    return true;
  }

  /**
   * A live `rate` event that does not name this endpoint: its rate has not
   * changed since one did (or waits its turn), so its newest figures go on
   * at `at`. Nothing when there is none yet or the newest is a gap.
   */
  carry(at: string): boolean {
    const n = this.t.length;
    if (n === 0) return false;
    const attempts = this.attempts[n - 1];
    const dropped = this.dropped[n - 1];
    if (attempts == null || dropped == null) return false;
    return this.add(at, { attempts_per_s: attempts, dropped_per_s: dropped });
  }

  /**
   * Marks come at their own times (a block reported late is older than an
   * action made meanwhile): kept oldest first. One already here (the
   * console's timeline and the page's live events both name it) is not added
   * again: the first kept, the console's when the timeline came first.
   */
  addMarks(ms: Mark[]): void {
    if (ms.length === 0) return;
    const seen = new Set(this.marks.map(markKey));
    const fresh = ms.filter((m) => {
      const k = markKey(m);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    if (fresh.length === 0) return;
    this.marks = this.marks
      .concat(fresh)
      .map((m, i) => [Date.parse(m.at), i, m] as const)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .map(([, , m]) => m)
      .slice(-1000);
    this.rev++;
  }

  /**
   * The chart's x range up to `nowS`: from the first point with a rate or
   * the first mark, whichever is earlier, but at least MIN_SPAN_S and at most
   * WINDOW_S (the console's timeline always spans 30 minutes, mostly empty
   * while the fleet is young).
   */
  xRange(nowS: number): [number, number] {
    let from = nowS;
    for (let i = 0; i < this.t.length; i++) {
      if (this.attempts[i] != null || this.dropped[i] != null) {
        from = Math.min(from, this.t[i]!);
        break;
      }
    }
    for (const m of this.marks) {
      const s = Date.parse(m.at) / 1000;
      if (Number.isFinite(s)) {
        from = Math.min(from, s);
        break; // oldest first
      }
    }
    const span = Math.min(WINDOW_S, Math.max(MIN_SPAN_S, nowS - from));
    return [nowS - span, nowS];
  }

  private push(s: number, f: RateFigures): void {
    this.t.push(s);
    this.attempts.push(f.attempts_per_s);
    this.dropped.push(f.dropped_per_s);
  }

  private trim(now: number): void {
    let cut = 0;
    while (cut < this.t.length && this.t[cut]! < now - WINDOW_S) cut++;
    cut = Math.max(cut, this.t.length - MAX_POINTS);
    if (cut > 0) {
      this.t.splice(0, cut);
      this.attempts.splice(0, cut);
      this.dropped.splice(0, cut);
    }
  }
}

// The rate series behind a chart: the console's timeline (5 s steps, 30 min)
// extended by live `rate` events, bounded in time and length.
import type { Mark, RateFigures, Timeline } from './types';

export const WINDOW_S = 30 * 60;
export const MAX_POINTS = 2400;

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
    this.marks = tl.marks.slice();
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

  addMarks(ms: Mark[]): void {
    if (ms.length === 0) return;
    this.marks = this.marks.concat(ms).slice(-1000);
    this.rev++;
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

import { describe, expect, it } from 'vitest';
import { MAX_POINTS, MIN_SPAN_S, RateSeries, WINDOW_S } from './timeline';

const at = (s: number) => new Date(s * 1000).toISOString();

describe('RateSeries', () => {
  it('loads the timeline then appends live rates in time order', () => {
    const r = new RateSeries(null);
    r.load({
      kind: 'Timeline',
      endpoint: null,
      step: '5s',
      points: [
        { at: at(1000), attempts_per_s: 10, dropped_per_s: 0 },
        { at: at(1005), attempts_per_s: null, dropped_per_s: null },
      ],
      marks: [{ at: at(1001), kind: 'detect', text: 'x', flood_id: 1 }],
    });
    expect(r.t).toEqual([1000, 1005]);
    expect(r.attempts).toEqual([10, null]);
    expect(r.add(at(1006), { attempts_per_s: 50, dropped_per_s: 40 })).toBe(true);
    expect(r.add(at(1004), { attempts_per_s: 1, dropped_per_s: 1 })).toBe(false); // older: ignored
    expect(r.add(at(1007), undefined)).toBe(false); // endpoint not in this rate event
    expect(r.t).toEqual([1000, 1005, 1006]);
    expect(r.marks.length).toBe(1);
  });

  it('carries its newest figures on when a rate event does not name it', () => {
    const r = new RateSeries('web-1');
    expect(r.carry(at(100))).toBe(false); // nothing yet
    r.add(at(100), { attempts_per_s: 40, dropped_per_s: 2 });
    expect(r.carry(at(101))).toBe(true);
    expect(r.t).toEqual([100, 101]);
    expect(r.attempts).toEqual([40, 40]);
    expect(r.dropped).toEqual([2, 2]);
    expect(r.carry(at(101))).toBe(false); // not newer
    r.load({ kind: 'Timeline', endpoint: 'web-1', step: '5s', points: [{ at: at(200), attempts_per_s: null, dropped_per_s: null }], marks: [] });
    expect(r.carry(at(201))).toBe(false); // a gap is not carried
  });

  it('drops points older than the window and keeps a bounded length', () => {
    const r = new RateSeries('web-1');
    for (let s = 0; s <= WINDOW_S + 10; s++) r.add(at(s), { attempts_per_s: s, dropped_per_s: 0 });
    expect(r.t[0]).toBe(10);
    expect(r.t.length).toBeLessThanOrEqual(MAX_POINTS);
    for (let s = WINDOW_S + 11; s < WINDOW_S + 11 + 3000; s += 0.25) r.add(at(s), { attempts_per_s: 1, dropped_per_s: 0 });
    expect(r.t.length).toBe(MAX_POINTS);
    expect(r.attempts.length).toBe(MAX_POINTS);
  });
});

describe('RateSeries.xRange', () => {
  const empty = (from: number, to: number) => {
    const points = [];
    for (let s = from; s <= to; s += 5) points.push({ at: at(s), attempts_per_s: null, dropped_per_s: null });
    return points;
  };

  it("spans what there is, not the console's whole 30 minutes, with a minimum", () => {
    const now = 100_000;
    const r = new RateSeries(null);
    // The console's 30 minutes, rates only in the last minute (a young fleet).
    const points = empty(now - WINDOW_S + 5, now).map((p) =>
      Date.parse(p.at) / 1000 >= now - 60 ? { ...p, attempts_per_s: 10, dropped_per_s: 0 } : p,
    );
    r.load({ kind: 'Timeline', endpoint: null, step: '5s', points, marks: [] });
    expect(r.xRange(now)).toEqual([now - MIN_SPAN_S, now]);
    // Twelve minutes of rates: twelve minutes shown.
    r.load({
      kind: 'Timeline',
      endpoint: null,
      step: '5s',
      points: empty(now - WINDOW_S + 5, now).map((p) =>
        Date.parse(p.at) / 1000 >= now - 720 ? { ...p, attempts_per_s: 1, dropped_per_s: 0 } : p,
      ),
      marks: [],
    });
    expect(r.xRange(now)).toEqual([now - 720, now]);
  });

  it('reaches back to the oldest mark, and never past 30 minutes', () => {
    const now = 100_000;
    const r = new RateSeries(null);
    r.load({ kind: 'Timeline', endpoint: null, step: '5s', points: empty(now - 60, now), marks: [] });
    r.addMarks([{ at: at(now - 900), kind: 'action', text: 'alice: block x', flood_id: null }]);
    expect(r.xRange(now)).toEqual([now - 900, now]);
    r.addMarks([{ at: at(now - 5000), kind: 'detect', text: 'x', flood_id: 1 }]);
    expect(r.xRange(now)).toEqual([now - WINDOW_S, now]);
  });

  it('keeps marks oldest first whatever order they come in', () => {
    const r = new RateSeries(null);
    r.addMarks([{ at: at(20), kind: 'action', text: 'b', flood_id: null }]);
    r.addMarks([{ at: at(10), kind: 'block', text: 'a', flood_id: 1 }]);
    expect(r.marks.map((m) => m.text)).toEqual(['a', 'b']);
  });
});

describe('RateSeries marks from two sources', () => {
  // The console's timeline and the page's own marks (derived from live flood
  // and audit events) name the same moments; a flood event that arrives after
  // the timeline was fetched must not draw its detection a second time.
  const timeline = (marks: Parameters<RateSeries['addMarks']>[0]) => ({
    kind: 'Timeline' as const,
    endpoint: null,
    step: '5s',
    points: [],
    marks,
  });

  it('keeps one mark per flood detection, block per endpoint, end and operator action', () => {
    const r = new RateSeries(null);
    r.load(
      timeline([
        { at: at(100), kind: 'start', text: '203.0.113.7 estimated start', flood_id: 3 },
        { at: at(101.2), kind: 'detect', text: '203.0.113.7 on web-1, web-2', flood_id: 3 },
        { at: at(103), kind: 'block', text: '203.0.113.7 blocked on web-1', flood_id: 3 },
        { at: at(104), kind: 'action', text: 'alice: block 203.0.113.7', flood_id: null },
      ]),
    );
    // The same moments as the page derives them from live events (its own
    // wording and clock for the detection).
    r.addMarks([
      { at: at(100), kind: 'start', text: '203.0.113.7 estimated start', flood_id: 3 },
      { at: at(101), kind: 'detect', text: '203.0.113.7 on 2 endpoints', flood_id: 3 },
      { at: at(103), kind: 'block', text: '203.0.113.7 blocked on web-1', flood_id: 3 },
      { at: at(104), kind: 'action', text: 'alice: block 203.0.113.7', flood_id: null },
    ]);
    expect(r.marks.map((m) => m.kind)).toEqual(['start', 'detect', 'block', 'action']);
    // The console's version is kept (its times are corrected by the links' offsets).
    expect(r.marks[1]!.text).toBe('203.0.113.7 on web-1, web-2');
    // What is new still comes in: another endpoint's block, the end, another action.
    r.addMarks([
      { at: at(105), kind: 'block', text: '203.0.113.7 blocked on web-2', flood_id: 3 },
      { at: at(106), kind: 'action', text: 'alice: block 203.0.113.7', flood_id: null },
      { at: at(107), kind: 'end', text: '203.0.113.7 ended', flood_id: 3 },
      { at: at(108), kind: 'detect', text: '198.51.100.1 on web-1', flood_id: 4 },
    ]);
    expect(r.marks.length).toBe(8);
    // Twice in one batch: once.
    r.addMarks([
      { at: at(109), kind: 'end', text: '198.51.100.1 ended', flood_id: 4 },
      { at: at(109), kind: 'end', text: '198.51.100.1 ended', flood_id: 4 },
    ]);
    expect(r.marks.length).toBe(9);
  });
});

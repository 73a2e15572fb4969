import { describe, expect, it } from 'vitest';
import { Fleet } from './fleet';
import { FrameBatcher } from './frame';
import { LiveSync } from './sync';
import { flood } from './testdata';

function fakeFrames() {
  const queue: (() => void)[] = [];
  return {
    schedule: (cb: () => void) => queue.push(cb),
    tick() {
      const q = queue.splice(0);
      for (const cb of q) cb();
    },
    pending: () => queue.length,
  };
}

describe('coalescing', () => {
  it('many marks in one frame flush once with their union', () => {
    const frames = fakeFrames();
    const flushed: Set<string>[] = [];
    const b = new FrameBatcher<string>(frames.schedule, (k) => flushed.push(k));
    b.mark(['floods']);
    b.mark(['endpoints']);
    b.mark(['floods']);
    expect(frames.pending()).toBe(1);
    frames.tick();
    expect(flushed).toEqual([new Set(['floods', 'endpoints'])]);
    b.mark(['blocks']);
    frames.tick();
    expect(flushed.length).toBe(2);
    expect(b.flushes).toBe(2);
  });

  it('marking nothing schedules nothing', () => {
    const frames = fakeFrames();
    const b = new FrameBatcher<string>(frames.schedule, () => {});
    b.mark([]);
    expect(frames.pending()).toBe(0);
  });

  it('an attack storm of 5,000 events is one render per frame', async () => {
    const frames = fakeFrames();
    const fleet = new Fleet();
    let renders = 0;
    const batch = new FrameBatcher(frames.schedule, () => renders++);
    const sync = new LiveSync({
      fleet,
      load: async () => ({ floods: [], endpoints: [], blocks: [], policies: [] }),
      changed: (p) => batch.mark(p),
    });
    await sync.onEvent('hello', null, { epoch: 'ab', seq: 0 });
    frames.tick();
    expect(renders).toBe(1);
    for (let i = 1; i <= 5000; i++) await sync.onEvent('flood', `ab:${i}`, flood(1 + (i % 200), { peak_rate: i }));
    frames.tick();
    expect(renders).toBe(2);
    expect(fleet.floods.size).toBe(200);
    expect(fleet.floods.get(1)?.peak_rate).toBe(5000);
  });
});

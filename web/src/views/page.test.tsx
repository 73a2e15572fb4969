// @vitest-environment happy-dom
// The whole page in a DOM (happy-dom), fed through a fake EventSource and a
// fake fetch: role gating in the views, rows updated in place, new floods on
// top. The browser test (tests/e2e) does the same against a real console in
// Chromium; this one runs in a second with every test.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { block, endpoint, flood, policy } from '../state/testdata';
import type { Role } from '../state/types';

vi.mock('uplot', () => {
  class FakePlot {
    width = 600;
    static tzDate = (d: Date) => d;
    setData() {}
    setSize() {}
    destroy() {}
  }
  return { default: FakePlot };
});

class FakeEventSource {
  static last: FakeEventSource | null = null;
  readyState = 0;
  onopen: ((e: Event) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  private listeners = new Map<string, (e: Event) => void>();
  constructor(readonly url: string) {
    FakeEventSource.last = this;
  }
  addEventListener(type: string, fn: (e: Event) => void) {
    this.listeners.set(type, fn);
  }
  close() {
    this.readyState = 2;
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  emit(type: string, id: string, data: unknown) {
    this.listeners.get(type)?.({ data: JSON.stringify(data), lastEventId: id } as unknown as Event);
  }
}

const lists = {
  floods: [flood(1, { endpoints: ['web-1', 'web-2'], state: 'BLOCK' }), flood(2)],
  endpoints: [endpoint('web-1'), endpoint('web-2', { isolated: true, state: 'isolated' })],
  blocks: [block('198.51.100.0/24')],
  policies: [policy('payments')],
};

function answer(body: unknown, status = 200) {
  return Promise.resolve(new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } }));
}

function fakeFetch(role: Role) {
  return vi.fn((url: string) => {
    const path = url.split('?')[0];
    if (path === '/v1/session') return answer({ name: 'tester', role, csrf_token: 'c', expires_at: '2026-12-01T00:00:00.000Z' });
    if (path === '/v1/timeline') return answer({ kind: 'Timeline', endpoint: null, step: '5s', points: [], marks: [] });
    if (path === '/v1/port-floods') {
      const fleet = { endpoints: [], targets: 0, since: null, peak_rate: 0, rate: 0, severity: null, shared_prefixes: [] };
      return answer({ kind: 'PortFloodList', resourceVersion: '1', items: [], fleet });
    }
    const kind = path?.slice(4) as keyof typeof lists;
    if (kind in lists) return answer({ kind: 'List', resourceVersion: '1', items: lists[kind] });
    return answer({ error: 'not_found', message: 'no' }, 404);
  });
}

const frame = () => new Promise((r) => setTimeout(r, 40));
async function until(cond: () => boolean, what: string) {
  for (let i = 0; i < 50; i++) {
    if (cond()) return;
    await frame();
  }
  throw new Error('timed out waiting for ' + what);
}
const q = (sel: string) => document.querySelectorAll(sel);
const testid = (id: string) => q(`[data-testid="${id}"]`).length;

async function boot(role: Role) {
  vi.resetModules();
  globalThis.fetch = fakeFetch(role) as unknown as typeof fetch;
  (globalThis as unknown as { EventSource: unknown }).EventSource = FakeEventSource;
  if (!('ResizeObserver' in globalThis))
    (globalThis as unknown as { ResizeObserver: unknown }).ResizeObserver = class {
      observe() {}
      disconnect() {}
    };
  history.replaceState(null, '', '/floods');
  document.body.innerHTML = '<div id="app"></div>';
  const { render, h } = await import('preact');
  const { App } = await import('./App');
  render(h(App, null), document.getElementById('app')!);
  await until(() => FakeEventSource.last !== null, 'the event stream');
  const es = FakeEventSource.last!;
  es.open();
  es.emit('hello', 'ab:10', { epoch: 'ab', seq: 10, resource_version: '1' });
  await until(() => testid('flood-row') === 2, 'the flood rows');
  return es;
}

async function go(view: string) {
  (document.querySelector(`[data-testid="nav-${view}"]`) as HTMLElement).click();
  await frame();
  await frame();
}

beforeEach(() => {
  FakeEventSource.last = null;
});
afterEach(() => {
  document.body.innerHTML = '';
});

describe('the page by role', () => {
  it('a viewer sees the fleet and no action anywhere', async () => {
    await boot('viewer');
    expect(document.querySelector('[data-testid="whoami"]')?.textContent).toBe('tester (viewer)');
    expect(document.querySelector('[data-testid="live-indicator"]')?.getAttribute('data-state')).toBe('live');
    (document.querySelector('[data-testid="flood-expand"]') as HTMLElement).click();
    await frame();
    expect(testid('flood-detail')).toBe(1);
    const actions = ['action-block', 'action-isolate', 'action-escalate', 'action-acknowledge'];
    for (const a of actions) expect(testid(a)).toBe(0);
    await go('endpoints');
    expect(testid('endpoint-row')).toBe(2);
    expect(testid('endpoint-isolate') + testid('endpoint-release')).toBe(0);
    await go('blocks');
    expect(testid('block-row')).toBe(1);
    expect(testid('block-unblock')).toBe(0);
    await go('policies');
    expect(testid('policy-row')).toBe(1);
    expect(testid('policy-edit')).toBe(0);
  });

  it('an operator acts on floods, endpoints and blocks but does not edit policies', async () => {
    await boot('operator');
    expect(testid('action-block')).toBe(2);
    expect(testid('action-acknowledge')).toBe(2);
    await go('endpoints');
    expect(testid('endpoint-isolate')).toBe(1);
    expect(testid('endpoint-release')).toBe(1);
    await go('blocks');
    expect(testid('block-unblock')).toBe(1);
    await go('policies');
    expect(testid('policy-edit')).toBe(0);
  });

  it('an admin edits policies', async () => {
    await boot('admin');
    await go('policies');
    expect(testid('policy-edit')).toBe(1);
    (document.querySelector('[data-testid="policy-edit"]') as HTMLElement).click();
    await frame();
    expect(testid('policy-form')).toBe(1);
    expect((document.querySelector('[data-testid="policy-selector"]') as HTMLInputElement).value).toBe('dept=payments');
  });
});

describe('live rows', () => {
  it('an update changes its row in place; a new flood goes on top; an ended one leaves', async () => {
    const es = await boot('operator');
    const rows = () => [...q('[data-testid="flood-row"]')] as HTMLElement[];
    const before = rows();
    expect(before.map((r) => r.dataset.floodId)).toEqual(['2', '1']);
    es.emit('flood', 'ab:11', flood(1, { endpoints: ['web-1', 'web-2', 'web-3'], severity: 'HIGH', state: 'BLOCK' }));
    await until(() => rows()[1]?.dataset.severity === 'HIGH', 'the update');
    expect(rows()[1]).toBe(before[1]); // the same element: updated, not replaced
    expect(rows()[0]).toBe(before[0]);
    es.emit('flood', 'ab:12', flood(3));
    await until(() => rows().length === 3, 'the new flood');
    expect(rows().map((r) => r.dataset.floodId)).toEqual(['3', '2', '1']);
    expect(rows()[1]).toBe(before[0]);
    es.emit('flood', 'ab:13', flood(2, { active: false, ended_at: '2026-11-30T01:00:00.000Z' }));
    await until(() => rows().length === 2, 'the ended flood to leave');
    expect(rows().map((r) => r.dataset.floodId)).toEqual(['3', '1']);
  });

  it('a port flood appears live with its target, rate, sources and response, and leaves when it ends', async () => {
    const es = await boot('viewer');
    const pfRows = () => [...q('[data-testid="port-flood-row"]')] as HTMLElement[];
    expect(pfRows()).toHaveLength(0);
    const pf = {
      id: 'web-1/192.0.2.10:443/5',
      endpoint: 'web-1',
      target: '192.0.2.10:443',
      dst: '192.0.2.10',
      dst_port: 443,
      reason: 'rate',
      rate: 21000,
      peak_rate: 22000,
      normal_rate: 40,
      distinct_sources: 19000,
      completion_ratio: 0.012,
      top_prefixes: [{ prefix: '198.51.100.0/24', share: 0.31 }],
      response: 'syncookies',
      attempts: 44000,
      severity: 'LOW',
      active: true,
      ended_by: null,
      started_at: '2026-11-30T00:53:19.870Z',
      last_seen: '2026-11-30T00:53:21.000Z',
      ended_at: null,
    };
    es.emit('port_flood', 'ab:11', pf);
    es.emit('port_fleet', 'ab:12', {
      endpoints: ['web-1'],
      targets: 1,
      since: pf.started_at,
      peak_rate: 22000,
      rate: 21000,
      severity: 'LOW',
      shared_prefixes: [],
    });
    await until(() => pfRows().length === 1, 'the port flood row');
    const text = pfRows()[0]!.textContent ?? '';
    for (const want of ['web-1', '192.0.2.10:443', '21.0k/s', '19,000', '1.2%', '198.51.100.0/24 31%', 'syncookies']) {
      expect(text).toContain(want);
    }
    expect(q('[data-testid="port-fleet"]')).toHaveLength(1);
    es.emit('port_flood', 'ab:13', { ...pf, active: false, ended_by: 'agent' });
    await until(() => pfRows().length === 0, 'the ended port flood to leave');
  });

  it('a burst of events is drawn in one go', async () => {
    const es = await boot('viewer');
    for (let i = 0; i < 500; i++) es.emit('flood', `ab:${11 + i}`, flood(1 + (i % 2), { peak_rate: i }));
    await frame();
    const peaks = [...q('[data-testid="flood-row"]')].map((r) => r.textContent ?? '');
    expect(peaks.some((t) => t.includes('499/s'))).toBe(true);
    expect(peaks.some((t) => t.includes('498/s'))).toBe(true);
  });
});

// The page's one store: the fleet, the sync that feeds it, the rate series,
// the session. Views subscribe to parts and re-render once per frame.
import { useEffect, useReducer } from 'preact/hooks';
import { api, setCsrf } from './api';
import { LiveConnection, type ConnState } from './live';
import type { Part, Snapshot } from './state/fleet';
import { Fleet } from './state/fleet';
import { FrameBatcher } from './state/frame';
import { LiveSync } from './state/sync';
import { RateSeries } from './state/timeline';
import type {
  Block,
  Endpoint,
  Flood,
  ListAnswer,
  Mark,
  Policy,
  PortFleet,
  PortFlood,
  RateEvent,
  Session,
  Timeline,
} from './state/types';

export type Topic = Part | 'rate' | 'conn' | 'session' | 'select' | 'tick' | 'route';

type Listener = (topics: Set<Topic>) => void;
const listeners = new Set<Listener>();

export const fleet = new Fleet();
export const fleetRate = new RateSeries(null);
export let endpointRate: RateSeries | null = null;
export let session: Session | null = null;
export let conn: ConnState = 'reconnecting';
export let loadError = '';
export let now = Date.now();

const batch = new FrameBatcher<Topic>(
  (cb) => requestAnimationFrame(cb),
  (topics) => {
    for (const l of listeners) l(topics);
  },
);

export function notify(...topics: Topic[]): void {
  batch.mark(topics);
}

async function loadLists(): Promise<Snapshot> {
  const [f, e, b, p, pf] = await Promise.all([
    api<ListAnswer<Flood>>('GET', '/v1/floods'),
    api<ListAnswer<Endpoint>>('GET', '/v1/endpoints'),
    api<ListAnswer<Block>>('GET', '/v1/blocks'),
    api<ListAnswer<Policy>>('GET', '/v1/policies'),
    api<ListAnswer<PortFlood> & { fleet: PortFleet }>('GET', '/v1/port-floods'),
  ]);
  loadError = '';
  void loadTimeline(fleetRate);
  if (endpointRate) void loadTimeline(endpointRate);
  return {
    floods: f.items,
    endpoints: e.items,
    blocks: b.items,
    policies: p.items,
    portFloods: { items: pf.items, fleet: pf.fleet },
  };
}

function onRate(r: RateEvent): void {
  let changed = fleetRate.add(r.at, r.fleet);
  if (endpointRate) {
    // An event names an endpoint only when its rate changed: while it is
    // online, one not named keeps its newest figures.
    const name = endpointRate.endpoint ?? '';
    const named = r.endpoints[name];
    if (named ? endpointRate.add(r.at, named) : fleet.endpoints.get(name)?.online && endpointRate.carry(r.at)) {
      changed = true;
    }
  }
  if (changed) notify('rate');
}

let marksSeen = 0;
const sync = new LiveSync({
  fleet,
  load: loadLists,
  changed: (parts) => {
    if (parts.has('marks') && fleet.marksAdded !== marksSeen) {
      const n = Math.min(fleet.marksAdded - marksSeen, fleet.marks.length);
      const fresh = fleet.marks.slice(fleet.marks.length - n);
      marksSeen = fleet.marksAdded;
      fleetRate.addMarks(fresh);
      if (endpointRate) endpointRate.addMarks(marksFor(endpointRate.endpoint!, fresh));
    }
    batch.mark(parts);
    if (parts.has('marks')) notify('rate');
  },
  rate: onRate,
  error: (e) => {
    loadError = String(e instanceof Error ? e.message : e);
    notify('conn');
  },
});

async function loadTimeline(series: RateSeries): Promise<void> {
  const q = series.endpoint ? `?endpoint=${encodeURIComponent(series.endpoint)}` : '';
  try {
    const tl = await api<Timeline>('GET', '/v1/timeline' + q);
    series.load(tl);
    notify('rate');
  } catch {
    /* the chart stays with live points only */
  }
}

let connection: LiveConnection | null = null;
let ticker = 0;

export function startSession(s: Session): void {
  session = s;
  setCsrf(s.csrf_token);
  connection?.stop();
  connection = new LiveConnection({
    sync,
    onState: (c) => {
      conn = c;
      notify('conn');
    },
    onAuthLost: () => endSession(),
  });
  connection.start();
  clearInterval(ticker);
  ticker = window.setInterval(() => {
    now = Date.now();
    notify('tick');
  }, 1000);
  notify('session');
}

export function endSession(): void {
  connection?.stop();
  connection = null;
  clearInterval(ticker);
  session = null;
  setCsrf('');
  conn = 'reconnecting';
  notify('session', 'conn');
}

/** Marks that belong on one endpoint's chart: its floods' and operators' actions. */
function marksFor(name: string, marks: Mark[]): Mark[] {
  return marks.filter((m) =>
    m.flood_id === null ? m.kind === 'action' : (fleet.floods.get(m.flood_id)?.endpoints.includes(name) ?? false),
  );
}

/** Show one endpoint's rate beside the fleet's (null: back to the fleet). */
export function selectEndpoint(name: string | null): void {
  if ((endpointRate?.endpoint ?? null) === name) return;
  endpointRate = name ? new RateSeries(name) : null;
  if (endpointRate) {
    endpointRate.addMarks(marksFor(name!, fleet.marks));
    void loadTimeline(endpointRate);
  }
  notify('select', 'rate');
}

/** Re-render the calling component when any of `topics` changed in a frame. */
export function useTopics(...topics: Topic[]): void {
  const [, force] = useReducer((x: number) => x + 1, 0);
  const key = topics.join(',');
  useEffect(() => {
    const want = new Set(topics);
    const l: Listener = (changed) => {
      for (const t of changed)
        if (want.has(t)) {
          force(0);
          return;
        }
    };
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
}

/** Client-side routes (docs/dashboard.md: the console answers the page for them). */
export const ROUTES = ['floods', 'endpoints', 'blocks', 'policies', 'incidents', 'audit'] as const;
export type Route = (typeof ROUTES)[number];
export let route: Route = parseRoute(location.pathname);

function parseRoute(path: string): Route {
  const seg = path.replace(/^\/+/, '').split('/')[0] as Route;
  return ROUTES.includes(seg) ? seg : 'floods';
}

export function navigate(r: Route): void {
  if (r === route) return;
  route = r;
  history.pushState(null, '', '/' + r);
  notify('route');
}

window.addEventListener('popstate', () => {
  route = parseRoute(location.pathname);
  notify('route');
});

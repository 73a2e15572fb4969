#!/usr/bin/env node
// A fake syn-guard console for developing and benchmarking the dashboard:
// serves the built page and the routes and event stream of docs/dashboard.md
// with simulated endpoints and floods. Plain HTTP on loopback (the real
// console is TLS only); no dependency beyond Node.
//
//   node web/dev/fake-console.mjs [--port 8080] [--root web/dist]
//        [--endpoints 1000] [--floods 200] [--updates 50] [--churn 0.2]
//        [--port-floods 3] [--seed 1]
//
// Tokens: sgA_admin (alice, admin), sgA_operator (oscar, operator),
// sgA_viewer (vera, viewer). It prints `listening on http://127.0.0.1:PORT`.
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const opts = parseArgs(process.argv.slice(2), {
  port: 8080,
  host: '127.0.0.1',
  root: join(here, '..', 'dist'),
  endpoints: 1000,
  floods: 200,
  updates: 50,
  churn: 0.2,
  'port-floods': 3,
  seed: 1,
});

function parseArgs(argv, defaults) {
  const o = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in o)) throw new Error(`unknown option --${k}`);
    const v = argv[++i];
    o[k] = typeof defaults[k] === 'number' ? Number(v) : v;
  }
  return o;
}

// ---- deterministic randomness -------------------------------------------------
let rnd = opts.seed >>> 0 || 1;
const rand = () => {
  rnd ^= rnd << 13;
  rnd ^= rnd >>> 17;
  rnd ^= rnd << 5;
  return (rnd >>> 0) / 4294967296;
};
const pick = (a) => a[Math.floor(rand() * a.length)];
const iso = (ms = Date.now()) => new Date(ms).toISOString();

// ---- the simulated fleet ------------------------------------------------------
const TOKENS = {
  sgA_admin: { name: 'alice', role: 'admin' },
  sgA_operator: { name: 'oscar', role: 'operator' },
  sgA_viewer: { name: 'vera', role: 'viewer' },
};
const DEPTS = ['payments', 'web', 'db', 'hr', 'lab'];
const endpoints = new Map();
const floods = new Map(); // every flood, active or ended
const blocks = new Map();
const policies = new Map();
const incidents = [];
const audit = [];
let version = 10;
let nextFloodId = 1;
let resourceVersion = 100;

for (let i = 1; i <= opts.endpoints; i++) {
  const name = `${i % 7 === 0 ? 'lap' : 'web'}-${String(i).padStart(4, '0')}`;
  endpoints.set(name, {
    name,
    labels: { org: 'acme', type: i % 7 === 0 ? 'laptop' : 'server', dept: DEPTS[i % DEPTS.length] },
    online: rand() > 0.01,
    revoked: false,
    policy: 'default',
    policy_version: version,
    applied_version: rand() > 0.02 ? version : version - 1,
    lagging: false,
    isolated: false,
    active_blocks: 0,
    last_heartbeat: iso(Date.now() - Math.floor(rand() * 5000)),
    heartbeat_late: false,
    rejected: [],
    state: 'quiet',
    attempts_per_s: Math.round(rand() * 40),
  });
}
for (const e of endpoints.values()) e.lagging = e.applied_version < e.policy_version;
policies.set('payments', {
  name: 'payments', selector: { dept: 'payments' }, flood_threshold: 50, flood_window: '2s',
  block_duration: '10m', enforcer: 'xdp', revision: 3,
});
policies.set('laptops', {
  name: 'laptops', selector: { type: 'laptop' }, flood_threshold: 500, flood_window: '5s',
  block_duration: '1m', enforcer: 'nftables', revision: 4,
});
resolveAll();

function resolvePolicy(e) {
  const rank = (p) => ('name' in p.selector ? 4 : 'dept' in p.selector ? 3 : 'type' in p.selector ? 2 : 'org' in p.selector ? 1 : 0);
  let best = null;
  for (const p of policies.values()) {
    if (!Object.entries(p.selector).every(([k, v]) => (k === 'name' ? e.name === v : e.labels[k] === v))) continue;
    if (!best || rank(p) > rank(best) || (rank(p) === rank(best) && p.revision > best.revision)) best = p;
  }
  return best ? best.name : 'default';
}
function resolveAll() {
  for (const e of endpoints.values()) e.policy = resolvePolicy(e);
}

const endpointNames = [...endpoints.keys()];
function newFlood(startMs = Date.now()) {
  const id = nextFloodId++;
  const n = rand() < 0.6 ? 1 + Math.floor(rand() * 2) : 3 + Math.floor(rand() * (rand() < 0.2 ? 20 : 5));
  const hit = new Set();
  while (hit.size < Math.min(n, endpointNames.length)) hit.add(pick(endpointNames));
  const source = rand() < 0.1 ? `198.51.${Math.floor(rand() * 255)}.0/24` : `203.0.${Math.floor(rand() * 255)}.${1 + Math.floor(rand() * 254)}`;
  const ports = rand() < 0.7 ? [pick([80, 443, 22, 8443])] : [80, 443, 8080];
  const f = {
    id, source, ports, state: 'DETECT', severity: 'LOW', endpoints: [...hit].sort(),
    sightings: [...hit].sort().map((endpoint) => ({
      endpoint, ports, max_count: 200 + Math.floor(rand() * 3000), peak_rate: 50 + Math.round(rand() * 2000),
      first_attempt_at: iso(startMs), last_seen: iso(startMs), action: 'DETECT',
    })),
    started_at: iso(startMs), last_seen: iso(startMs), ended_at: null, peak_rate: 0, active: true,
    acknowledged_by: null, acknowledged_at: null, incidents: [],
  };
  refreshFlood(f);
  floods.set(id, f);
  for (const s of f.sightings) touchEndpoint(s.endpoint);
  addMark({ at: f.started_at, kind: 'detect', text: `${f.source} on ${f.endpoints.length === 1 ? f.endpoints[0] : f.endpoints.length + ' endpoints'}`, flood_id: id });
  return f;
}
function refreshFlood(f) {
  const n = f.endpoints.length;
  const crit = Math.max(4, Math.min(10, Math.ceil(endpoints.size / 10)));
  f.severity = n >= crit ? 'CRITICAL' : n >= 3 ? 'HIGH' : n === 2 ? 'MEDIUM' : 'LOW';
  f.peak_rate = Math.max(...f.sightings.map((s) => s.peak_rate));
  f.state = f.sightings.some((s) => s.action === 'BLOCK') ? 'BLOCK' : 'DETECT';
}
function endpointState(e) {
  if (!e.online) return 'offline';
  if (e.isolated) return 'isolated';
  let detecting = false;
  for (const f of floods.values()) {
    if (!f.active) continue;
    const s = f.sightings.find((x) => x.endpoint === e.name);
    if (!s) continue;
    if (s.action === 'BLOCK') return 'blocking';
    detecting = true;
  }
  return detecting ? 'detecting' : 'quiet';
}
function touchEndpoint(name) {
  const e = endpoints.get(name);
  if (!e) return;
  const st = endpointState(e);
  if (st !== e.state) {
    endpoints.set(name, { ...e, state: st });
    changed('endpoint', name);
  }
}

// ---- event stream: ring, coalescing, replay ----------------------------------
const epoch = randomBytes(4).toString('hex');
let seq = 0;
const ring = []; // {seq, type, data, text}
const streams = new Set();
const pending = new Map(); // "type:key" -> [type, key]
const marks = [];

function changed(type, key) {
  resourceVersion++;
  pending.set(`${type}:${key}`, [type, key]);
}
function emit(type, data) {
  seq++;
  const text = `id: ${epoch}:${seq}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  ring.push({ seq, text, at: Date.now() });
  while (ring.length > 10000 || (ring.length && ring[0].at < Date.now() - 300000)) ring.shift();
  for (const s of streams) s.write(text);
}
function objectOf(type, key) {
  switch (type) {
    case 'flood': return floods.get(key);
    case 'endpoint': return endpoints.get(key);
    case 'block': return blocks.get(key);
    case 'policy': return policies.get(key);
    default: return null;
  }
}
function flush() {
  const changedEndpoints = []; // batched as the console does: one `endpoints` event
  for (const [type, key] of pending.values()) {
    if (type === 'endpoint') {
      const o = endpoints.get(key);
      if (o) changedEndpoints.push(o);
    } else if (type.endsWith('_removed') || type === 'incident' || type === 'audit' || type.startsWith('port_')) emit(type, key);
    else {
      const o = objectOf(type, key);
      if (o) emit(type, o);
    }
  }
  if (changedEndpoints.length > 0) emit('endpoints', { items: changedEndpoints });
  pending.clear();
}
function addMark(m) {
  marks.push(m);
  if (marks.length > 1000) marks.shift();
}

// ---- the simulation's clock ---------------------------------------------------
// Seed the floods, started over the last 20 minutes.
for (let i = 0; i < opts.floods; i++) newFlood(Date.now() - Math.floor(rand() * 20 * 60 * 1000));
for (const f of floods.values()) if (rand() < 0.5) blockOn(f, f.sightings[0].endpoint, Date.parse(f.started_at) + 3000);
for (const e of endpoints.values()) e.state = endpointState(e);

function blockOn(f, name, at = Date.now()) {
  const s = f.sightings.find((x) => x.endpoint === name);
  if (!s || s.action === 'BLOCK') return;
  s.action = 'BLOCK';
  refreshFlood(f);
  // As the console marks it: each endpoint's block.
  addMark({ at: iso(at), kind: 'block', text: `${f.source} blocked on ${name}`, flood_id: f.id });
  touchEndpoint(name);
}

// History for the audit log and incidents (paged views).
{
  const actors = ['alice', 'oscar', 'console', 'agent:web-0042'];
  const acts = ['block', 'unblock', 'isolate', 'release', 'escalate', 'policy_set', 'enroll'];
  const t0 = Date.now() - 6 * 3600 * 1000;
  for (let i = 0; i < 230; i++) {
    const action = pick(acts);
    audit.push({ id: i + 1, at: iso(t0 + i * 90000), actor: action === 'enroll' ? `agent:${pick(endpointNames)}` : pick(actors), action,
      target: action === 'enroll' || action === 'isolate' || action === 'release' ? pick(endpointNames) : `203.0.113.${i % 250}`, details: i % 3 ? 'seeded history' : '' });
  }
  for (let i = 0; i < 60; i++)
    incidents.push({ id: i + 1, flood_id: 1 + (i % opts.floods), note: i % 2 ? 'page on-call' : 'customer reported slowness',
      created_by: pick(['alice', 'oscar']), created_at: iso(t0 + i * 300000), webhook_status: i % 9 === 0 ? 'failed: https://hooks.example/x: 503 after 5 attempts' : 'delivered to 1/1' });
}

let carry = 0;
function tick() {
  const now = Date.now();
  carry += opts.updates / 10;
  const active = [...floods.values()].filter((f) => f.active);
  for (; carry >= 1 && active.length; carry--) {
    const f = pick(active);
    const s = pick(f.sightings);
    const nf = { ...f, sightings: f.sightings.map((x) => ({ ...x })) };
    const ns = nf.sightings.find((x) => x.endpoint === s.endpoint);
    ns.peak_rate = Math.min(5000, Math.max(ns.peak_rate, Math.round(ns.peak_rate * (0.95 + rand() * 0.1))));
    ns.max_count += Math.floor(rand() * 100);
    ns.last_seen = iso(now);
    nf.last_seen = iso(now);
    floods.set(f.id, nf);
    if (ns.action === 'DETECT' && rand() < 0.15) blockOn(nf, ns.endpoint, now);
    refreshFlood(nf);
    changed('flood', f.id);
  }
  if (rand() < opts.churn / 10) {
    const oldest = active.sort((a, b) => a.id - b.id)[0];
    if (oldest) endFlood(oldest, now);
    const f = newFlood(now);
    changed('flood', f.id);
  }
  flush();
}
function endFlood(f, now) {
  const nf = { ...f, active: false, ended_at: iso(now) };
  floods.set(f.id, nf);
  addMark({ at: nf.ended_at, kind: 'end', text: `${f.source} ended`, flood_id: f.id });
  changed('flood', f.id);
  for (const s of f.sightings) touchEndpoint(s.endpoint);
}

// Rates: the fleet's per second, each endpoint's heartbeat every ~5 s.
const fleetPoints = [];
function fleetRate() {
  let a = 0;
  for (const f of floods.values()) if (f.active) a += f.peak_rate * 0.6;
  const base = endpoints.size * 15;
  const attempts = Math.round(base + a * (0.85 + rand() * 0.3));
  const blocking = [...floods.values()].filter((f) => f.active && f.state === 'BLOCK').reduce((x, f) => x + f.peak_rate * 0.6, 0);
  return { attempts_per_s: attempts, dropped_per_s: Math.round(blocking * (0.8 + rand() * 0.2)) };
}
for (let t = Date.now() - 30 * 60 * 1000; t < Date.now(); t += 5000) {
  const age = (Date.now() - t) / 60000;
  const f = fleetRate();
  const scale = age > 20 ? 0.3 : 1;
  fleetPoints.push({ at: iso(t), attempts_per_s: Math.round(f.attempts_per_s * scale), dropped_per_s: Math.round(f.dropped_per_s * scale) });
}
let hbTurn = 0;
function rateTick() {
  const now = Date.now();
  const fleet = fleetRate();
  const eps = {};
  let i = 0;
  for (const e of endpoints.values()) {
    if (i++ % 5 !== hbTurn || !e.online) continue;
    const busy = e.state === 'blocking' || e.state === 'detecting';
    const r = busy ? 300 + Math.round(rand() * 1500) : Math.round(rand() * 40);
    eps[e.name] = { attempts_per_s: r, dropped_per_s: e.state === 'blocking' ? Math.round(r * 0.9) : 0 };
    // As the console does: a heartbeat sends no endpoint item (its rate goes
    // in the `rate` event; its time alone is no change while it is on time).
    endpoints.set(e.name, { ...e, attempts_per_s: r, last_heartbeat: iso(now) });
  }
  hbTurn = (hbTurn + 1) % 5;
  fleetPoints.push({ at: iso(now), ...fleet });
  while (fleetPoints.length && Date.parse(fleetPoints[0].at) < now - 30 * 60 * 1000) fleetPoints.shift();
  emit('rate', { at: iso(now), fleet, endpoints: eps });
  portFloodTick(now);
}

// Port floods (floods keyed by target, docs/api.md "Port floods"): a few
// endpoints' ports flooded from many sources, updated at each heartbeat.
const portFloods = new Map();
const PF_SEVERITY = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
for (let i = 0; i < Math.min(opts['port-floods'], endpointNames.length); i++) {
  const endpoint = endpointNames[(i * 37) % endpointNames.length];
  const dst = `192.0.2.${10 + i}`;
  const dstPort = pick([443, 80, 8443]);
  const start = Date.now() - Math.floor(rand() * 10 * 60 * 1000);
  const target = `${dst}:${dstPort}`;
  const id = `${endpoint}/${target}/${start}`;
  portFloods.set(id, {
    id, endpoint, target, dst, dst_port: dstPort, reason: rand() < 0.5 ? 'rate' : 'completion_ratio',
    rate: 0, peak_rate: 0, normal_rate: 20 + Math.round(rand() * 40), distinct_sources: 5000 + Math.round(rand() * 20000),
    completion_ratio: Math.round(rand() * 50) / 1000, top_prefixes: [{ prefix: `198.51.${100 + i}.0/24`, share: 0.31 }],
    response: 'syncookies', attempts: 0, severity: 'LOW', active: true, ended_by: null,
    started_at: iso(start), last_seen: iso(), ended_at: null,
  });
}
function portFleet() {
  const active = [...portFloods.values()].filter((f) => f.active);
  const eps = [...new Set(active.map((f) => f.endpoint))].sort();
  const rank = (s) => PF_SEVERITY.indexOf(s);
  return {
    endpoints: eps, targets: active.length,
    since: active.length ? active.map((f) => f.started_at).sort()[0] : null,
    peak_rate: Math.max(0, ...active.map((f) => f.peak_rate)),
    rate: active.reduce((x, f) => x + f.rate, 0),
    severity: active.length ? active.reduce((a, f) => (rank(f.severity) > rank(a) ? f.severity : a), 'LOW') : null,
    shared_prefixes: [],
  };
}
function portFloodTick(now, announce = true) {
  if (portFloods.size === 0) return;
  for (const [id, f] of portFloods) {
    const rate = 10000 + Math.round(rand() * 20000);
    const severity = rate >= 1e6 ? 'CRITICAL' : rate >= 1e5 ? 'HIGH' : 'MEDIUM';
    portFloods.set(id, { ...f, rate, peak_rate: Math.max(f.peak_rate, rate), attempts: f.attempts + rate, severity, last_seen: iso(now) });
    if (announce) pending.set(`port_flood:${id}`, ['port_flood', portFloods.get(id)]);
  }
  if (announce) pending.set('port_fleet:', ['port_fleet', portFleet()]);
}
portFloodTick(Date.now(), false);
setInterval(tick, 100);
setInterval(rateTick, 1000);
setInterval(() => {
  for (const s of streams) s.write(': keepalive\n\n');
}, 15000);

// ---- actions ------------------------------------------------------------------
function record(actor, action, target, details) {
  const a = { id: audit.length + 1, at: iso(), actor, action, target, details };
  audit.push(a);
  pending.set(`audit:${a.id}`, ['audit', a]);
  addMark({ at: a.at, kind: 'action', text: `${actor}: ${action} ${target}`, flood_id: null });
}
function onlineNames() {
  return [...endpoints.values()].filter((e) => e.online).map((e) => e.name);
}
const blockAcks = new Map(); // source -> {applied: [], pending: []}
function addBlock(who, source, ttl, reason) {
  version++;
  const secs = ttl ? parseDuration(ttl) : null;
  const acks = { applied: [], pending: onlineNames() };
  blockAcks.set(source, acks);
  blocks.set(source, {
    source, expires_at: secs ? iso(Date.now() + secs * 1000) : null, added_at: iso(), added_by: who,
    reason: reason ?? '', version, acked: 0, pending: acks.pending.length, rejected: 0,
  });
  changed('block', source);
  record(who, 'block', source, `${ttl ? 'ttl ' + ttl : 'permanent'}; ${reason ?? ''}`);
  // Agents acknowledge over the next ~1.5 s.
  const step = () => {
    if (blockAcks.get(source) !== acks || acks.pending.length === 0) return;
    acks.applied.push(...acks.pending.splice(0, Math.max(1, Math.ceil(acks.pending.length / 4))));
    blocks.set(source, { ...blocks.get(source), acked: acks.applied.length, pending: acks.pending.length });
    changed('block', source);
    setTimeout(step, 300);
  };
  setTimeout(step, 300);
  return { source, version };
}
function parseDuration(s) {
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(s);
  if (!m || s === '') return null;
  return (+(m[1] ?? 0)) * 3600 + (+(m[2] ?? 0)) * 60 + (+(m[3] ?? 0)) + (+(m[4] ?? 0)) / 1000;
}

// ---- HTTP ---------------------------------------------------------------------
const sessions = new Map();
const SECURITY = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.woff2': 'font/woff2', '.map': 'application/json' };

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}
const fail = (res, status, error, message) => send(res, status, { error, message });

function serveFile(req, res) {
  const root = resolve(opts.root);
  let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (path.includes('\0') || path.includes('\\') || path.split('/').includes('..')) return fail(res, 404, 'not_found', 'no such file');
  let file = normalize(join(root, path));
  if (!file.startsWith(root + sep) && file !== root) return fail(res, 404, 'not_found', 'no such file');
  if (!existsSync(file) || statSync(file).isDirectory()) {
    if (path.startsWith('/assets/')) return fail(res, 404, 'not_found', 'no such file');
    file = join(root, 'index.html');
  }
  if (!existsSync(file)) {
    res.writeHead(503, { 'Content-Type': 'text/plain' });
    return res.end('dashboard not built: run scripts/build-web.sh\n');
  }
  const gz = existsSync(file + '.gz') && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  const headers = {
    ...SECURITY,
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    'Cache-Control': file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
    Vary: 'Accept-Encoding',
  };
  if (gz) headers['Content-Encoding'] = 'gzip';
  headers['Content-Length'] = statSync(gz ? file + '.gz' : file).size;
  res.writeHead(200, headers);
  if (req.method === 'HEAD') return res.end();
  createReadStream(gz ? file + '.gz' : file).pipe(res);
}

function cookieOf(req) {
  const m = /(?:^|;\s*)sg_session=([^;]+)/.exec(req.headers.cookie ?? '');
  return m ? m[1] : null;
}
function who(req) {
  const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  if (bearer) return TOKENS[bearer[1]] ? { ...TOKENS[bearer[1]], bearer: true } : null;
  const c = cookieOf(req);
  return c ? sessions.get(c) ?? null : null;
}
const RANK = { viewer: 0, operator: 1, admin: 2 };

async function body(req) {
  let s = '';
  for await (const chunk of req) s += chunk;
  if (!s) return {};
  return JSON.parse(s);
}

function list(kind, items, more) {
  const o = { kind, resourceVersion: String(resourceVersion), items };
  if (more !== undefined) o.more = more;
  return o;
}
function paged(all, url, text) {
  const q = (url.searchParams.get('q') ?? '').toLowerCase();
  const limit = Math.min(1000, Number(url.searchParams.get('limit') ?? 100));
  let items = q ? all.filter((x) => text(x).toLowerCase().includes(q)) : all;
  if (url.searchParams.has('before')) {
    const before = Number(url.searchParams.get('before'));
    items = items.filter((x) => before === 0 || x.id < before).sort((a, b) => b.id - a.id);
  } else {
    const after = Number(url.searchParams.get('after') ?? 0);
    items = items.filter((x) => x.id > after);
  }
  return { items: items.slice(0, limit), more: items.length > limit };
}

async function api(req, res, url) {
  const p = url.pathname;
  const m = req.method;
  if (p === '/v1/session' && m === 'POST') {
    let b;
    try { b = await body(req); } catch { return fail(res, 400, 'invalid_argument', 'body: not JSON'); }
    const t = TOKENS[b.token];
    if (!t) return fail(res, 401, 'unauthenticated', 'unauthenticated');
    const id = randomBytes(32).toString('base64url');
    const s = { ...t, csrf_token: randomBytes(16).toString('base64url'), expires_at: iso(Date.now() + 43200e3) };
    sessions.set(id, s);
    return send(res, 200, s, { 'Set-Cookie': `sg_session=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200` });
  }
  const user = who(req);
  if (!user) return fail(res, 401, 'unauthenticated', 'unauthenticated');
  if (m !== 'GET' && !user.bearer && req.headers['x-csrf-token'] !== user.csrf_token) return fail(res, 403, 'csrf', 'missing or wrong X-CSRF-Token');
  const need = (role) => {
    if (RANK[user.role] >= RANK[role]) return true;
    fail(res, 403, 'permission_denied', `needs the ${role} role`);
    return false;
  };
  if (p === '/v1/session') {
    if (m === 'GET') return send(res, 200, { name: user.name, role: user.role, csrf_token: user.csrf_token, expires_at: user.expires_at });
    if (m === 'DELETE') {
      sessions.delete(cookieOf(req));
      return send(res, 204, undefined, { 'Set-Cookie': 'sg_session=; Path=/; Max-Age=0' });
    }
  }
  if (p === '/v1/events' && m === 'GET') return events(req, res, url);
  if (m === 'GET') {
    if (p === '/v1/endpoints') return send(res, 200, list('EndpointList', [...endpoints.values()]));
    if (p === '/v1/floods') {
      const all = url.searchParams.get('all') === 'true';
      return send(res, 200, list('FloodList', [...floods.values()].filter((f) => all || f.active)));
    }
    if (p === '/v1/blocks') return send(res, 200, list('BlockList', [...blocks.values()]));
    if (p === '/v1/port-floods') {
      const all = url.searchParams.get('all') === 'true';
      return send(res, 200, { ...list('PortFloodList', [...portFloods.values()].filter((f) => all || f.active)), fleet: portFleet() });
    }
    if (p === '/v1/policies') return send(res, 200, list('PolicyList', [...policies.values()]));
    if (p === '/v1/incidents') {
      const r = paged(incidents, url, (i) => `${i.note} ${i.created_by} ${i.webhook_status} ${floods.get(i.flood_id)?.source ?? ''}`);
      return send(res, 200, list('IncidentList', r.items, r.more));
    }
    if (p === '/v1/audit') {
      const r = paged(audit, url, (a) => `${a.actor} ${a.action} ${a.target} ${a.details}`);
      return send(res, 200, list('AuditList', r.items, r.more));
    }
    if (p === '/v1/timeline') {
      const ep = url.searchParams.get('endpoint');
      const points = ep
        ? fleetPoints.filter((_, i) => i % 5 === 0).map((x) => ({ at: x.at, attempts_per_s: Math.round(x.attempts_per_s / endpoints.size * (0.5 + rand())), dropped_per_s: 0 }))
        : fleetPoints.filter((_, i) => i < fleetPoints.length - 60 || i % 5 === 0);
      const ms = ep ? marks.filter((x) => x.kind === 'action' || x.text.includes(ep)) : marks;
      return send(res, 200, { kind: 'Timeline', endpoint: ep, step: '5s', points, marks: ms });
    }
    let mm;
    if ((mm = /^\/v1\/floods\/(\d+)$/.exec(p))) {
      const f = floods.get(Number(mm[1]));
      return f ? send(res, 200, f) : fail(res, 404, 'not_found', 'no such flood');
    }
    if ((mm = /^\/v1\/blocks\/(.+)$/.exec(p))) {
      const b = blocks.get(decodeURIComponent(mm[1]));
      if (!b) return fail(res, 404, 'not_found', 'not blocked');
      const acks = blockAcks.get(b.source) ?? { applied: [], pending: [] };
      return send(res, 200, { ...b, applied_endpoints: [...acks.applied].sort(), pending_endpoints: [...acks.pending].sort(), rejected_endpoints: [] });
    }
  }
  let b = {};
  try { b = await body(req); } catch { return fail(res, 400, 'invalid_argument', 'body: not JSON'); }
  let mm;
  if (p === '/v1/blocks' && m === 'POST') {
    if (!need('operator')) return;
    if (typeof b.source !== 'string' || !/^[0-9a-fA-F.:/]+$/.test(b.source)) return fail(res, 400, 'invalid_argument', 'body.source: not an address or prefix');
    if (b.ttl !== undefined && !parseDuration(b.ttl)) return fail(res, 400, 'invalid_argument', 'body.ttl: not a duration');
    const r = addBlock(user.name, b.source, b.ttl, b.reason);
    flush();
    return send(res, 200, r);
  }
  if ((mm = /^\/v1\/blocks\/(.+)$/.exec(p)) && m === 'DELETE') {
    if (!need('operator')) return;
    const source = decodeURIComponent(mm[1]);
    version++;
    if (blocks.delete(source)) {
      blockAcks.delete(source);
      pending.set(`block_removed:${source}`, ['block_removed', { source }]);
      record(user.name, 'unblock', source, '');
      flush();
    }
    return send(res, 200, { source, version });
  }
  if ((mm = /^\/v1\/endpoints\/([^/]+)\/(isolate|release)$/.exec(p)) && m === 'POST') {
    if (!need('operator')) return;
    const name = decodeURIComponent(mm[1]);
    const e = endpoints.get(name);
    if (!e) return fail(res, 404, 'not_found', 'no such endpoint');
    const isolated = mm[2] === 'isolate';
    version++;
    const ne = { ...e, isolated, policy_version: version, lagging: true };
    ne.state = endpointState(ne);
    endpoints.set(name, ne);
    changed('endpoint', name);
    record(user.name, mm[2], name, b.reason ?? '');
    flush();
    const v = version;
    setTimeout(() => {
      const cur = endpoints.get(name);
      endpoints.set(name, { ...cur, applied_version: v, lagging: cur.policy_version > v });
      changed('endpoint', name);
    }, 600);
    return send(res, 200, { endpoint: name, isolated, version });
  }
  if ((mm = /^\/v1\/floods\/(\d+)\/(escalate|acknowledge)$/.exec(p)) && m === 'POST') {
    if (!need('operator')) return;
    const f = floods.get(Number(mm[1]));
    if (!f) return fail(res, 404, 'not_found', 'no such flood');
    if (mm[2] === 'acknowledge') {
      if (!f.acknowledged_at) {
        floods.set(f.id, { ...f, acknowledged_by: user.name, acknowledged_at: iso() });
        changed('flood', f.id);
        record(user.name, 'acknowledge', `flood ${f.id}`, b.note ?? '');
        flush();
      }
      const g = floods.get(f.id);
      return send(res, 200, { flood_id: f.id, acknowledged_by: g.acknowledged_by, acknowledged_at: g.acknowledged_at });
    }
    const inc = { id: incidents.length + 1, flood_id: f.id, note: b.note ?? '', created_by: user.name, created_at: iso(), webhook_status: 'pending' };
    incidents.push(inc);
    floods.set(f.id, { ...f, incidents: [...f.incidents, inc.id] });
    changed('flood', f.id);
    pending.set(`incident:${inc.id}`, ['incident', inc]);
    record(user.name, 'escalate', `flood ${f.id}`, inc.note);
    flush();
    setTimeout(() => {
      inc.webhook_status = 'delivered to 1/1';
      pending.set(`incident:${inc.id}`, ['incident', { ...inc }]);
    }, 1000);
    return send(res, 201, { incident_id: inc.id, flood_id: f.id });
  }
  if (p === '/v1/policy-preview' && m === 'POST') {
    const saved = new Map(policies);
    if (b.delete) policies.delete(b.name);
    else policies.set(b.name, { ...b, revision: 1e9 });
    const affected = [];
    let unchanged = 0;
    for (const e of endpoints.values()) {
      const to = resolvePolicy(e);
      if (to !== e.policy || to === b.name) affected.push({ endpoint: e.name, from: e.policy, to });
      else unchanged++;
    }
    policies.clear();
    for (const [k, v] of saved) policies.set(k, v);
    return send(res, 200, { name: b.name, affected, unchanged });
  }
  if ((mm = /^\/v1\/policies\/([^/]+)$/.exec(p)) && (m === 'PUT' || m === 'DELETE')) {
    if (!need('admin')) return;
    const name = decodeURIComponent(mm[1]);
    version++;
    if (m === 'PUT') {
      if (!b.selector || typeof b.selector !== 'object') return fail(res, 400, 'invalid_argument', 'body.selector: required');
      policies.set(name, {
        name, selector: b.selector, flood_threshold: b.flood_threshold ?? 200, flood_window: b.flood_window ?? '5s',
        block_duration: b.block_duration ?? '1m', enforcer: b.enforcer ?? 'xdp', revision: version,
      });
      changed('policy', name);
      record(user.name, 'policy_set', name, JSON.stringify(b));
    } else if (policies.delete(name)) {
      pending.set(`policy_removed:${name}`, ['policy_removed', { name }]);
      record(user.name, 'policy_delete', name, '');
    }
    for (const e of endpoints.values()) {
      const to = resolvePolicy(e);
      if (to !== e.policy || to === name) {
        endpoints.set(e.name, { ...e, policy: to, policy_version: version, lagging: true });
        changed('endpoint', e.name);
      }
    }
    flush();
    const v = version;
    setTimeout(() => {
      for (const e of endpoints.values())
        if (e.lagging && e.online && e.policy_version <= v) {
          endpoints.set(e.name, { ...e, applied_version: e.policy_version, lagging: false });
          changed('endpoint', e.name);
        }
    }, 800);
    return send(res, 200, { name, version });
  }
  return fail(res, 404, 'not_found', 'no such route');
}

function events(req, res, url) {
  const last = req.headers['last-event-id'] ?? url.searchParams.get('last_event_id');
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
  res.write('retry: 1000\n\n');
  const m = /^([0-9a-f]+):(\d+)$/.exec(last ?? '');
  if (m && m[1] === epoch && (ring.length === 0 || Number(m[2]) >= ring[0].seq - 1)) {
    devStats.replays++;
    for (const e of ring) if (e.seq > Number(m[2])) res.write(e.text);
  } else {
    const type = last ? 'reset' : 'hello';
    devStats[type === 'reset' ? 'resets' : 'hellos']++;
    res.write(`id: ${epoch}:${seq}\nevent: ${type}\ndata: ${JSON.stringify({ epoch, seq, resource_version: String(resourceVersion) })}\n\n`);
  }
  streams.add(res);
  req.on('close', () => streams.delete(res));
}

// Development hooks (the fake only): drop every stream as a network cut
// would, and count how streams were resumed.
const devStats = { hellos: 0, resets: 0, replays: 0 };
function dev(req, res, url) {
  if (url.pathname === '/dev/drop-streams' && req.method === 'POST') {
    for (const s of streams) s.destroy();
    streams.clear();
    return send(res, 200, { dropped: true });
  }
  if (url.pathname === '/dev/stats') return send(res, 200, { ...devStats, streams: streams.size, seq });
  return fail(res, 404, 'not_found', 'no such route');
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/dev/')) return dev(req, res, url);
  if (url.pathname.startsWith('/v1/')) {
    api(req, res, url).catch((e) => {
      console.error(e);
      if (!res.headersSent) fail(res, 500, 'internal', 'internal error');
    });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, 405, 'method_not_allowed', 'GET, HEAD');
  serveFile(req, res);
});
server.listen(opts.port, opts.host, () => {
  const a = server.address();
  console.log(`listening on http://${opts.host}:${a.port} (${endpoints.size} endpoints, ${[...floods.values()].filter((f) => f.active).length} floods, ${opts.updates} updates/s)`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));

#!/usr/bin/env node
// Page benchmark of the dashboard (issue 7): a real Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core from web/node_modules) against
// the fake console (web/dev/fake-console.mjs) feeding a simulated fleet.
//
//   scripts/build-web.sh && node bench/dashboard/run.mjs \
//       [--endpoints 1000] [--floods 200] [--updates 50] [--seconds 20]
//       [--web-root build/share/syn-guard/web] [--view floods|endpoints|blocks]
//       [--usable-timeout 60] [--smoke]
//
// --smoke (the ctest entry dashboard_bench.smoke): small counts for a few
// seconds, and it fails unless the page loaded every row and tile, showed
// no error, drew the port floods and timed updates on screen (so a change to
// the page, the fake console or the DOM hooks cannot break the benchmark
// unnoticed). It asserts no figure (the machine may be loaded). Without
// Chromium, playwright-core or the built page it exits 77 (skipped), or
// fails with CI=true.
//
// Prints: first-load bytes transferred (page assets, and with the API lists),
// time to a usable page (login done → every flood row and endpoint tile
// drawn), per-update time to screen (the flood's update sent by the console →
// its row changed in the DOM, and → the next frame after it), p50/p99, and the
// longest main-thread task (PerformanceObserver 'longtask') under load.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = {
  endpoints: 1000, floods: 200, updates: 50, seconds: 20, view: 'floods',
  'web-root': join(root, 'build/share/syn-guard/web'), 'usable-timeout': 60,
};
const argv = process.argv.slice(2);
const smoke = argv.includes('--smoke');
if (smoke) Object.assign(args, { endpoints: 30, floods: 5, updates: 20, seconds: 2, 'usable-timeout': 30 });
for (let i = 0; i < argv.length; i += 2) {
  if (argv[i] === '--smoke') {
    i--;
    continue;
  }
  const k = argv[i].replace(/^--/, '');
  if (!(k in args)) throw new Error(`unknown option --${k}`);
  args[k] = typeof args[k] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
}
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
// What the run needs; missing: a smoke run is skipped (77) unless CI=true.
const missing = [];
if (!existsSync(executablePath)) missing.push(`${executablePath} (apt install chromium)`);
if (!existsSync(join(root, 'web/node_modules/playwright-core'))) missing.push('web/node_modules/playwright-core (scripts/build-web.sh runs npm ci)');
if (!existsSync(join(resolve(args['web-root']), 'index.html'))) missing.push(`${args['web-root']}/index.html (scripts/build-web.sh)`);
if (missing.length) {
  console.error(`dashboard bench: missing ${missing.join('; ')}`);
  process.exit(smoke && process.env.CI !== 'true' ? 77 : 1);
}
const { chromium } = createRequire(join(root, 'web/package.json'))('playwright-core');

const fake = spawn(process.execPath, [
  join(root, 'web/dev/fake-console.mjs'), '--port', '0', '--root', resolve(args['web-root']),
  '--endpoints', String(args.endpoints), '--floods', String(args.floods), '--updates', String(args.updates), '--churn', '0',
], { stdio: ['ignore', 'pipe', 'inherit'] });
process.on('exit', () => fake.kill()); // also when something below throws
const base = await new Promise((ok, fail) => {
  fake.stdout.on('data', (d) => {
    const m = /listening on (http:\/\/\S+)/.exec(String(d));
    if (m) ok(m[1]);
  });
  fake.on('exit', (c) => fail(new Error(`fake console exited ${c}`)));
  setTimeout(() => fail(new Error('fake console did not start in 10 s')), 10000);
});

const pct = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : 'n/a');

// Installed before the page's own scripts: long tasks, and each flood row's
// data-last-seen change (the console's update time) timed at DOM commit and
// at the next animation frame.
const probe = () => {
  const b = (window.__bench = { longtasks: [], commit: [], frame: [], on: false });
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) b.longtasks.push({ at: e.startTime, d: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  new MutationObserver((records) => {
    if (!b.on) return;
    const now = Date.now();
    const sent = [];
    for (const r of records) {
      const el = r.type === 'attributes' ? r.target : null;
      if (el && el.getAttribute('data-testid') === 'flood-row') sent.push(Date.parse(el.getAttribute('data-last-seen')));
    }
    if (sent.length === 0) return;
    for (const s of sent) b.commit.push(now - s);
    requestAnimationFrame(() => {
      const f = Date.now();
      for (const s of sent) b.frame.push(f - s);
    });
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-last-seen'] });
};

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const login = await ctx.request.post(base + '/v1/session', { data: { token: 'sgA_operator' } });
  if (!login.ok()) throw new Error(`login: ${login.status()}`);
  const page = await ctx.newPage();
  await page.addInitScript(probe);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  const urls = new Map();
  let assetBytes = 0;
  let apiBytes = 0;
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => {
    const u = urls.get(e.requestId) ?? '';
    if (u.includes('/v1/events')) return;
    if (u.includes('/v1/')) apiBytes += e.encodedDataLength;
    else assetBytes += e.encodedDataLength;
  });

  const t0 = Date.now();
  await page.goto(base + '/floods');
  const shown = () => page.evaluate(() => ({
    floods: document.querySelectorAll('[data-testid="flood-row"]').length,
    tiles: document.querySelectorAll('[data-testid="endpoint-tile"]').length,
    portFloods: document.querySelectorAll('[data-testid="port-flood-row"]').length,
    live: document.querySelector('[data-testid="live-indicator"]')?.getAttribute('data-state') ?? 'absent',
    alerts: [...document.querySelectorAll('[role="alert"]')].map((e) => e.textContent).filter(Boolean),
  }));
  await page
    .waitForFunction(
      ([floods, eps]) =>
        document.querySelectorAll('[data-testid="flood-row"]').length >= floods &&
        document.querySelectorAll('[data-testid="endpoint-tile"]').length >= eps,
      [args.floods, args.endpoints],
      { timeout: args['usable-timeout'] * 1000, polling: 50 },
    )
    .catch(async (e) => {
      // Say what the page shows instead (an error from a list it could not load, no rows...).
      throw new Error(`the page never showed ${args.floods} flood rows and ${args.endpoints} tiles: it shows ${JSON.stringify(await shown())} (${e.message.split('\n')[0]})`);
    });
  const usableMs = Date.now() - t0;
  const navTiming = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return { domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd };
  });
  const loadTasks = await page.evaluate(() => window.__bench.longtasks.map((t) => t.d));

  if (args.view !== 'floods') {
    // Another view open under the same feed: only long tasks are measured
    // (update → screen is timed on the floods view's rows).
    await page.getByTestId('nav-' + args.view).click();
  }
  await page.waitForTimeout(1000);
  await page.evaluate(() => {
    window.__bench.longtasks = [];
    window.__bench.on = true;
  });
  await page.waitForTimeout(args.seconds * 1000);
  const r = await page.evaluate(() => {
    window.__bench.on = false;
    return window.__bench;
  });
  const longest = Math.max(0, ...r.longtasks.map((t) => t.d));
  const over50 = r.longtasks.filter((t) => t.d > 50).length;

  console.log(`dashboard page benchmark: ${args.endpoints} endpoints, ${args.floods} active floods, ${args.updates} flood updates/s for ${args.seconds} s (+ every endpoint's heartbeat each 5 s), ${args.view} view open`);
  console.log(`first load: page assets ${(assetBytes / 1024).toFixed(1)} KiB transferred, with the API lists ${((assetBytes + apiBytes) / 1024).toFixed(1)} KiB`);
  console.log(`first load: usable (all ${args.floods} flood rows and ${args.endpoints} tiles drawn) ${usableMs} ms after navigation; DOMContentLoaded ${navTiming.domContentLoaded.toFixed(0)} ms; longest task while loading ${ms(Math.max(0, ...loadTasks))}`);
  console.log(`update → DOM commit: p50 ${ms(pct(r.commit, 50))}, p99 ${ms(pct(r.commit, 99))}, max ${ms(Math.max(...r.commit))} (n=${r.commit.length})`);
  console.log(`update → next frame: p50 ${ms(pct(r.frame, 50))}, p99 ${ms(pct(r.frame, 99))} (n=${r.frame.length})`);
  console.log(
    r.longtasks.length === 0
      ? 'main thread under load: no long task (the longtask observer reports every task over 50 ms)'
      : `main thread under load: longest task ${ms(longest)}; tasks over 50 ms: ${over50}`,
  );
  console.log('(figures measured on this machine now; re-measure on a quiet one before quoting them)');
  if (smoke) {
    const seen = await shown();
    const wrong = [];
    if (seen.alerts.length) wrong.push(`the page shows errors: ${seen.alerts.join(' | ')}`);
    if (seen.live !== 'live') wrong.push(`live indicator ${seen.live}`);
    if (seen.portFloods === 0) wrong.push('no port flood row');
    if (r.commit.length === 0) wrong.push('no flood update timed on screen (flood-row data-last-seen never changed)');
    if (wrong.length) throw new Error(`smoke: ${wrong.join('; ')}`);
    console.log('smoke: ok');
  }
} finally {
  await browser.close();
  fake.kill();
}

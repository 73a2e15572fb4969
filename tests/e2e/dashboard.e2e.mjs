// The dashboard, end to end, in Debian's headless Chromium (/usr/bin/chromium
// driven by playwright-core; never a downloaded browser), against a real
// console and real agents. Started by tests/netns/dashboard_e2e_test.cpp
// inside the console's network namespace:
//
//   node dashboard.e2e.mjs CONFIG.json
//
// CONFIG: {url, ca_file, admin_token, viewer_token, artifacts, endpoints[],
// attacker, isolate, policy: {name, endpoint, threshold}, latency_sources[]}.
//
// It talks to the harness over stdout, one JSON object a line (its own log
// goes to stderr):
//   {"e2e":"flood","source":S,"endpoints":[i...],"sustained":bool}  flood now, please
//   {"e2e":"row","source":S,"at_ms":T}   the row of S entered the page at wall-clock T
//   {"e2e":"step","name":N,"ok":bool,"ms":D,"error":E,"screenshot":F}
//   {"e2e":"done","ok":bool}
// The harness never answers: the script waits for what the flood shows.
//
// The page is touched only through docs/dashboard.md's data-testid hooks and
// ARIA roles; TLS is verified for real: the served certificate must chain to
// the console's CA (checked here with node's TLS), and Chromium then trusts
// exactly that key (--ignore-certificate-errors-spki-list), nothing else.
import crypto from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import { chromium } from 'playwright-core';

import { config, kViewport, kWait, logger, run, say, stepper, testid as sel } from './harness.mjs';

const log = logger('e2e');
const step = stepper('');

// The SHA-256 of the key the console serves, after node verified it chains to
// the console's CA and names the address we connect to.
async function verifiedSpkiPin(url, caFile) {
  const u = new URL(url);
  return await new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: u.hostname, port: Number(u.port || 443), ca: fs.readFileSync(caFile) },
      () => {
        const der = socket.getPeerX509Certificate().publicKey.export({ type: 'spki', format: 'der' });
        socket.end();
        resolve(crypto.createHash('sha256').update(der).digest('base64'));
      },
    );
    socket.setTimeout(5000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}

// Runs in every document before the page's own code: wall-clock time at which
// each flood source's row first entered the DOM.
function rowClock() {
  window.__sgLoadMark = Math.random();
  window.__sgRows = {};
  const record = () => {
    const now = performance.timeOrigin + performance.now();
    for (const el of document.querySelectorAll('[data-testid="flood-row"]')) {
      const s = el.getAttribute('data-source');
      if (s && !(s in window.__sgRows)) window.__sgRows[s] = now;
    }
  };
  new MutationObserver(record).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['data-source', 'data-testid'],
  });
}

async function waitAttr(locator, attr, want, timeout = kWait) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await locator.first().getAttribute(attr, { timeout: 1000 }).catch(() => undefined);
    if (typeof want === 'function' ? want(last) : last === String(want)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${attr} of ${locator} stayed ${JSON.stringify(last)} (wanted ${want})`);
}

async function login(page, token, role) {
  await page.goto(config.url + '/', { waitUntil: 'domcontentloaded' });
  await page.getByTestId('login-token').fill(token);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('whoami').filter({ hasText: `(${role})` }).waitFor({ timeout: kWait });
  await waitAttr(page.getByTestId('live-indicator'), 'data-state', 'live');
}

async function go(page, view) {
  await page.getByTestId(`nav-${view}`).click();
}

// Picks an option of a <select> by a predicate on (value, label), else the first.
async function choose(select, pred) {
  const options = await select.locator('option').evaluateAll((os) => os.map((o) => ({ value: o.value, label: o.textContent.trim() })));
  const pick = options.find((o) => pred(o)) || options.find((o) => o.value !== '') || options[0];
  if (!pick) throw new Error('a select with no options');
  await select.selectOption(pick.value);
  return pick;
}

// Clicks `button`, then the dialog's confirm if one opens (window.confirm is accepted by the page handler).
async function clickMaybeConfirm(page, button, confirmTestId) {
  await button.click();
  const confirm = page.getByTestId(confirmTestId);
  if (await confirm.isVisible({ timeout: 1500 }).catch(() => false)) await confirm.click();
}

async function admin(browser) {
  const context = await browser.newContext({ viewport: kViewport, ignoreHTTPSErrors: false });
  await context.addInitScript(rowClock);
  const page = await context.newPage();
  page.on('dialog', (d) => d.accept());
  page.on('console', (m) => m.type() === 'error' && log('page console error:', m.text()));
  page.on('pageerror', (e) => log('page error:', e.message));
  const [ep1, ep2, ep3] = config.endpoints;
  const src = config.attacker;

  await step(page, 'login-form', async () => {
    await page.goto(config.url + '/', { waitUntil: 'domcontentloaded' });
    await page.getByTestId('login-token').waitFor({ timeout: kWait });
    // A wrong token is refused with a visible error, and no session.
    await page.getByTestId('login-token').fill('sgA_not-a-token');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('login-error').waitFor({ timeout: kWait });
  });

  await step(page, 'logged-in-admin', async () => {
    await login(page, config.admin_token, 'admin');
    await page.getByTestId('rate-chart').waitFor({ timeout: kWait });
  });

  const loadMark = await page.evaluate(() => window.__sgLoadMark);
  await step(page, 'flood-appears-live', async () => {
    await go(page, 'floods');
    say({ e2e: 'flood', source: src, endpoints: [0, 1, 2], sustained: true });
    const row = page.locator(sel('flood-row', { source: src }));
    await row.waitFor({ timeout: kWait });
    const at = await page.evaluate((s) => window.__sgRows[s], src);
    say({ e2e: 'row', source: src, at_ms: at });
    // Three endpoints report it: HIGH (docs/api.md), blocked locally by each.
    await waitAttr(row, 'data-severity', 'HIGH');
    await waitAttr(row, 'data-state', 'BLOCK');
    await row.getByTestId('flood-expand').click();
    const detail = page.getByTestId('flood-detail').first();
    await detail.waitFor({ timeout: kWait });
    for (const ep of [ep1, ep2, ep3]) await detail.getByText(ep, { exact: false }).first().waitFor({ timeout: kWait });
    if ((await page.evaluate(() => window.__sgLoadMark)) !== loadMark) throw new Error('the page reloaded to show the flood');
  });

  await step(page, 'block-globally-acked', async () => {
    const row = page.locator(sel('flood-row', { source: src }));
    await row.getByTestId('action-block').click();
    await page.getByTestId('block-dialog').waitFor({ timeout: kWait });
    const ttl = await choose(page.getByTestId('block-ttl'), (o) => /^1\s*h|1h|3600/.test(o.value + ' ' + o.label));
    log('block ttl:', JSON.stringify(ttl));
    await page.getByTestId('block-reason').fill('e2e: SYN flood from the attacker');
    await page.getByTestId('block-confirm').click();
    await go(page, 'blocks');
    const brow = page.locator(sel('block-row', { source: src }));
    await brow.waitFor({ timeout: kWait });
    await waitAttr(brow, 'data-acked', String(config.endpoints.length));
    await waitAttr(brow, 'data-pending', '0');
  });

  await step(page, 'isolate-endpoint', async () => {
    await go(page, 'floods');
    const row = page.locator(sel('flood-row', { source: src }));
    await row.getByTestId('action-isolate').click();
    await choose(page.getByTestId('isolate-endpoint'), (o) => o.value === config.isolate || o.label.includes(config.isolate));
    await page.getByTestId('isolate-confirm').click();
    await go(page, 'endpoints');
    const erow = page.locator(sel('endpoint-row', { endpoint: config.isolate }));
    await waitAttr(erow, 'data-isolated', 'true');
    const tile = page.locator(sel('endpoint-tile', { endpoint: config.isolate }));
    if ((await tile.count()) > 0) await waitAttr(tile, 'data-state', 'isolated');
  });

  await step(page, 'release-endpoint', async () => {
    const erow = page.locator(sel('endpoint-row', { endpoint: config.isolate }));
    await clickMaybeConfirm(page, erow.getByTestId('endpoint-release'), 'isolate-confirm');
    await waitAttr(erow, 'data-isolated', 'false');
  });

  const p = config.policy;
  const epRow = page.locator(sel('endpoint-row', { endpoint: p.endpoint }));
  let before = 0;
  await step(page, 'policy-preview', async () => {
    await waitAttr(epRow, 'data-lagging', 'false'); // in sync before the edit
    before = Number(await epRow.getAttribute('data-applied-version'));
    await go(page, 'policies');
    const prow = page.locator(`[data-testid="policy-row"][data-policy="${p.name}"]`);
    await prow.getByTestId('policy-edit').click();
    const form = page.getByTestId('policy-form');
    await form.waitFor({ timeout: kWait });
    await form.getByTestId('policy-threshold').fill(String(p.threshold));
    await form.getByTestId('policy-preview').click();
    // The preview names the endpoint whose resolved policy changes.
    const named = form.getByText(p.endpoint).or(page.getByRole('dialog').getByText(p.endpoint));
    await named.first().waitFor({ timeout: kWait });
  });

  await step(page, 'policy-applied', async () => {
    await page.getByTestId('policy-save').click();
    await page.getByTestId('policy-form').waitFor({ state: 'hidden', timeout: kWait }).catch(() => {});
    await go(page, 'endpoints');
    await waitAttr(epRow, 'data-applied-version', (v) => Number(v) > before);
    await waitAttr(epRow, 'data-lagging', 'false');
    say({ e2e: 'policy', endpoint: p.endpoint, applied_version: Number(await epRow.getAttribute('data-applied-version')) });
  });

  // The latency figure: one short flood per source, each on its own endpoint,
  // with the floods view open; the harness pairs each row's time with the
  // agent's detection.
  await step(page, 'latency-floods', async () => {
    await go(page, 'floods');
    for (const [i, s] of config.latency_sources.entries()) {
      say({ e2e: 'flood', source: s, endpoints: [i % config.endpoints.length], sustained: false });
      await page.locator(sel('flood-row', { source: s })).waitFor({ timeout: kWait });
      say({ e2e: 'row', source: s, at_ms: await page.evaluate((x) => window.__sgRows[x], s) });
    }
  });

  await step(page, 'dark-scheme', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(300);
  });
  await page.emulateMedia({ colorScheme: 'light' });
  await context.close();
}

async function viewer(browser) {
  const context = await browser.newContext({ viewport: kViewport });
  const page = await context.newPage();
  const actions = [
    'action-block', 'action-isolate', 'action-escalate', 'action-acknowledge',
    'endpoint-isolate', 'endpoint-release', 'block-unblock', 'policy-edit', 'policy-save',
  ];
  const none = async (where) => {
    for (const a of actions) {
      const n = await page.getByTestId(a).count();
      if (n > 0) throw new Error(`a viewer sees ${n} ${a} on ${where}`);
    }
  };
  await step(page, 'viewer-no-actions', async () => {
    await login(page, config.viewer_token, 'viewer');
    await go(page, 'floods');
    // Whichever floods are still active (the first may have ended by now).
    const row = page.getByTestId('flood-row').first();
    await row.waitFor({ timeout: kWait });
    await row.getByTestId('flood-expand').click();
    await none('floods');
    for (const view of ['endpoints', 'blocks', 'policies']) {
      await go(page, view);
      await page.waitForTimeout(300);
      await none(view);
    }
    await go(page, 'floods');
  });
  await context.close();
}

run(
  async () => {
    const pin = await verifiedSpkiPin(config.url, config.ca_file);
    log('console key pinned after CA verification:', pin);
    return await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [`--ignore-certificate-errors-spki-list=${pin}`],
      timeout: 30000,
    });
  },
  [admin, viewer],
  log,
  180000,
);

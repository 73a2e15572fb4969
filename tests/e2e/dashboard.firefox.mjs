// The dashboard's core story in Firefox: Debian's firefox-esr (never a
// downloaded browser) driven over WebDriver BiDi by puppeteer-core, against
// the same real console and agents as the Chromium story. Started by
// tests/netns/dashboard_e2e_test.cpp inside the console's namespace:
//
//   node dashboard.firefox.mjs CONFIG.json
//
// CONFIG: {url, profile, admin_token, viewer_token, artifacts, source,
// timeout_ms}. `profile` is a Firefox profile whose certificate store trusts
// the console's CA and nothing more of ours (the harness imports it with
// certutil): TLS is verified by Firefox itself, chain and address.
//
// Why puppeteer-core here and playwright-core for Chromium: playwright drives
// Firefox only through its own patched build (a browser download); a stock
// Firefox speaks WebDriver BiDi, which puppeteer-core drives.
//
// Same stdout protocol as dashboard.e2e.mjs: {"e2e":"flood",...} asks the
// harness for a flood; {"e2e":"step",...} and {"e2e":"done",...} report.
import puppeteer from 'puppeteer-core';

import { config, kViewport, kWait, logger, run, say, stepper, testid as tid } from './harness.mjs';

const log = logger('e2e-firefox');
const step = stepper('firefox-');

// Waits until `fn(...args)` is truthy in the page.
const until = (page, fn, ...args) => page.waitForFunction(fn, { timeout: kWait, polling: 100 }, ...args);

async function login(page, token, role) {
  await page.goto(config.url + '/', { waitUntil: 'domcontentloaded' });
  await page.waitForSelector(tid('login-token'), { timeout: kWait });
  await page.type(tid('login-token'), token);
  await page.click(tid('login-submit'));
  await until(
    page,
    (sel, want) => (document.querySelector(sel)?.textContent || '').includes(want),
    tid('whoami'),
    `(${role})`,
  );
  await until(page, (sel) => document.querySelector(sel)?.getAttribute('data-state') === 'live', tid('live-indicator'));
}

async function go(page, view) {
  await page.click(tid(`nav-${view}`));
}

async function admin(browser) {
  const page = await browser.newPage();
  await page.setViewport(kViewport);
  page.on('dialog', (d) => d.accept());
  page.on('pageerror', (e) => log('page error:', e.message));

  await step(page, 'ff-logged-in-admin', async () => {
    await login(page, config.admin_token, 'admin');
    await page.waitForSelector(tid('rate-chart'), { timeout: kWait });
  });

  await step(page, 'ff-flood-appears-live', async () => {
    await go(page, 'floods');
    const before = await page.evaluate(() => performance.timeOrigin);
    say({ e2e: 'flood', source: config.source, endpoints: [0], sustained: false });
    const row = tid('flood-row', { source: config.source });
    await page.waitForSelector(row, { timeout: kWait });
    await page.click(`${row} ${tid('flood-expand')}`);
    await page.waitForSelector(tid('flood-detail'), { timeout: kWait });
    if ((await page.evaluate(() => performance.timeOrigin)) !== before) {
      throw new Error('the page reloaded to show the flood');
    }
  });

  // Keyboard: Tab reaches the controls, and the focused one is drawn so
  // (the page's :focus-visible outline).
  await step(page, 'ff-keyboard-focus', async () => {
    await page.click('body');
    const seen = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      seen.push(
        await page.evaluate(() => {
          const el = document.activeElement;
          if (!el || el === document.body) return null;
          const s = getComputedStyle(el);
          return { tag: el.tagName, testid: el.getAttribute('data-testid'), outline: s.outlineStyle, width: s.outlineWidth };
        }),
      );
    }
    const focused = seen.filter(Boolean);
    if (focused.length === 0) throw new Error('Tab focused nothing');
    const drawn = focused.filter((f) => f.outline !== 'none' && f.width !== '0px');
    if (drawn.length !== focused.length) throw new Error('a focused control has no visible focus: ' + JSON.stringify(focused));
  });
  await page.close();
}

async function viewer(browser) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport(kViewport);
  const actions = [
    'action-block', 'action-isolate', 'action-escalate', 'action-acknowledge',
    'endpoint-isolate', 'endpoint-release', 'block-unblock', 'policy-edit', 'policy-save',
  ];
  const none = async (where) => {
    for (const a of actions) {
      const n = (await page.$$(tid(a))).length;
      if (n > 0) throw new Error(`a viewer sees ${n} ${a} on ${where}`);
    }
  };
  await step(page, 'ff-viewer-no-actions', async () => {
    await login(page, config.viewer_token, 'viewer');
    await go(page, 'floods');
    await page.waitForSelector(tid('flood-row'), { timeout: kWait });
    await page.click(tid('flood-expand'));
    await none('floods');
    for (const view of ['endpoints', 'blocks', 'policies']) {
      await go(page, view);
      await new Promise((r) => setTimeout(r, 300));
      await none(view);
    }
  });
  await context.close();
}

run(
  async () => {
    const browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: '/usr/bin/firefox-esr',
      headless: true,
      userDataDir: config.profile,
      timeout: 60000,
    });
    log('browser:', await browser.version());
    return browser;
  },
  [admin, viewer],
  log,
  120000,
);

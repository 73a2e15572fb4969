#!/usr/bin/env node
// Smoke check of live resume in /usr/bin/chromium against the fake console:
// a cut stream resumes from its last id (a replay, no reload) and the page's
// rows equal the console's floods afterwards; a console restart (sessions
// gone) shows the login, and logging in again reloads after a `reset`.
//   node web/dev/resume-smoke.mjs [web root, default build/share/syn-guard/web]
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(process.argv[2] ?? join(here, '../../build/share/syn-guard/web'));
const start = (port) =>
  new Promise((ok, fail) => {
    const p = spawn(process.execPath, [join(here, 'fake-console.mjs'), '--port', String(port), '--root', root,
      '--floods', '20', '--endpoints', '50', '--churn', '5'], { stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout.on('data', (d) => {
      const m = /listening on (http:\/\/\S+)/.exec(String(d));
      if (m) ok({ p, base: m[1] });
    });
    p.on('exit', (c) => fail(new Error(`fake console exited ${c}`)));
  });
let fake = await start(0);
process.on('exit', () => fake.p.kill()); // also when something below throws
const base = fake.base;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) process.exitCode = 1;
};
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  const login = async () => {
    await page.getByTestId('login-token').fill('sgA_operator');
    await page.getByTestId('login-submit').click();
    await page.locator('[data-testid="live-indicator"][data-state="live"]').waitFor();
  };
  const stats = async () => (await fetch(base + '/dev/stats')).json();
  await page.goto(base + '/');
  await login();
  await fetch(base + '/dev/drop-streams', { method: 'POST' });
  await page.waitForTimeout(2500);
  const s = await stats();
  check(s.replays === 1 && s.resets === 0, `a cut stream resumed by replay (${JSON.stringify(s)})`);
  const rows = await page.getByTestId('flood-row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-flood-id')).join(','));
  const api = await page.evaluate(async () =>
    (await (await fetch('/v1/floods')).json()).items.map((f) => f.id).sort((a, b) => b - a).join(','));
  check(rows === api, 'the rows are the console’s active floods after the cut');
  fake.p.kill();
  await new Promise((r) => fake.p.on('exit', r));
  fake = await start(new URL(base).port);
  await page.getByTestId('login-token').waitFor({ timeout: 15000 });
  check(true, 'a restarted console (sessions gone) shows the login');
  await login();
  await page.waitForTimeout(800);
  const s2 = await stats();
  check(s2.resets === 1 && (await page.getByTestId('flood-row').count()) === 20, `logged in again: reset and reloaded (${JSON.stringify(s2)})`);
} finally {
  await browser.close();
  fake.p.kill();
}

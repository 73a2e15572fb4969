#!/usr/bin/env node
// Screenshots of every view, light and dark, against a running fake console:
//   node web/dev/screenshots.mjs http://127.0.0.1:18080 build/web-screenshots [token]
// Prints the page's console errors (a CSP violation shows up here).
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [base = 'http://127.0.0.1:18080', out = 'build/web-screenshots', token = 'sgA_admin'] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
const problems = [];
for (const scheme of ['light', 'dark']) {
  const ctx = await browser.newContext({ colorScheme: scheme, viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  page.on('console', (m) => m.type() === 'error' && problems.push(`${scheme}: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`${scheme}: ${e.message}`));
  const shot = (name) => page.screenshot({ path: `${out}/${name}-${scheme}.png` });
  await page.goto(base + '/');
  await page.getByTestId('login-token').fill('wrong');
  await page.getByTestId('login-submit').click();
  await page.getByTestId('login-error').waitFor();
  await shot('login-error');
  await page.getByTestId('login-token').fill(token);
  await page.getByTestId('login-submit').click();
  await page.locator('[data-testid="live-indicator"][data-state="live"]').waitFor();
  await page.getByTestId('flood-row').first().waitFor();
  await page.waitForTimeout(1500);
  await shot('floods');
  await page.getByTestId('flood-expand').first().click();
  await page.getByTestId('flood-detail').waitFor();
  await page.getByTestId('flood-row').first().scrollIntoViewIfNeeded();
  await shot('flood-expanded');
  if (token !== 'sgA_viewer') {
    await page.getByTestId('action-block').first().click();
    await page.getByTestId('block-dialog').waitFor();
    await shot('block-dialog');
    await page.getByTestId('block-ttl').selectOption('10m');
    await page.getByTestId('block-confirm').click();
    await page.getByTestId('block-dialog').waitFor({ state: 'detached' });
  }
  await page.getByTestId('endpoint-tile').nth(5).click();
  await page.waitForTimeout(800);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot('endpoint-chart');
  for (const view of ['endpoints', 'blocks', 'policies', 'incidents', 'audit']) {
    await page.getByTestId('nav-' + view).click();
    await page.waitForTimeout(1200);
    if (view === 'blocks' && (await page.getByTestId('block-row').count()) > 0) {
      await page.getByTestId('block-row').first().getByRole('button', { name: 'which' }).click();
      await page.waitForTimeout(500);
    }
    await shot(view);
  }
  if (token !== 'sgA_viewer') {
    await page.getByTestId('nav-floods').click();
    await page.getByTestId('action-escalate').first().click();
    await page.getByTestId('escalate-note').fill('page the on-call');
    await shot('escalate-dialog');
    await page.keyboard.press('Escape');
  }
  if (token === 'sgA_admin') {
    await page.getByTestId('nav-policies').click();
    await page.getByTestId('policy-edit').first().click();
    await page.getByTestId('policy-threshold').fill('75');
    await page.getByTestId('policy-preview').click();
    await page.waitForTimeout(800);
    await shot('policy-edit');
  }
  await ctx.close();
}
await browser.close();
console.log(problems.length ? 'page errors:\n' + problems.join('\n') : 'no page errors');

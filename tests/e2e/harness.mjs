// What the dashboard's browser stories share, whichever browser drives them
// (dashboard.e2e.mjs: Chromium through playwright-core; dashboard.firefox.mjs:
// Firefox ESR through puppeteer-core): the config file named on the command
// line, the stdout protocol with the harness (tests/netns/dashboard_e2e_test.cpp),
// the screenshotted steps, and the bounded run that ends with {"e2e":"done"}.
// Both drivers' pages take page.screenshot({path, fullPage}).
import fs from 'node:fs';
import path from 'node:path';

export const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
export const kWait = 15000; // one UI expectation, ms
export const kViewport = { width: 1440, height: 900 }; // a laptop screen

// One JSON object a line to the harness; the script's own log goes to stderr.
export const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
export const logger = (tag) => (...args) => console.error(`[${tag}]`, ...args);

// A CSS selector for docs/dashboard.md's data-testid hooks (and data-* attributes).
export const testid = (id, attrs = {}) =>
  `[data-testid="${id}"]` +
  Object.entries(attrs)
    .map(([k, v]) => `[data-${k}="${v}"]`)
    .join('');

const results = [];
let stepNo = 0;

// A step of the story: runs `fn`, screenshots the page into the artifacts
// (`prefix` + number + name), reports it to the harness; a failed step is
// screenshotted as such and ends the story (it throws).
export function stepper(prefix) {
  return async function step(page, name, fn) {
    const no = String(++stepNo).padStart(2, '0');
    const started = Date.now();
    const shot = path.join(config.artifacts, `${prefix}${no}-${name}.png`);
    try {
      await fn();
      await page.screenshot({ path: shot, fullPage: true });
      say({ e2e: 'step', name, ok: true, ms: Date.now() - started, screenshot: shot });
      results.push(true);
    } catch (e) {
      const failed = path.join(config.artifacts, `${prefix}${no}-${name}-FAILED.png`);
      await page.screenshot({ path: failed, fullPage: true }).catch(() => {});
      say({ e2e: 'step', name, ok: false, ms: Date.now() - started, error: String(e.message || e).slice(0, 2000), screenshot: failed });
      results.push(false);
      throw e;
    }
  };
}

// Runs the stories in the browser `launch()` opens, closes it, reports
// {"e2e":"done"} and exits; bounded by config.timeout_ms (else `timeoutMs`)
// whatever happens, so the harness waits at most a little longer.
export function run(launch, stories, log, timeoutMs) {
  setTimeout(() => {
    say({ e2e: 'done', ok: false, error: 'timed out' });
    process.exit(2);
  }, Number(config.timeout_ms || timeoutMs)).unref();
  const main = async () => {
    fs.mkdirSync(config.artifacts, { recursive: true });
    const browser = await launch();
    let ok = false;
    try {
      for (const story of stories) await story(browser);
      ok = true;
    } catch (e) {
      log('stopped:', e.message || e);
    } finally {
      await browser.close().catch(() => {});
    }
    say({ e2e: 'done', ok: ok && results.every(Boolean) });
    process.exit(ok ? 0 : 1);
  };
  main().catch((e) => {
    say({ e2e: 'done', ok: false, error: String(e.message || e) });
    process.exit(1);
  });
}

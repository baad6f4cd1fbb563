// Shared set-up for the end-to-end suite: one headless Chromium per test file, pages that
// record console errors and failed requests so every test can assert there were none.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BASE = process.env.VITRINE_URL ?? 'http://127.0.0.1:8080';
// e2e/artifacts wherever node was started from (a run from the repository root once left
// screenshots in ./artifacts).
export const ARTIFACTS = process.env.VITRINE_ARTIFACTS
  ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

// Flags for this sandbox: no GPU, and no background traffic to hosts we cannot reach.
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [...FLAGS, ...extraArgs],
  });
}

/**
 * A page that keeps `page.problems`: console errors, page errors, failed or 4xx/5xx requests.
 * `serviceWorkers: 'block'` for tests that route the site's own files (a service worker would
 * answer from its cache, past the route).
 */
export async function newPage(browser, { viewport = { width: 1280, height: 800 }, allow = [], serviceWorkers = 'allow', locale } = {}) {
  const context = await browser.newContext({ viewport, serviceWorkers, ...(locale ? { locale } : {}) });
  const page = await context.newPage();
  const problems = [];
  const allowed = (text) => allow.some((pattern) => pattern.test(text));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !allowed(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  // A request the browser cancels because the test navigated away (the favicon of the page
  // being left, typically) is not a failure of the site: remember which page each started on.
  let navigations = 0;
  const startedOn = new WeakMap();
  page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) navigations += 1; });
  page.on('request', (req) => startedOn.set(req, navigations));
  page.on('requestfailed', (req) => {
    const aborted = req.failure()?.errorText === 'net::ERR_ABORTED';
    const leftBehind = aborted && startedOn.get(req) !== navigations;
    // Chromium fetches the tab's icon on its own schedule and cancels that fetch whenever the
    // tab's URL changes, in-page route changes included (seen once in a CI run): never a site
    // failure. A missing icon still shows, as its HTTP status.
    const iconFetch = aborted && new URL(req.url()).pathname === '/favicon.svg';
    if (leftBehind || iconFetch) return;
    if (!allowed(req.url())) problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && !allowed(res.url())) problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  page.problems = problems;
  return page;
}

export function artifact(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

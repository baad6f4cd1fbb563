// The foundation: every route renders, the inference worker answers, the server sends the
// right headers, and nothing on the page errors or fails to load.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, artifact } from '../lib/browser.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const ROUTES = [
  ['/', 'page-landing'],
  ['/kiosk', 'page-kiosk'],
  ['/tour', 'page-tour'],
  ['/tour/2', 'page-tour'],
  ['/insights', 'page-insights'],
  ['/embed/sentiment', 'page-embed-sentiment'],
  ['/embed/image', 'page-embed-image'],
];

test('the landing page loads and the inference worker answers', async () => {
  const page = await newPage(browser);
  const response = await page.goto(BASE + '/');
  assert.equal(response.status(), 200);
  assert.match(await page.title(), /Vitrine/);
  const status = page.getByTestId('engine-status');
  await status.and(page.locator('[data-state="ready"]')).waitFor({ timeout: 30_000 });
  assert.match(await status.innerText(), /WASM SIMD/);
  assert.deepEqual(page.problems, []);
});

for (const [route, testId] of ROUTES) {
  test(`route ${route} renders`, async () => {
    const page = await newPage(browser);
    const response = await page.goto(BASE + route);
    assert.equal(response.status(), 200);
    await page.getByTestId(testId).waitFor();
    // Pages with a model or engine status: let it settle, then check it did not fail.
    if (await page.locator('[data-state]').count()) {
      await page.locator('[data-state="ready"], [data-state="failed"]').first().waitFor({ timeout: 30_000 }).catch(() => {});
    }
    assert.equal(await page.locator('[data-state="failed"]').count(), 0, 'engine failed to start');
    assert.deepEqual(page.problems, []);
  });
}

test('an unknown address shows the not-found page with status 404', async () => {
  const page = await newPage(browser, { allow: [/no-such-page$/, /status of 404/] });
  const response = await page.goto(BASE + '/no-such-page');
  assert.equal(response.status(), 404);
  await page.getByTestId('page-not-found').waitFor();
  assert.deepEqual(page.problems, []);
});

test('headers: wasm MIME, compression, caching, security', async () => {
  const html = await fetch(BASE + '/');
  assert.equal(html.headers.get('cache-control'), 'no-cache');
  const csp = html.headers.get('content-security-policy');
  assert.match(csp, /'wasm-unsafe-eval'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(html.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(html.headers.get('x-frame-options'), 'DENY');
  assert.ok(html.headers.get('x-request-id'));

  const body = await html.text();
  const wasmPath = body.match(/href=\/?(app-[0-9a-f]{8,16}_bg\.wasm)/)?.[1];
  assert.ok(wasmPath, 'index.html preloads the hashed app wasm');
  const wasm = await fetch(`${BASE}/${wasmPath}`, { headers: { 'accept-encoding': 'br' } });
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  assert.equal(wasm.headers.get('content-encoding'), 'br');
  assert.match(wasm.headers.get('cache-control'), /immutable/);

  const gz = await fetch(`${BASE}/${wasmPath}`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(gz.headers.get('content-encoding'), 'gzip');

  const embed = await fetch(BASE + '/embed/sentiment');
  assert.match(embed.headers.get('content-security-policy'), /frame-ancestors \*/);
  assert.equal(embed.headers.get('x-frame-options'), null);

  const worker = await fetch(BASE + '/sdk/model-wasm_bg.wasm');
  assert.equal(worker.headers.get('content-type'), 'application/wasm');
  assert.equal(worker.headers.get('cache-control'), 'no-cache');

  const health = await (await fetch(BASE + '/healthz')).json();
  assert.equal(health.status, 'ok');
  assert.equal((await fetch(BASE + '/missing.js')).status, 404);
});

test('the language switch translates the page, sets lang, and persists', async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/');
  await page.getByTestId('lang-switch').click();
  await page.waitForFunction(() => document.documentElement.lang === 'zh');
  assert.match(await page.locator('h1').innerText(), /设备/);
  // The hero's model starts downloading on load; reloading mid-download would abort it.
  await page.locator('[data-testid="load-progress-sentiment"][data-state="ready"]').waitFor({ timeout: 60_000 });
  await page.reload();
  await page.waitForFunction(() => document.documentElement.lang === 'zh');
  assert.deepEqual(page.problems, []);
});

for (const [name, viewport] of [['desktop', { width: 1920, height: 1080 }], ['phone', { width: 390, height: 844 }]]) {
  test(`screenshot at ${name} size without horizontal scroll`, async () => {
    const page = await newPage(browser, { viewport });
    await page.goto(BASE + '/');
    // The engine's status, not any ready element: the model's loader can be ready at the same
    // moment (quickly so with the threaded engine), and two matches fail a strict locator.
    await page.locator('[data-testid="engine-status"][data-state="ready"]').waitFor({ timeout: 30_000 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the ${name} viewport`);
    await page.screenshot({ path: artifact(`landing-${name}.png`), fullPage: true });
    assert.deepEqual(page.problems, []);
  });
}

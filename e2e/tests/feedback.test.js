// Opt-in feedback as visitors and the team use it: without consent no request reaches the API; with consent a rating lands in the database once;
// a rating made offline is delivered exactly once after reconnecting; a sentiment correction
// carries the typed text only when its box is ticked; the insights page shows a <script>
// comment as text; and the admin API answers 401 without the right token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage } from '../lib/browser.js';

const TOKEN = process.env.VITRINE_ADMIN_TOKEN;
const LOAD = 120_000;
let browser;
before(async () => {
  assert.ok(TOKEN, 'VITRINE_ADMIN_TOKEN must be set (cargo xtask test sets it for the server and for us)');
  browser = await launch();
});
after(async () => { await browser?.close(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function exported() {
  const res = await fetch(`${BASE}/api/feedback/export?format=json`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  return res.json();
}

/** Rows matching `predicate`, polled until there are `count` (or the time is up). */
async function waitRows(predicate, count = 1, timeout = 20_000) {
  const end = Date.now() + timeout;
  let rows = [];
  while (Date.now() < end) {
    rows = (await exported()).filter(predicate);
    if (rows.length >= count) return rows;
    await sleep(250);
  }
  return rows;
}

/** Records every request to /api. */
function watchRequests(page) {
  const seen = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.pathname.startsWith('/api/')) seen.push(url.pathname);
  });
  return seen;
}

async function rateVisit(page, comment) {
  const panel = page.getByTestId('visit-rating');
  await panel.scrollIntoViewIfNeeded();
  await page.getByTestId('rating-speed-5').check();
  await page.getByTestId('rating-stability-4').check();
  await page.getByTestId('rating-usability-3').check();
  await page.getByTestId('visit-comment').fill(comment);
  assert.equal(await page.getByTestId('visit-comment-count').innerText(), `${[...comment].length} / 2000`);
  await page.getByTestId('visit-send').click();
}

test('consent declined: no request reaches the API', { timeout: 60_000 }, async () => {
  const page = await newPage(browser);
  const seen = watchRequests(page);
  await page.goto(BASE + '/');
  await rateVisit(page, 'declined visitor');
  const dialog = page.getByTestId('consent-dialog');
  await dialog.waitFor();
  assert.equal(await dialog.getAttribute('role'), 'dialog');
  // The dialog says what, where and why before anything is sent.
  assert.match(await dialog.innerText(), /\/api\/feedback/);
  // It is modal for the keyboard too: Tab and Shift+Tab go round its controls, never behind it.
  const inside = () => page.evaluate(() => !!document.activeElement?.closest('[data-testid="consent-dialog"]'));
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    assert.ok(await inside(), `focus left the dialog after ${i + 1} Tab presses`);
  }
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Shift+Tab');
    assert.ok(await inside(), `focus left the dialog after ${i + 1} Shift+Tab presses`);
  }
  await page.getByTestId('consent-decline').click();
  await page.getByTestId('visit-not-sent').waitFor();
  await sleep(1500);
  assert.deepEqual(seen, []);
  assert.equal((await exported()).filter((r) => r.comment === 'declined visitor').length, 0);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('consent given: the rating is stored once, hostile text verbatim', { timeout: 60_000 }, async () => {
  const page = await newPage(browser);
  const marker = `<script>window.__pwned = 1</script> '); DROP TABLE feedback; -- ${Date.now()}`;
  await page.goto(BASE + '/');
  await rateVisit(page, marker);
  await page.getByTestId('consent-agree').click();
  await page.getByTestId('visit-queued').waitFor();
  const rows = await waitRows((r) => r.comment === marker);
  assert.equal(rows.length, 1);
  assert.deepEqual([rows[0].speed, rows[0].stability, rows[0].usability], [5, 4, 3]);
  assert.equal(rows[0].email, null);
  await sleep(1000);
  assert.equal((await exported()).filter((r) => r.comment === marker).length, 1);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('offline: a rating waits in IndexedDB and is delivered exactly once after reconnecting', { timeout: 90_000 }, async () => {
  const page = await newPage(browser, { allow: [/\/api\/feedback/] });
  const marker = `offline kiosk ${Date.now()}`;
  await page.goto(BASE + '/');
  // The app preloads the outbox code while online; go offline only once it has arrived.
  await page.getByTestId('visit-rating').waitFor();
  await page.waitForFunction(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('/sdk/feedback-queue.js')));
  await page.context().setOffline(true);
  await rateVisit(page, marker);
  await page.getByTestId('consent-agree').click();
  await page.getByTestId('visit-queued').waitFor();
  await sleep(2000);
  assert.equal((await exported()).filter((r) => r.comment === marker).length, 0, 'nothing arrives while offline');
  const waiting = await page.evaluate(async () => (await import('/sdk/feedback-queue.js')).pending());
  assert.equal(waiting, 1);
  await page.context().setOffline(false);
  const rows = await waitRows((r) => r.comment === marker);
  assert.equal(rows.length, 1);
  // Give any retry a chance to duplicate it: it must not.
  await sleep(3000);
  assert.equal((await exported()).filter((r) => r.comment === marker).length, 1);
  assert.equal(await page.evaluate(async () => (await import('/sdk/feedback-queue.js')).pending()), 0);
  await page.context().close();
});

test('sentiment thumbs down: the correction is sent, with the text only when its box is ticked', { timeout: 180_000 }, async () => {
  const page = await newPage(browser);
  const sentence = `An utterly dreadful, boring waste of time ${Date.now()}`;
  await page.goto(BASE + '/');
  await page.getByTestId('sentiment-input').fill(sentence);
  const feedback = page.getByTestId('feedback-sentiment');
  await feedback.waitFor({ timeout: LOAD });
  const predicted = await page.getByTestId('sentiment-label').getAttribute('data-label');
  await feedback.getByTestId('thumb-down').click();
  await page.getByTestId('consent-text').check();
  await page.getByTestId('consent-telemetry').check();
  await page.getByTestId('consent-agree').click();
  await feedback.getByTestId('feedback-queued').waitFor();
  const rows = await waitRows((r) => r.input_text === sentence);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].model, 'sentiment');
  assert.equal(rows[0].verdict, 'down');
  assert.equal(rows[0].predicted, predicted);
  assert.equal(rows[0].corrected, predicted === 'positive' ? 'negative' : 'positive');
  assert.match(rows[0].backend, /^(wasm-simd|webgpu)$/);
  assert.ok(rows[0].latency_ms >= 0);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('insights: 401 without the token; with it, a <script> comment is shown as text', { timeout: 60_000 }, async () => {
  for (const headers of [{}, { Authorization: 'Bearer wrong-token-0123456789' }]) {
    for (const path of ['/api/insights', '/api/feedback/export?format=csv']) {
      const res = await fetch(BASE + path, { headers });
      assert.equal(res.status, 401, `${path} ${JSON.stringify(headers)}`);
    }
  }
  const script = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2"> ${Date.now()}`;
  const res = await fetch(`${BASE}/api/feedback`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ id: crypto.randomUUID(), visit: { speed: 2, stability: 2, usability: 2, comment: script } }),
  });
  assert.equal(res.status, 201);

  const page = await newPage(browser, { allow: [/\/api\/insights/] });
  await page.goto(BASE + '/insights');
  await page.getByTestId('admin-token').fill('wrong-token-0123456789');
  await page.getByTestId('admin-sign-in').click();
  await page.getByTestId('insights-unauthorized').waitFor();
  await page.getByTestId('admin-token').fill(TOKEN);
  await page.getByTestId('admin-sign-in').click();
  const comment = page.getByTestId('insights-comment').filter({ hasText: script });
  await comment.waitFor();
  assert.equal(await comment.locator('.comment-text').innerText(), script);
  assert.equal(await page.locator('[data-testid="insights-comments"] script, [data-testid="insights-comments"] img').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.ok(Number(await page.getByTestId('insights-total').innerText()) >= 1);
  // The token lives in sessionStorage only.
  assert.equal(await page.evaluate(() => localStorage.getItem('vitrine.admin.token')), null);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('vitrine.admin.token')), TOKEN);
  await page.context().close();
});

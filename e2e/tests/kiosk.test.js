// Kiosk mode as a booth runs it: the attract loop until someone touches the screen, big demos,
// an idle reset that leaves nothing of the last visitor, a staff exit behind a long press and the
// PIN, and a reload with the server gone (service worker + cached models).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { BASE, launch, newPage, artifact } from '../lib/browser.js';
import { startServer } from '../lib/server.js';

const LOAD = 120_000;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const shippedConfig = JSON.parse(await readFile(new URL('../../public/kiosk.json', import.meta.url), 'utf8'));

/** A kiosk page whose /kiosk.json is replaced by `config` (no service worker, so routing sees it). */
async function kioskWithConfig(config) {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, serviceWorkers: 'block' });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`page error: ${err.message}`));
  await page.route('**/kiosk.json', (route) => route.fulfill({ contentType: 'application/json', body: JSON.stringify(config) }));
  await page.goto(BASE + '/kiosk');
  return page;
}

test('kiosk: attract loop shows real answers, a touch starts, typing gives a label', { timeout: 240_000 }, async () => {
  const page = await newPage(browser, { viewport: { width: 1920, height: 1080 } });
  await page.goto(BASE + '/kiosk');
  const attract = page.getByTestId('kiosk-attract');
  await attract.waitFor();
  // The first slide is an example sentence; its answer comes from the model, not the script.
  await attract.locator('.attract-answer .verdict-label').waitFor({ timeout: LOAD });
  assert.match(await attract.locator('.attract-answer').innerText(), /(Positive|Negative)\s+\d+%/);
  assert.equal(await page.locator('a[href]').count(), 0, 'a kiosk has no links to wander off with');
  await page.screenshot({ path: artifact('kiosk-attract-1920.png') });

  await attract.click({ position: { x: 200, y: 300 } });
  await attract.waitFor({ state: 'detached' });
  const input = page.getByTestId('sentiment-input');
  await input.fill('What a wonderful, joyful day');
  await page.locator('[data-testid="sentiment-label"][data-label="positive"]').waitFor({ timeout: LOAD });
  assert.equal(await page.getByTestId('share-button').count(), 0, 'no share link on a booth screen');
  // Touch targets: every button is at least 48 px tall.
  const small = await page.locator('button:visible').evaluateAll((els) =>
    els.filter((e) => e.getBoundingClientRect().height < 48).map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(small, []);
  await page.getByTestId('kiosk-tab-image').click();
  await page.getByTestId('sample-parrot').click();
  await page.getByTestId('image-top5').waitFor({ timeout: LOAD });
  assert.equal(await page.getByTestId('image-class').count(), 5);
  await page.screenshot({ path: artifact('kiosk-photo-1920.png') });
  assert.deepEqual(page.problems, []);
});

test('kiosk: in Chinese the attract loop shows Chinese sentences, answered by the Chinese reader', { timeout: 240_000 }, async () => {
  const page = await newPage(browser, { viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
  await page.goto(BASE + '/kiosk');
  await page.waitForFunction(() => document.documentElement.lang === 'zh');
  const attract = page.getByTestId('kiosk-attract');
  await attract.locator('.attract-answer .verdict-label').waitFor({ timeout: LOAD });
  assert.match(await attract.locator('.attract-quote').innerText(), /\p{Script=Han}/u);
  assert.match(await attract.locator('.attract-answer').innerText(), /(正面|负面)\s+\d+%/);
  await page.screenshot({ path: artifact('kiosk-attract-zh-1920.png') });
  await attract.click({ position: { x: 200, y: 300 } });
  await attract.waitFor({ state: 'detached' });
  await page.getByTestId('sentiment-input').fill('质量太差了，用了两天就坏了');
  await page.locator('[data-testid="sentiment-label"][data-label="negative"]').waitFor({ timeout: LOAD });
  assert.equal(await page.getByTestId('sentiment-answered-by').getAttribute('data-model'), 'sentiment-zh');
  // One sentiment tab: the Chinese reader answers inside it.
  assert.equal(await page.getByTestId('kiosk-tab-sentiment-zh').count(), 0);
  assert.deepEqual(page.problems, []);
});

test('kiosk: the idle reset clears the last visitor’s text, photo, results and language', { timeout: 240_000 }, async () => {
  const page = await kioskWithConfig({ ...shippedConfig, idle_seconds: 5 });
  await page.getByTestId('kiosk-start').click();
  await page.getByTestId('lang-switch').click();
  await page.waitForFunction(() => document.documentElement.lang === 'zh');
  await page.getByTestId('sentiment-input').fill('The worst meal I have ever had');
  await page.locator('[data-testid="sentiment-label"][data-label="negative"]').waitFor({ timeout: LOAD });
  await page.getByTestId('kiosk-tab-image').click();
  await page.getByTestId('sample-owl').click();
  await page.getByTestId('image-top5').waitFor({ timeout: LOAD });

  // Activity postpones the reset...
  await page.waitForTimeout(3000);
  await page.mouse.move(50, 500);
  await page.mouse.down();
  await page.mouse.up();
  await page.waitForTimeout(3000);
  assert.equal(await page.getByTestId('kiosk-attract').count(), 0, 'reset while the visitor was active');
  // ...and five quiet seconds bring the attract loop back with everything cleared.
  await page.getByTestId('kiosk-attract').waitFor({ timeout: 10_000 });
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  await page.getByTestId('kiosk-start').click();
  assert.equal(await page.getByTestId('kiosk-tab-sentiment').getAttribute('aria-pressed'), 'true');
  assert.equal(await page.getByTestId('sentiment-input').inputValue(), '');
  assert.equal(await page.getByTestId('sentiment-label').count(), 0);
  await page.getByTestId('kiosk-tab-image').click();
  assert.equal(await page.getByTestId('image-preview').count(), 0);
  assert.equal(await page.getByTestId('image-result').getAttribute('data-state'), 'idle');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('kiosk: staff exit needs a long press and the PIN (keyboard only)', { timeout: 120_000 }, async () => {
  const page = await kioskWithConfig({ ...shippedConfig, hold_seconds: 1 });
  await page.getByTestId('kiosk-attract').waitFor();
  await page.keyboard.press('Enter'); // any key starts a visit
  await page.getByTestId('kiosk-attract').waitFor({ state: 'detached' });
  // A tap is not enough.
  await page.getByTestId('staff-mark').click();
  await page.waitForTimeout(1500);
  assert.equal(await page.getByTestId('staff-dialog').count(), 0);
  // Holding Enter on the mark opens the keypad, focused on the PIN field.
  await page.getByTestId('staff-mark').focus();
  await page.keyboard.down('Enter');
  await page.getByTestId('staff-dialog').waitFor({ timeout: 5000 });
  await page.keyboard.up('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'staff-pin');
  await page.keyboard.type('0000');
  await page.keyboard.press('Enter');
  await page.getByTestId('staff-wrong').waitFor();
  assert.equal(new URL(page.url()).pathname, '/kiosk');
  await page.keyboard.type(shippedConfig.pin);
  await page.keyboard.press('Enter');
  await page.waitForURL(BASE + '/');
  await page.getByTestId('page-landing').waitFor();
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('kiosk: works offline after the first visit (service worker + cached models)', { timeout: 300_000 }, async () => {
  const server = await startServer();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await page.goto(server.url + '/kiosk');
    await page.locator('[data-testid="kiosk-offline"][data-state="ready"]').waitFor({ timeout: LOAD * 2 });
    const stored = await page.evaluate(async () => {
      const shell = await (await caches.open('vitrine-shell-v1')).keys();
      const models = await (await caches.open('vitrine-models-v1')).keys();
      return { shell: shell.length, models: models.map((r) => new URL(r.url).pathname + new URL(r.url).search) };
    });
    assert.ok(stored.shell > 10, `shell entries: ${stored.shell}`);
    // Each model is stored once, under the inference worker's own key (the Chinese reader too:
    // the booth must answer Chinese offline).
    assert.equal(stored.models.filter((m) => m.includes('?sha256=')).length, 3, stored.models.join(', '));

    await server.stop();
    assert.equal(await fetch(server.url + '/healthz').then(() => 'up', () => 'down'), 'down');
    await page.reload();
    await page.getByTestId('page-kiosk').waitFor({ timeout: 30_000 });
    await page.getByTestId('kiosk-start').click();
    await page.getByTestId('sentiment-input').fill('Still brilliant without any network');
    await page.locator('[data-testid="sentiment-label"][data-label="positive"]').waitFor({ timeout: LOAD });
    await page.getByTestId('kiosk-tab-image').click();
    await page.getByTestId('sample-parrot').click();
    await page.getByTestId('image-top5').waitFor({ timeout: LOAD });
    assert.equal(await page.getByTestId('image-class').count(), 5);
  } finally {
    await context.close();
    await server.stop();
  }
});

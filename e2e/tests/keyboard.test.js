// Keyboard-only flows: everything a visitor does with a mouse or a finger also works with Tab,
// Enter and Space alone — on the landing page, in the kiosk and in an embed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage } from '../lib/browser.js';

const LOAD = 120_000;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Presses Tab until the element matching `selector` has focus (fails after `max` presses). */
async function tabTo(page, selector, max = 40) {
  for (let i = 0; i < max; i += 1) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press('Tab');
  }
  assert.fail(`Tab never reached ${selector}`);
}

test('keyboard only: landing page — type, pick an example, classify a sample photo', { timeout: 240_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/');
  await page.getByTestId('page-landing').waitFor();
  await tabTo(page, '#sentiment-input');
  await page.keyboard.type('Absolutely lovely');
  await page.locator('[data-testid="sentiment-label"][data-label="positive"]').waitFor({ timeout: LOAD });
  await tabTo(page, '[data-testid="example-2"]');
  await page.keyboard.press('Enter');
  await page.locator('[data-testid="sentiment-label"][data-label="negative"]').waitFor({ timeout: LOAD });
  await tabTo(page, '[data-testid="sample-owl"]', 80);
  await page.keyboard.press('Enter');
  await page.getByTestId('image-top5').waitFor({ timeout: LOAD });
  assert.equal(await page.getByTestId('image-class').count(), 5);
  assert.deepEqual(page.problems, []);
});

test('keyboard only: kiosk — any key starts, Tab to the text box, switch to photos with Enter', { timeout: 240_000 }, async () => {
  const page = await newPage(browser, { viewport: { width: 1920, height: 1080 } });
  await page.goto(BASE + '/kiosk');
  await page.getByTestId('kiosk-attract').waitFor();
  await page.keyboard.press('Space');
  await page.getByTestId('kiosk-attract').waitFor({ state: 'detached' });
  await tabTo(page, '#sentiment-input');
  await page.keyboard.type('This booth is great fun');
  await page.locator('[data-testid="sentiment-label"][data-label="positive"]').waitFor({ timeout: LOAD });
  await tabTo(page, '[data-testid="kiosk-tab-image"]');
  await page.keyboard.press('Enter');
  await tabTo(page, '[data-testid="sample-parrot"]');
  await page.keyboard.press('Space');
  await page.getByTestId('image-top5').waitFor({ timeout: LOAD });
  assert.equal(await page.getByTestId('image-class').count(), 5);
  assert.deepEqual(page.problems, []);
});

test('keyboard only: the tour is driven by keys and its step links are reachable', { timeout: 120_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/tour');
  await page.locator('[data-testid="page-tour"][data-step="1"]').waitFor();
  await tabTo(page, '.tour-dot[href="/tour/6"]');
  await page.keyboard.press('Enter');
  await page.locator('[data-testid="page-tour"][data-step="6"]').waitFor();
  await page.getByTestId('image-top5').waitFor({ timeout: LOAD });
  await page.evaluate(() => document.activeElement?.blur());
  await page.keyboard.press('ArrowRight');
  await page.locator('[data-testid="page-tour"][data-step="7"]').waitFor();
  assert.deepEqual(page.problems, []);
});

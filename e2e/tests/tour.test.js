// The sales walkthrough: scripted steps from the content files, driven by arrow keys, presenter
// clicker keys (PageUp/PageDown) and buttons, each step with its own address that fills the demo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, artifact } from '../lib/browser.js';

const LOAD = 120_000;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const path = (page) => new URL(page.url()).pathname;

async function atStep(page, n) {
  await page.locator(`[data-testid="page-tour"][data-step="${n}"]`).waitFor();
  const expected = n === 1 ? ['/tour', '/tour/1'] : [`/tour/${n}`];
  assert.ok(expected.includes(path(page)), `${path(page)} for step ${n}`);
}

test('tour: arrow keys, clicker keys and buttons move through the steps', { timeout: 240_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/tour');
  await atStep(page, 1);
  assert.match(await page.getByTestId('tour-position').textContent(), /Step 1 of 7/);
  await page.keyboard.press('ArrowRight');
  await atStep(page, 2);
  // Step 2 types its sentence into the live demo and the model answers.
  assert.equal(await page.getByTestId('sentiment-input').inputValue(), 'An absolute delight from start to finish, with a wonderful cast.');
  await page.locator('[data-testid="sentiment-label"][data-label="positive"]').waitFor({ timeout: LOAD });
  await page.keyboard.press('PageDown');
  await atStep(page, 3);
  assert.equal(await page.getByTestId('sentiment-input').inputValue(), 'Not bad at all, actually.');
  await page.getByTestId('sentiment-label').waitFor({ timeout: LOAD });
  // Arrows inside the text box move the caret, not the tour; the clicker still works there.
  await page.getByTestId('sentiment-input').focus();
  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.locator('[data-testid="page-tour"]').getAttribute('data-step'), '3');
  await page.keyboard.press('PageUp');
  await atStep(page, 2);
  await page.evaluate(() => document.activeElement?.blur());
  await page.keyboard.press('ArrowLeft');
  await atStep(page, 1);
  await page.getByTestId('tour-next').click();
  await atStep(page, 2);
  await page.getByTestId('tour-prev').click();
  await atStep(page, 1);
  assert.ok(await page.getByTestId('tour-prev').isDisabled());
  // Back goes to the previous step: each step is a history entry.
  await page.keyboard.press('PageDown');
  await atStep(page, 2);
  await page.goBack();
  await page.locator('[data-testid="page-tour"][data-step="1"]').waitFor();
  assert.deepEqual(page.problems, []);
});

test('tour: every step is deep-linkable and fills its demo', { timeout: 240_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/tour/5');
  await atStep(page, 5);
  await page.getByTestId('image-top5').waitFor({ timeout: LOAD });
  assert.equal(await page.getByTestId('image-class').count(), 5);
  assert.match(await page.getByTestId('image-preview').getAttribute('src'), /parrot\.jpg$/);
  await page.screenshot({ path: artifact('tour-step5-1280.png') });

  // In-app links to other steps (a full reload here would abort the model downloads).
  await page.locator('.tour-dot', { hasText: '7' }).click();
  await atStep(page, 7);
  assert.ok(await page.getByTestId('tour-next').isDisabled());
  await page.keyboard.press('PageDown');
  await page.waitForTimeout(300);
  assert.equal(path(page), '/tour/7');
  await page.locator('.tour-dot', { hasText: '4' }).click();
  await atStep(page, 4);
  await page.getByTestId('sentiment-label').waitFor({ timeout: LOAD });
  // A step past the end lands on the last one instead of an error.
  await page.goto(BASE + '/tour/99');
  await page.locator('[data-testid="page-tour"][data-step="7"]').waitFor();
  assert.deepEqual(page.problems, []);
});

test('tour: the narration follows the language switch', { timeout: 120_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/tour/2');
  const english = await page.getByTestId('tour-title').innerText();
  await page.getByTestId('lang-switch').click();
  await page.waitForFunction(() => document.documentElement.lang === 'zh');
  const chinese = await page.getByTestId('tour-title').innerText();
  assert.notEqual(chinese, english);
  assert.match(chinese, /[\u4e00-\u9fff]/);
  assert.equal(path(page), '/tour/2');
  assert.deepEqual(page.problems, []);
});

test('tour: in Chinese the demo steps type Chinese, answered by the Chinese reader', { timeout: 180_000 }, async () => {
  const page = await newPage(browser, { locale: 'zh-CN' });
  await page.goto(BASE + '/tour/2');
  await page.waitForFunction(() => document.documentElement.lang === 'zh');
  await page.locator('[data-testid="sentiment-answered-by"][data-model="sentiment-zh"]').waitFor({ timeout: 120_000 });
  assert.match(await page.getByTestId('sentiment-input').inputValue(), /\p{Script=Han}/u);
  assert.deepEqual(page.problems, []);
});

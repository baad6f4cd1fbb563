// The JS SDK as a third-party developer meets it: the example page served next to the SDK runs
// both pipelines through /sdk/vitrine.js and shows their real answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage } from '../lib/browser.js';

const LOAD = 120_000;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('SDK example page: sentiment and image pipelines answer', { timeout: 240_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/sdk/example.html');
  await page.locator('#text').fill('I love it');
  await page.locator('#run-text').click();
  await page.waitForFunction(() => document.querySelector('#s-out').textContent.includes('"label"'), null, { timeout: LOAD });
  const sentiment = JSON.parse(await page.locator('#s-out').textContent());
  assert.equal(sentiment.label, 'positive');
  assert.ok(sentiment.score > 0.5 && sentiment.score <= 1);
  assert.ok(['wasm-simd', 'webgpu'].includes(sentiment.backend));
  assert.equal(await page.locator('#s-progress').evaluate((p) => p.value), 1);

  await page.locator('#run-sample').click();
  await page.waitForFunction(() => /ms on /.test(document.querySelector('#i-out').textContent), null, { timeout: LOAD });
  const lines = (await page.locator('#i-out').textContent()).split('\n').filter((l) => /%/.test(l));
  assert.equal(lines.length, 5);
  assert.deepEqual(page.problems, []);
});

test('SDK: pipeline() rejects unknown tasks with a clear message', async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/sdk/example.html');
  const message = await page.evaluate(async () => {
    const { pipeline } = await import('/sdk/vitrine.js');
    return pipeline('translate').then(() => 'resolved', (e) => e.message);
  });
  assert.match(message, /unknown task "translate"/);
});

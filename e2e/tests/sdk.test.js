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

test('SDK: pipeline() rejects an id the catalogue does not have, naming the ids it has', async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/sdk/example.html');
  const message = await page.evaluate(async () => {
    const { pipeline } = await import('/sdk/vitrine.js');
    return pipeline('translate').then(() => 'resolved', (e) => e.message);
  });
  assert.match(message, /no model "translate" in this site's catalogue; it has 'sentiment', 'image', 'sentiment-zh'/);
});

test('SDK: a worker that stops answering is replaced on one thread, and the question still gets its answer', { timeout: 180_000 }, async () => {
  // The first worker this page starts hangs for good (its thread spins, as a blocked engine
  // would); the replacement, asked for on one thread, is the real one.
  const context = await browser.newContext({ serviceWorkers: 'block' });
  let hung = 0;
  await context.route('**/sdk/worker.js*', async (route) => {
    if (new URL(route.request().url()).searchParams.get('threads') === '0') return route.continue();
    hung += 1;
    // The page is cross-origin isolated: its worker scripts must say they may be embedded.
    return route.fulfill({
      contentType: 'text/javascript',
      headers: { 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' },
      body: 'self.onmessage = () => { for (;;) {} };',
    });
  });
  const page = await context.newPage();
  await page.goto(BASE + '/insights');
  const answer = await page.evaluate(async () => {
    const { pipeline } = await import('/sdk/vitrine.js');
    const sentiment = await pipeline('sentiment');
    return sentiment('I love it');
  });
  assert.equal(hung, 1, 'the hanging worker was started once');
  assert.equal(answer.label, 'positive');
  assert.equal(answer.threads, 1);
  await context.close();
});

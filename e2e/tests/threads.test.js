// The multi-threaded engine: the main site is cross-origin isolated, so its worker loads the
// threaded build (dist/sdk/threads/) with a pool of threads; embeds are not isolated and keep the
// single-thread build. Both must give the same answers, bit for bit: the parallel kernels only
// split the work, never the order of a sum.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage } from '../lib/browser.js';

const LOAD = 120_000;
const SENTENCE = 'A warm, funny and beautifully made film, if a little long.';
// A page that loads no model by itself, so the test's own requests are the only ones.
const MAIN_PAGE = '/insights';
const EMBED_PAGE = '/embed/sentiment';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Isolation, thread count and both models' answers, through the SDK, on the page at `path`. */
async function answersOn(path) {
  const page = await newPage(browser);
  await page.goto(BASE + path);
  const answers = await page.evaluate(async (sentence) => {
    const sdk = await import('/sdk/vitrine.js');
    const sentiment = await (await sdk.pipeline('sentiment'))(sentence);
    const image = await (await sdk.pipeline('image'))(await (await fetch('/samples/owl.jpg')).blob());
    return {
      isolated: self.crossOriginIsolated,
      cores: navigator.hardwareConcurrency,
      info: await sdk.engineInfo(),
      sentiment,
      image,
    };
  }, SENTENCE);
  assert.deepEqual(page.problems, [], `${path}: ${page.problems.join('; ')}`);
  await page.context().close();
  return answers;
}

/** What must be identical whichever build answered: the labels and the top-5 classes. */
const essence = ({ sentiment, image }) => ({
  sentiment: sentiment.label,
  image: image.top.map(({ index }) => index),
});

/**
 * The threaded build also has relaxed SIMD: its f32 GEMMs fuse multiply and add, rounding once
 * instead of twice, so scores may differ in the last bits (the thread split itself changes
 * nothing: see the native tests of `matmul`, the depthwise conv and `Int8Matrix`).
 */
function assertScoresClose(main, embed) {
  const close = (a, b) => Math.abs(a - b) <= 1e-5 + 1e-4 * Math.abs(b);
  for (const [i, { label, score }] of main.sentiment.scores.entries()) {
    assert.ok(close(score, embed.sentiment.scores[i].score), `${label}: ${score} vs ${embed.sentiment.scores[i].score}`);
  }
  for (const [i, top] of main.image.top.entries()) {
    assert.ok(close(top.score, embed.image.top[i].score), `${top.label}: ${top.score} vs ${embed.image.top[i].score}`);
  }
}

test('threads: the main site runs the threaded engine and answers as the embed does', { timeout: 300_000 }, async (t) => {
  const main = await answersOn(MAIN_PAGE);
  const embed = await answersOn(EMBED_PAGE);

  assert.equal(main.isolated, true, 'the main site must be cross-origin isolated (COOP + COEP)');
  const expected = Math.min(main.cores, 8);
  assert.equal(main.sentiment.threads, expected);
  assert.equal(main.image.threads, expected);
  assert.equal(main.info.threads, expected, 'the engine itself reports its rayon pool');
  if (main.cores > 1) assert.ok(main.sentiment.threads > 1, `only ${main.sentiment.threads} thread(s)`);
  else t.diagnostic('this browser reports one core, so the pool has one thread');

  assert.equal(embed.isolated, false, 'embeds must not be cross-origin isolated');
  assert.equal(embed.sentiment.threads, 1);
  assert.equal(embed.image.threads, 1);

  assert.deepEqual(essence(main), essence(embed));
  assertScoresClose(main, embed);
  assert.equal(main.sentiment.label, 'positive');
  assert.equal(main.image.top.length, 5);
});

test('threads: ?threads=0 keeps an isolated page on the single-thread engine', { timeout: 300_000 }, async () => {
  const single = await answersOn(`${MAIN_PAGE}?threads=0`);
  assert.equal(single.isolated, true);
  assert.equal(single.sentiment.threads, 1);
  assert.equal(single.info.threads, 1);
});

/** The sentiment demo's "runs on" badge on the page at `path`, once its model is ready. */
async function badgeOn(path) {
  const page = await newPage(browser);
  await page.goto(BASE + path);
  const badge = page.getByTestId('backend-sentiment');
  await badge.waitFor({ timeout: LOAD });
  const text = await badge.innerText();
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.deepEqual(page.problems, [], `${path}: ${page.problems.join('; ')}`);
  await page.context().close();
  return { text, cores };
}

test('threads: the badge says how many threads the engine computes on', { timeout: 300_000 }, async (t) => {
  const main = await badgeOn('/');
  if (main.cores > 1) assert.equal(main.text, `WASM SIMD · ${Math.min(main.cores, 8)} threads`);
  else t.diagnostic('this browser reports one core, so the engine has one thread');
  const embed = await badgeOn(EMBED_PAGE);
  assert.equal(embed.text, 'WASM SIMD', 'one thread: the backend alone');
});

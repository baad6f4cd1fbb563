// In-browser half of `cargo xtask bench`: cold and warm time to first result, per-inference
// latency (measured inside the worker, around the engine call, like the native numbers), and
// bytes downloaded. Prints one JSON object on stdout.
import { launch } from '../lib/browser.js';

const BASE = process.env.VITRINE_URL;
const SENTENCE = process.env.VITRINE_BENCH_SENTENCE;
const RUNS = { sentiment: Number(process.env.VITRINE_BENCH_RUNS ?? 40), image: Number(process.env.VITRINE_BENCH_IMAGE_RUNS ?? 15) };

const QUIET_PAGE = '/insights';

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/**
 * Time to the first answer: from the SDK call (`sdk`), and from the start of the page's
 * navigation (`page`: what a visitor waits, HTML and app included). performance.now() counts from
 * the navigation start.
 */
async function firstResult(page, task) {
  return page.evaluate(async ([task, sentence]) => {
    const start = performance.now();
    const sdk = await import('/sdk/vitrine.js');
    const run = await sdk.pipeline(task);
    if (task === 'sentiment') await run(sentence);
    else await run(await (await fetch('/samples/owl.jpg')).blob());
    const end = performance.now();
    return { sdk: end - start, page: end };
  }, [task, SENTENCE]);
}

async function latencies(page, task, runs) {
  return page.evaluate(async ([task, sentence, runs]) => {
    const sdk = await import('/sdk/vitrine.js');
    const run = await sdk.pipeline(task);
    const input = task === 'sentiment' ? sentence : await (await fetch('/samples/owl.jpg')).blob();
    for (let i = 0; i < 3; i++) await run(input); // warm-up
    const ms = [];
    for (let i = 0; i < runs; i++) ms.push((await run(input)).ms);
    return ms;
  }, [task, SENTENCE, runs]);
}

const browser = await launch();
const out = {};
for (const task of ['sentiment', 'image']) {
  const context = await browser.newContext();
  let bytes = 0;
  context.on('requestfinished', async (request) => {
    const sizes = await request.sizes().catch(() => null);
    if (sizes) bytes += sizes.responseBodySize + sizes.responseHeadersSize;
  });
  const page = await context.newPage();
  // A page of the app that loads no model by itself (the landing page starts the sentiment
  // model at once, which would overlap the measurement and compete with the image model).
  await page.goto(BASE + QUIET_PAGE);
  const cold = await firstResult(page, task);
  await page.waitForTimeout(500); // let the last requestfinished events land
  const downloaded = bytes;
  await page.reload();
  const warm = await firstResult(page, task);
  const ms = await latencies(page, task, RUNS[task]);
  out[task] = { cold_ms: cold.sdk, cold_page_ms: cold.page, warm_ms: warm.sdk, warm_page_ms: warm.page, downloaded_bytes: downloaded, median_ms: quantile(ms, 0.5), p90_ms: quantile(ms, 0.9), runs: ms.length };
  await context.close();
}
await browser.close();
console.log(JSON.stringify(out));

// In-browser half of `cargo xtask bench`: cold and warm time to first result, per-inference
// latency (measured inside the worker, around the engine call, like the native numbers), and
// bytes downloaded. Prints one JSON object on stdout.
import { launch } from '../lib/browser.js';

const BASE = process.env.VITRINE_URL;
const SENTENCE = process.env.VITRINE_BENCH_SENTENCE;
const RUNS = { sentiment: Number(process.env.VITRINE_BENCH_RUNS ?? 40), image: Number(process.env.VITRINE_BENCH_IMAGE_RUNS ?? 15) };

const QUIET_PAGE = '/insights';
// The main site is cross-origin isolated, so its engine runs multi-threaded; the one-thread
// figures (the like-for-like baseline for the native ratio) ask for the single-thread build.
const ONE_THREAD = '?threads=0';

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

/**
 * Memory after `early` and after `late` inferences in total: the engine's wasm memory plus the
 * page's JS heap, each after a garbage collection. A leak shows as growth between the two.
 */
async function memory(page, task, early, late) {
  return page.evaluate(async ([task, sentence, early, late]) => {
    const sdk = await import('/sdk/vitrine.js');
    const run = await sdk.pipeline(task);
    const input = task === 'sentiment' ? sentence : await (await fetch('/samples/owl.jpg')).blob();
    const sample = async () => {
      globalThis.gc?.();
      return (await sdk.engineMemory()).wasmBytes + performance.memory.usedJSHeapSize;
    };
    for (let i = 0; i < early; i++) await run(input);
    const after_early = await sample();
    for (let i = early; i < late; i++) await run(input);
    return { after_early, after_late: await sample() };
  }, [task, SENTENCE, early, late]);
}

const MEMORY_RUNS = Number(process.env.VITRINE_BENCH_MEMORY_RUNS ?? 1000);

// Precise, collectable memory figures for `memory` (the page's JS heap is otherwise bucketed).
const browser = await launch(['--enable-precise-memory-info', '--js-flags=--expose-gc']);
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
  await page.goto(BASE + QUIET_PAGE + ONE_THREAD);
  const cold = await firstResult(page, task);
  await page.waitForTimeout(500); // let the last requestfinished events land
  const downloaded = bytes;
  await page.reload();
  const warm = await firstResult(page, task);
  const ms = await latencies(page, task, RUNS[task]);
  await page.reload();
  const mem = await memory(page, task, 10, MEMORY_RUNS);
  out[task] = { cold_ms: cold.sdk, cold_page_ms: cold.page, warm_ms: warm.sdk, warm_page_ms: warm.page, downloaded_bytes: downloaded, median_ms: quantile(ms, 0.5), p90_ms: quantile(ms, 0.9), runs: ms.length,
    memory_after_10_bytes: mem.after_early, memory_after_n_bytes: mem.after_late, memory_runs: MEMORY_RUNS };
  await context.close();
}

// The multi-threaded build, on the isolated page as visitors get it: latency per model and the
// number of threads the engine reported.
for (const task of ['sentiment', 'image']) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(BASE + QUIET_PAGE);
  const threads = await page.evaluate(async () => (await (await import('/sdk/vitrine.js')).engineInfo()).threads);
  const ms = await latencies(page, task, RUNS[task]);
  out[`${task}_threads`] = { median_ms: quantile(ms, 0.5), p90_ms: quantile(ms, 0.9), threads };
  await context.close();
}
await browser.close();

// The WebGPU path, forced, on whatever adapter Chromium offers with --enable-unsafe-webgpu
// (SwiftShader, in software, on machines without a GPU: a correctness run, not a speed one).
const gpuBrowser = await launch(['--enable-unsafe-webgpu']);
try {
  const page = await (await gpuBrowser.newContext()).newPage();
  await page.goto(BASE + QUIET_PAGE + ONE_THREAD);
  const run = await page.evaluate(async ([sentence, runs]) => {
    const sdk = await import('/sdk/vitrine.js');
    const events = [];
    const run = await sdk.pipeline('sentiment', { backend: 'webgpu', onProgress: (p) => events.push(p) });
    const adapter = await navigator.gpu?.requestAdapter();
    for (let i = 0; i < 3; i++) await run(sentence);
    const ms = [];
    for (let i = 0; i < runs; i++) ms.push((await run(sentence)).ms);
    const info = adapter?.info ?? {};
    return { ms, backend: events.find((e) => e.stage === 'ready')?.backend, adapter: [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') };
  }, [SENTENCE, Math.min(RUNS.sentiment, 15)]);
  out.sentiment_webgpu = run.backend === 'webgpu'
    ? { median_ms: quantile(run.ms, 0.5), p90_ms: quantile(run.ms, 0.9), adapter: run.adapter || 'unknown adapter' }
    : null;
} finally {
  await gpuBrowser.close();
}
// The image model forced onto WebGPU, the same way (a fresh browser: its own worker and profile).
const gpuImageBrowser = await launch(['--enable-unsafe-webgpu']);
try {
  const page = await (await gpuImageBrowser.newContext()).newPage();
  await page.goto(BASE + QUIET_PAGE);
  const run = await page.evaluate(async (runs) => {
    const sdk = await import('/sdk/vitrine.js');
    const events = [];
    const image = await sdk.pipeline('image', { backend: 'webgpu', onProgress: (p) => events.push(p) });
    const photo = await (await fetch('/samples/owl.jpg')).blob();
    const info = (await navigator.gpu?.requestAdapter())?.info ?? {};
    await image(photo); // warm-up
    const ms = [];
    for (let i = 0; i < runs; i++) ms.push((await image(photo)).ms);
    return { ms, backend: events.find((e) => e.stage === 'ready')?.backend, adapter: [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') };
  }, Math.min(RUNS.image, 5));
  out.image_webgpu = run.backend === 'webgpu'
    ? { median_ms: quantile(run.ms, 0.5), p90_ms: quantile(run.ms, 0.9), adapter: run.adapter || 'unknown adapter' }
    : null;
} finally {
  await gpuImageBrowser.close();
}
console.log(JSON.stringify(out));

// In-browser half of `cargo xtask bench`. For each engine variant and model: cold and warm time
// to the first result, bytes downloaded, per-inference latency (measured inside the worker,
// around the engine call, like the native numbers), and memory after 10 and after N inferences.
// Prints one JSON object on stdout: `{ variant: { task: figures } }`.
import { launch } from '../lib/browser.js';

const BASE = process.env.VITRINE_URL;
const SENTENCE = process.env.VITRINE_BENCH_SENTENCE;
const RUNS = Number(process.env.VITRINE_BENCH_RUNS ?? 40);
const MEMORY_RUNS = Number(process.env.VITRINE_BENCH_MEMORY_RUNS ?? 1000);

// A page of the app that loads no model by itself (the landing page starts the sentiment model
// at once, which would overlap the measurement and compete with the model being measured).
const QUIET_PAGE = '/insights';

/**
 * The engines a visitor can get. The main site is cross-origin isolated, so by default its
 * engine is the multi-threaded build; `?threads=0` asks for the single-thread one (what embeds
 * run, and the like-for-like baseline for the native one-thread ratio). WebGPU runs on
 * whatever adapter Chromium offers with --enable-unsafe-webgpu: SwiftShader, in software, on
 * machines without a GPU, where a second per inference makes 1000 inferences impractical.
 */
const VARIANTS = {
  wasm: { query: '?threads=0', flags: [], backend: 'wasm', runs: { sentiment: RUNS, image: Math.ceil(RUNS / 2) }, memoryRuns: { sentiment: MEMORY_RUNS, image: MEMORY_RUNS } },
  threads: { query: '', flags: [], backend: 'wasm', runs: { sentiment: RUNS, image: Math.ceil(RUNS / 2) }, memoryRuns: { sentiment: MEMORY_RUNS, image: MEMORY_RUNS } },
  webgpu: { query: '?threads=0', flags: ['--enable-unsafe-webgpu'], backend: 'webgpu', runs: { sentiment: 10, image: 5 }, memoryRuns: { sentiment: 40, image: 25 } },
};

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/**
 * One measurement in the page, with `task`'s pipeline on `backend` (one function with a `what`
 * switch: the page's CSP forbids building functions from strings).
 * - `first`: time to the first answer, from the SDK call (`sdk`) and from the start of the page's
 *   navigation (`page`: what a visitor waits, HTML and app included; performance.now() counts
 *   from it), plus the backend and thread count that answered.
 * - `latency`: `arg` inference times after 3 warm-ups.
 * - `memory`: the engine's wasm memory plus the page's JS heap, each after a garbage
 *   collection, after 10 and after `arg` inferences in total. A leak shows as growth.
 */
function inPage(page, what, task, backend, arg) {
  return page.evaluate(async ([what, task, backend, sentence, arg]) => {
    const start = performance.now();
    const sdk = await import('/sdk/vitrine.js');
    const run = await sdk.pipeline(task, { backend });
    const input = task === 'sentiment' ? sentence : await (await fetch('/samples/owl.jpg')).blob();
    if (what === 'first') {
      const answer = await run(input);
      const end = performance.now();
      return { sdk: end - start, page: end, backend: answer.backend, threads: answer.threads };
    }
    if (what === 'latency') {
      for (let i = 0; i < 3; i++) await run(input);
      const ms = [];
      for (let i = 0; i < arg; i++) ms.push((await run(input)).ms);
      return ms;
    }
    const sample = async () => {
      globalThis.gc?.();
      return (await sdk.engineMemory()).wasmBytes + performance.memory.usedJSHeapSize;
    };
    for (let i = 0; i < 10; i++) await run(input);
    const early = await sample();
    for (let i = 10; i < arg; i++) await run(input);
    return { early, late: await sample() };
  }, [what, task, backend, SENTENCE, arg]);
}

async function adapterName(page) {
  return page.evaluate(async () => {
    const info = (await navigator.gpu?.requestAdapter())?.info ?? {};
    return [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  });
}

async function measure(browser, variant, task) {
  const context = await browser.newContext();
  let bytes = 0;
  context.on('requestfinished', async (request) => {
    const sizes = await request.sizes().catch(() => null);
    if (sizes) bytes += sizes.responseBodySize + sizes.responseHeadersSize;
  });
  const page = await context.newPage();
  const url = BASE + QUIET_PAGE + variant.query;
  await page.goto(url);
  const cold = await inPage(page, 'first', task, variant.backend);
  await page.waitForTimeout(500); // let the last requestfinished events land
  const downloaded = bytes;
  await page.reload();
  const warm = await inPage(page, 'first', task, variant.backend);
  const ms = await inPage(page, 'latency', task, variant.backend, variant.runs[task]);
  await page.reload();
  const mem = await inPage(page, 'memory', task, variant.backend, variant.memoryRuns[task]);
  const adapter = variant.backend === 'webgpu' ? await adapterName(page) : null;
  await context.close();
  return {
    backend: warm.backend, threads: warm.threads, adapter,
    cold_ms: cold.sdk, cold_page_ms: cold.page, warm_ms: warm.sdk, warm_page_ms: warm.page,
    downloaded_bytes: downloaded, median_ms: quantile(ms, 0.5), p90_ms: quantile(ms, 0.9), runs: ms.length,
    memory_after_10_bytes: mem.early, memory_after_n_bytes: mem.late, memory_runs: variant.memoryRuns[task],
  };
}

/**
 * The cold first sentiment answer on the default backend ('auto'), as a first-time visitor gets
 * it on the main site, in `runs` fresh profiles, with and without a WebGPU adapter in the
 * browser: 'auto' must not make the first answer wait for a GPU (SwiftShader here, in software).
 */
/**
 * Chinese against English on the sentiment model: `runs` inferences of a 20-character Chinese
 * sentence and a 20-word English one, interleaved (so load on the machine falls on both alike),
 * timed inside the worker. The target: Chinese within 1.2× of English.
 */
const LANGUAGE_SENTENCES = { en: process.env.VITRINE_BENCH_EN_20, zh: process.env.VITRINE_BENCH_ZH_20 };

async function languageLatency(browser, variant, runs) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(BASE + QUIET_PAGE + variant.query);
  const ms = await page.evaluate(async ([sentences, runs]) => {
    const sdk = await import('/sdk/vitrine.js');
    const run = await sdk.pipeline('sentiment', { backend: 'wasm' });
    const out = { en: [], zh: [], labels: {} };
    for (const lang of ['en', 'zh']) {
      const answer = await run(sentences[lang]);
      out.labels[lang] = answer.label ?? (answer.unreadable ? 'unreadable' : 'none');
      for (let i = 0; i < 2; i++) await run(sentences[lang]);
    }
    for (let i = 0; i < runs; i++) {
      for (const lang of ['en', 'zh']) out[lang].push((await run(sentences[lang])).ms);
    }
    return out;
  }, [LANGUAGE_SENTENCES, runs]);
  await context.close();
  return {
    en_median_ms: quantile(ms.en, 0.5), zh_median_ms: quantile(ms.zh, 0.5),
    en_p90_ms: quantile(ms.en, 0.9), zh_p90_ms: quantile(ms.zh, 0.9),
    runs, labels: ms.labels,
  };
}

const FIRST_ANSWER_RUNS = Number(process.env.VITRINE_BENCH_FIRST_RUNS ?? 5);
const ADAPTERS = { none: [], software: ['--enable-unsafe-webgpu'] };

async function firstAnswers(flags, runs) {
  const browser = await launch(flags);
  try {
    const sdkMs = [];
    const pageMs = [];
    let backend = null;
    let adapter = null;
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(BASE + QUIET_PAGE);
      const first = await inPage(page, 'first', 'sentiment', 'auto');
      sdkMs.push(first.sdk);
      pageMs.push(first.page);
      backend = first.backend;
      adapter ??= flags.length ? await adapterName(page) : null;
      await context.close();
    }
    return { median_ms: quantile(sdkMs, 0.5), page_median_ms: quantile(pageMs, 0.5), runs: sdkMs, backend, adapter };
  } finally {
    await browser.close();
  }
}

const out = {};
const only = process.env.VITRINE_BENCH_ONLY ?? '';
if (only === '' || only === 'languages') {
  out.languages = {};
  for (const name of ['wasm', 'threads']) {
    process.stderr.write(`bench: Chinese vs English sentiment, ${name}\n`);
    const browser = await launch(VARIANTS[name].flags);
    try {
      out.languages[name] = await languageLatency(browser, VARIANTS[name], RUNS);
    } finally {
      await browser.close();
    }
  }
}
if (only === '' || only === 'first_answer') {
  out.first_answer = {};
  for (const [name, flags] of Object.entries(ADAPTERS)) {
    process.stderr.write(`bench: cold first answer, auto backend, adapter: ${name}\n`);
    out.first_answer[name] = await firstAnswers(flags, FIRST_ANSWER_RUNS);
  }
}
// VITRINE_BENCH_ONLY (`cargo xtask bench --first-answer-only` / `--languages-only`) stops here.
const variants = only === '' ? VARIANTS : {};
for (const [name, variant] of Object.entries(variants)) {
  // Precise, collectable memory figures (the page's JS heap is otherwise bucketed).
  const browser = await launch(['--enable-precise-memory-info', '--js-flags=--expose-gc', ...variant.flags]);
  try {
    out[name] = {};
    for (const task of ['sentiment', 'image']) {
      process.stderr.write(`bench: ${name} ${task}\n`);
      out[name][task] = await measure(browser, variant, task);
    }
  } finally {
    await browser.close();
  }
}
console.log(JSON.stringify(out));

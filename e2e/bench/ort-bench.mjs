// Browser half of `cargo xtask bench-ort`: our wasm path (through the SDK, on the running Vitrine
// server) and ONNX Runtime Web's wasm backend (single thread, SIMD; from a small static server
// started here) timed in the same headless Chromium, their runs interleaved. Prints one JSON
// object on stdout.
//
// Env: VITRINE_URL (our server), ORT_DIR (ONNX files, inputs.json and owl-input.f32 from
// ort_export.py), VITRINE_BENCH_RUNS / VITRINE_BENCH_IMAGE_RUNS (measured runs, after warm-up).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from '../lib/browser.js';

const BASE = process.env.VITRINE_URL;
const ORT_DIR = process.env.ORT_DIR;
const RUNS = { sentiment: Number(process.env.VITRINE_BENCH_RUNS ?? 40), image: Number(process.env.VITRINE_BENCH_IMAGE_RUNS ?? 20) };
const WARMUP = 3;
const ORT_DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), '../node_modules/onnxruntime-web/dist');
// The wasm-only build of ORT Web and the one wasm binary it loads (SIMD; threads unused at 1).
const ORT_RUNTIME = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];
const MODELS = { sentiment_f32: 'sentiment-f32.onnx', sentiment_int8: 'sentiment-int8.onnx', image_f32: 'image-f32.onnx', image_int8: 'image-int8.onnx' };

const TYPES = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
const PAGE = '<!doctype html><meta charset="utf-8"><title>ORT bench</title>';

/** Serves ORT Web's dist under /ort/ and the bench's files under /models/, on loopback only. */
function serveOrt() {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const [, top, ...rest] = url.pathname.split('/');
    const name = path.basename(rest.join('/'));
    const file = top === 'ort' ? path.join(ORT_DIST, name) : top === 'models' ? path.join(ORT_DIR, name) : null;
    try {
      const body = file ? await readFile(file) : Buffer.from(PAGE);
      res.writeHead(200, { 'content-type': file ? TYPES[path.extname(file)] ?? 'application/octet-stream' : 'text/html' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const gzipBytes = async (file) => gzipSync(await readFile(file), { level: 9 }).length;

/**
 * Each runtime gets its own page, loaded and warmed up; `window.__step()` runs one inference and
 * returns its time in ms, `window.__answer()` the last answer. The runs of all pages are then
 * interleaved (see `interleaved`).
 */

/** Ours: the SDK's own per-inference time, measured in the worker around the engine call
 * (tokenising and preprocessing included, which ORT's timing below leaves out). */
async function openOurs(browser, task, sentence) {
  const page = await browser.newPage();
  // A page that starts no model by itself, on the single-thread engine (the main site is
  // cross-origin isolated, so it would otherwise run ours on every core against ORT's one).
  await page.goto(BASE + '/insights?threads=0');
  await page.evaluate(async ([task, sentence, warmup]) => {
    const sdk = await import('/sdk/vitrine.js');
    const run = await sdk.pipeline(task);
    const input = task === 'sentiment' ? sentence : await (await fetch('/samples/owl.jpg')).blob();
    let last;
    for (let i = 0; i < warmup; i++) last = await run(input);
    window.__step = async () => (last = await run(input)).ms;
    window.__answer = () => (task === 'sentiment'
      ? { positive: last.positive, label: last.label }
      : { top: last.top[0].index, label: last.top[0].label });
  }, [task, sentence, WARMUP]);
  return { page };
}

/** ORT Web, wasm backend, one thread: session.run alone, on the precomputed input tensor. */
async function openOrt(browser, ortBase, model) {
  const page = await browser.newPage();
  await page.goto(ortBase + '/');
  const info = await page.evaluate(async ([file, warmup]) => {
    const ort = await import('/ort/ort.wasm.min.mjs');
    ort.env.wasm.numThreads = 1; // our engine runs on one thread in its worker
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmPaths = '/ort/';
    const inputs = await (await fetch('/models/inputs.json')).json();
    const sentiment = file.startsWith('sentiment');
    let feeds;
    if (sentiment) {
      const ids = BigInt64Array.from(inputs.token_ids, (id) => BigInt(id));
      feeds = { input_ids: new ort.Tensor('int64', ids, [1, ids.length]) };
    } else {
      const pixels = new Float32Array(await (await fetch('/models/owl-input.f32')).arrayBuffer());
      feeds = { pixels: new ort.Tensor('float32', pixels, [1, 3, 224, 224]) };
    }
    const t0 = performance.now();
    const bytes = await (await fetch(`/models/${file}`)).arrayBuffer();
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const load = performance.now() - t0;
    let logits;
    for (let i = 0; i < warmup; i++) logits = (await session.run(feeds)).logits.data;
    window.__step = async () => {
      const t = performance.now();
      logits = (await session.run(feeds)).logits.data;
      return performance.now() - t;
    };
    window.__answer = () => {
      const v = Array.from(logits);
      if (sentiment) {
        const positive = 1 / (1 + Math.exp(v[0] - v[1]));
        return { positive, label: positive > 0.5 ? 'positive' : 'negative' };
      }
      const top = v.indexOf(Math.max(...v));
      return { top, label: inputs.labels[top] };
    };
    return { load, version: ort.env.versions?.web ?? 'unknown' };
  }, [MODELS[model], WARMUP]);
  return { page, ...info };
}

/**
 * One inference per runtime in turn, `runs` times, the starting runtime rotating each round:
 * the machine is shared, and load from elsewhere then falls on every runtime alike instead of on
 * whichever happened to run during it.
 */
async function interleaved(runtimes, runs) {
  const ms = runtimes.map(() => []);
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < runtimes.length; k++) {
      const i = (round + k) % runtimes.length;
      ms[i].push(await runtimes[i].page.evaluate(() => window.__step()));
    }
  }
  const out = [];
  for (const [i, { page, load, version }] of runtimes.entries()) {
    out.push({ ms: ms[i], answer: await page.evaluate(() => window.__answer()), load, version });
    await page.close();
  }
  return out;
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
// `ms` stays in, in run order: round i of every runtime ran back to back, for paired ratios.
const summary = ({ ms, ...rest }) => ({ ...rest, ms, median_ms: quantile(ms, 0.5), p90_ms: quantile(ms, 0.9), runs: ms.length });

const inputs = JSON.parse(await readFile(path.join(ORT_DIR, 'inputs.json'), 'utf8'));
const server = await serveOrt();
const ortBase = `http://127.0.0.1:${server.address().port}`;
const browser = await launch();
const out = { ours: {}, ort: {}, ort_model_gzip_bytes: {}, ort_runtime_gzip_bytes: 0 };
try {
  [out.ours.sentiment, out.ort.sentiment_int8, out.ort.sentiment_f32] = (await interleaved([
    await openOurs(browser, 'sentiment', inputs.sentence),
    await openOrt(browser, ortBase, 'sentiment_int8'),
    await openOrt(browser, ortBase, 'sentiment_f32'),
  ], RUNS.sentiment)).map(summary);
  [out.ours.image, out.ort.image_int8, out.ort.image_f32] = (await interleaved([
    await openOurs(browser, 'image', inputs.sentence),
    await openOrt(browser, ortBase, 'image_int8'),
    await openOrt(browser, ortBase, 'image_f32'),
  ], RUNS.image)).map(summary);
} finally {
  await browser.close();
  server.close();
}
for (const [model, file] of Object.entries(MODELS)) out.ort_model_gzip_bytes[model] = await gzipBytes(path.join(ORT_DIR, file));
for (const file of ORT_RUNTIME) out.ort_runtime_gzip_bytes += await gzipBytes(path.join(ORT_DIST, file));
console.log(JSON.stringify(out));

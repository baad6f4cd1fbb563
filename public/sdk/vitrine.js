// Vitrine JS SDK: on-device inference in a Web Worker, for any model in the site's catalogue
// (`/models/manifest.json`; `models()` lists them). The shipped ones are 'sentiment' and 'image'.
//
//   const { pipeline, models } = await import('/sdk/vitrine.js');
//   const sentiment = await pipeline('sentiment', { onProgress });  // loads once, cached
//   await sentiment('I love it');
//     // { label: 'positive', score, scores: [{ label, score }, …], truncated, model, ms, backend, threads }
//     // `model`: the id that answered. Text in a script the model does not read goes to a catalogue
//     // model with the same labels that reads it (`pipeline(id, { route: false })` turns that off).
//   await sentiment('この映画は最高');   // no model here reads Japanese: no label, but
//     // { unreadable: true, model, script: 'kana', languages: ['en', 'zh'], unknownShare, readers: [], message }
//     // (resolves, never rejects: a refusal is an answer; `readers` lists models that would read it)
//   await sentiment.explain('I love it');
//     // { prediction, target: 'positive', words: [{ word, start, end, contribution }] }
//     // contribution > 0 pushed the answer towards `target` (the predicted label), < 0 away
//   const image = await pipeline('image');
//   await image(blobOrImageBitmapOrImageData);   // { top: [{ label, index, score } ×5], ms, backend, threads }
//   sentiment.model   // the catalogue entry: { id, task, name, labels, languages, … }
//
// The page and any same-origin page use this one module; it starts a single worker per page
// (`worker.js`, next to this file) and matches answers to requests by id.

let worker = null;
let nextId = 1;
// id → { resolve, reject, onProgress, request } for every request not yet answered.
const pending = new Map();

// The worker says it is alive every HEARTBEAT_MS (worker.js). A worker whose thread is blocked
// says nothing: if requests wait and nothing at all has come for STALL_MS, it is replaced by a
// fresh one on the single-thread engine and the waiting requests are sent again. Longer than
// any single blocking step (an engine build, a CPU explanation on a slow kiosk) by far.
const STALL_MS = 30_000;
const WATCH_EVERY_MS = 5_000;
let lastHeard = 0;
let watchdog = null;
let threadsFailed = false;

function failAll(message) {
  for (const { reject } of pending.values()) reject(new Error(message));
  pending.clear();
}

function getWorker() {
  if (worker) return worker;
  const url = new URL('./worker.js', import.meta.url);
  // `?threads=0` on the page keeps the engine on one thread even where it could use more
  // (benchmarks and comparisons); the worker decides at start-up, so it goes in its URL. A
  // worker that stalled once (see STALL_MS) is replaced on one thread too.
  if (threadsFailed || new URLSearchParams(self.location?.search ?? '').get('threads') === '0') url.searchParams.set('threads', '0');
  worker = new Worker(url, { type: 'module', name: 'vitrine-inference' });
  lastHeard = Date.now();
  worker.addEventListener('message', ({ data }) => {
    lastHeard = Date.now();
    if (data.alive) return;
    const call = pending.get(data.id);
    if (!call) return;
    if (data.progress !== undefined) {
      call.onProgress?.(data.progress);
      return;
    }
    pending.delete(data.id);
    if (data.ok) call.resolve(data.result);
    else call.reject(new Error(data.error));
  });
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    failAll(`the inference worker stopped: ${event.message || 'it could not be loaded'}`);
    worker = null; // the next call starts a fresh one
  });
  watchdog ??= setInterval(replaceIfStalled, WATCH_EVERY_MS);
  return worker;
}

function replaceIfStalled() {
  if (!worker || pending.size === 0 || Date.now() - lastHeard < STALL_MS) return;
  worker.terminate();
  worker = null;
  threadsFailed = true;
  for (const { request } of pending.values()) getWorker().postMessage(request);
}

/** Sends one request to the worker; resolves with its result. */
export function call(type, args = {}, { onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const request = { id: nextId++, type, args };
    pending.set(request.id, { resolve, reject, onProgress, request });
    getWorker().postMessage(request);
  });
}

/** Version and capabilities of the on-device engine: `{ version, cpu_backend, simd, threads }`. */
export function engineInfo() {
  return call('engineInfo');
}

/** Memory the on-device engine holds: `{ wasmBytes }` (its wasm linear memory). */
export function engineMemory() {
  return call('memory');
}

/**
 * Every model the site ships (the catalogue's entries, in list order): `{ id, task, name,
 * description, labels, languages, examples, … }`.
 */
export function models() {
  return call('catalogue');
}

/**
 * Loads catalogue model `id` in the worker and returns a function that runs it: on text for a
 * `text-classification` model (which also has `.explain(text)`), on a Blob/File, ImageBitmap or
 * ImageData for an `image-classification` one. The function's `.model` is the catalogue entry.
 * `onProgress` receives `{ stage: 'download'|'prepare'|'ready', file, loaded, total, cached }`
 * (`ready` also says the `backend`). `backend`: 'auto' (default: the first answer comes from wasm
 * at once; once idle the worker tries WebGPU and switches to it where it is a real GPU, verified
 * and faster on this device, measured once and remembered), 'wasm' or 'webgpu' (any adapter,
 * software included; falls back to wasm if WebGPU fails). Results say which backend answered.
 * `route` (default true): text in a script the model does not read is answered by a catalogue model
 * with the same labels that reads it; the answer's `model` says which. With no such model, or
 * `route: false`, such text resolves `{ unreadable: true, … }` instead of a label.
 */
export async function pipeline(id, { onProgress, backend = 'auto', route = true } = {}) {
  if (!['auto', 'wasm', 'webgpu'].includes(backend)) throw new Error(`unknown backend "${backend}"; use 'auto', 'wasm' or 'webgpu'`);
  const entry = (await models()).find((model) => model.id === id);
  if (!entry) {
    const ids = (await models()).map((model) => `'${model.id}'`).join(', ');
    throw new Error(`no model "${id}" in this site's catalogue; it has ${ids}`);
  }
  await call('load', { model: id, backend }, { onProgress });
  let run;
  if (entry.task === 'text-classification') {
    run = (text) => call('classify', { model: id, text, route });
    run.explain = (text) => call('explain', { model: id, text, route });
  } else {
    run = (image) => call('classify', { model: id, image });
  }
  run.model = entry;
  return run;
}

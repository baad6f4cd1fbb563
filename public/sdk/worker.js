// The inference worker. Everything heavy (model download, checksum, inference) happens here so
// the page never freezes. Requests are `{ id, type, args }`; answers `{ id, ok, result | error }`,
// or `{ id, progress }` while a long request runs.
//
// Model delivery: `/models/manifest.json` is the model catalogue: each model's id, task kind,
// labels, and its weights' file, sha256 and size. Files are
// streamed with byte-level progress, verified by sha256 (`verify` below: the browser's one
// integrity check) and kept in the Cache API under their digest, so the next visit and offline
// use load from disk. A cached copy that fails verification is dropped and downloaded again.
//
// Engine build: on a cross-origin isolated page (the server isolates the main site, not embeds)
// in a browser with relaxed SIMD, the multi-threaded build in `threads/` runs with a pool of
// worker threads (and fused multiply-adds); everywhere else, or
// if that build fails to load in any way, the single-thread build next to this file. Results and
// the `ready` event say how many threads the engine has (`threads`).
//
// Backend choice: which backend answers (wasm SIMD or WebGPU) is the engine's decision
// (`chooseBackend`, model-wasm/src/backend/): when to try the GPU, which adapters are worth
// trying, the GPU path's check against the CPU on a probe (`verifyGpu`), timing both (`runProbe`)
// and which is faster. This worker only does the steps it asks for (ask the browser for its
// adapter, enable and check the GPU path, time the probe with `performance.now()`), waits for
// the worker to be idle before the automatic trial, and keeps what it says to remember in the
// Cache API.

const MODELS = new URL('../models/', import.meta.url);
const CACHE_NAME = 'vitrine-models-v1';
const BACKEND = 'wasm-simd';
const GPU_BACKEND = 'webgpu';
// Where the measured backend choice is remembered (per browser profile, i.e. per device).
const BACKEND_CHOICE = new URL('backend-choice.json', MODELS).href;

// More threads than this only add start-up time and memory: the models' matrices are too
// small to split further.
const MAX_THREADS = 8;

// A pool whose workers cannot start (say, a copy of the SDK served with a stricter CSP that
// forbids blob: workers) never settles: give up after this long and run on one thread.
const POOL_START_TIMEOUT_MS = 15_000;

// The loaded build's exports (set once `ready` resolves; every use awaits it first).
let engine = null;

/**
 * Whether this browser has relaxed SIMD, which the multi-threaded build is compiled with (its
 * GEMM uses fused multiply-adds): a one-function module using `f32x4.relaxed_madd` validates.
 */
function hasRelaxedSimd() {
  const v128 = [0xfd, 0x0c, ...new Array(16).fill(0)];
  return WebAssembly.validate(new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
    0x03, 0x02, 0x01, 0x00, // one function of that type
    0x0a, 0x3d, 0x01, 0x3b, 0x00, ...v128, ...v128, ...v128, 0xfd, 0x85, 0x02, 0x0b, // relaxed_madd
  ]));
}

/** Whether to try the multi-threaded build: shared memory and relaxed SIMD are there, and nobody said no. */
function threadsAllowed() {
  const askedForOne = new URL(self.location.href).searchParams.get('threads') === '0';
  return self.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function' && !askedForOne && hasRelaxedSimd();
}

/** Instantiates the multi-threaded build if allowed and working, else the single-thread one. */
async function loadEngine() {
  if (threadsAllowed()) {
    try {
      const threaded = await import('./threads/model-wasm.js');
      const wasm = await threaded.default();
      const threads = Math.min(Math.max(navigator.hardwareConcurrency || 1, 1), MAX_THREADS);
      await Promise.race([
        threaded.initThreadPool(threads),
        new Promise((_, reject) => setTimeout(
          () => reject(new Error(`its thread pool did not start within ${POOL_START_TIMEOUT_MS / 1000} s`)),
          POOL_START_TIMEOUT_MS,
        )),
      ]);
      engine = threaded;
      return { wasm, threads: threaded.engineInfo().threads };
    } catch (error) {
      console.warn(`multi-threaded engine unavailable, using one thread: ${error?.message ?? error}`);
    }
  }
  const single = await import('./model-wasm.js');
  const wasm = await single.default();
  engine = single;
  return { wasm, threads: 1 };
}

// Starts compiling the engine as soon as the worker starts, before the first request arrives.
const ready = loadEngine();

const caches_ = typeof caches === 'undefined' ? null : caches; // absent on insecure origins
let manifestPromise = null;
// model id -> { promise: Promise<engine>, entry, backend, listeners: Set<progress fn>, seen: Map<stage, last event> }
const loads = new Map();

async function manifest() {
  manifestPromise ??= (async () => {
    const url = new URL('manifest.json', MODELS);
    try {
      const res = await fetch(url, { cache: 'no-cache' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const copy = res.clone();
      caches_?.open(CACHE_NAME).then((c) => c.put(url, copy)).catch(() => {});
      return await res.json();
    } catch (error) {
      // Offline: the manifest we saw last time still describes what is in the cache.
      const cached = await caches_?.match(url);
      if (cached) return cached.json();
      throw new Error(`could not reach the model catalogue (${error.message}); check the connection and retry`);
    }
  })().catch((e) => { manifestPromise = null; throw e; });
  return manifestPromise;
}

function cacheKey(entry) {
  return new URL(`${entry.file}?sha256=${entry.sha256}`, MODELS).href;
}

/** The model's bytes, from the Cache API or the network, reporting progress as it goes. */
async function modelBytes(entry, progress) {
  const cache = await caches_?.open(CACHE_NAME).catch(() => null);
  const key = cacheKey(entry);
  const hit = await cache?.match(key);
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    progress({ stage: 'download', file: entry.file, loaded: bytes.length, total: bytes.length, cached: true });
    return { bytes, cache, key, cached: true };
  }
  const res = await fetch(new URL(entry.file, MODELS));
  if (!res.ok) throw new Error(`could not download ${entry.file} (HTTP ${res.status}); retry in a moment`);
  // Content-Length is the compressed size when the server sends brotli, so the manifest's
  // uncompressed size is the honest total for a progress bar over decompressed bytes.
  const total = entry.bytes;
  const bytes = new Uint8Array(total);
  let loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > total) throw new Error(`${entry.file} is larger than expected; reload the page`);
    bytes.set(value, loaded);
    loaded += value.length;
    progress({ stage: 'download', file: entry.file, loaded, total, cached: false });
  }
  if (loaded !== total) throw new Error(`${entry.file} was cut off (${loaded} of ${total} bytes); retry`);
  return { bytes, cache, key, cached: false };
}

async function dropStaleCopies(cache, entry) {
  const prefix = new URL(`${entry.file}?`, MODELS).href;
  for (const request of await cache.keys()) {
    if (request.url.startsWith(prefix) && request.url !== cacheKey(entry)) await cache.delete(request);
  }
}

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * Checks every copy (downloaded or cached) against the manifest's sha256. The platform's native
 * SHA-256 (crypto.subtle) takes tens of milliseconds for the 24 MB sentiment model, where sha2
 * compiled to wasm took over a second; the engine's own sha256Hex is the fallback on insecure
 * origins, which have no crypto.subtle. Native Rust callers (eval, tests) verify in
 * `SentimentClassifier::from_model_file` / `ImageClassifier::from_model_bytes` instead.
 */
async function verify(entry, bytes) {
  const actual = crypto.subtle ? hex(await crypto.subtle.digest('SHA-256', bytes)) : engine.sha256Hex(bytes);
  if (actual !== entry.sha256.toLowerCase()) {
    throw new Error(`the model file ${entry.file} is damaged or incomplete (sha256 ${actual}, expected ${entry.sha256}); reload the page to download it again`);
  }
}

/**
 * The engine for `entry` (a catalogue entry), built from bytes that match the manifest.
 * crypto.subtle hashes on another thread, so the engine is built meanwhile (its parser checks
 * every bound, so damaged bytes fail safely) and handed out only once the digest matches: the
 * check costs no time.
 */
async function construct(entry, bytes) {
  const verified = verify(entry, bytes);
  verified.catch(() => {}); // awaited below; don't report it as unhandled in the meantime
  let model;
  try {
    model = kindOf(entry).construct(entry, bytes);
  } catch (error) {
    await verified; // a damaged file says so, rather than whatever the parser tripped on
    throw error;
  }
  try {
    await verified;
  } catch (error) {
    model.free();
    throw error;
  }
  return model;
}

/**
 * Loads (once) the engine for catalogue model `id`: download or cache, verify, prepare. Every
 * caller that passes `progress` hears the load's events, including one who asks while it is
 * already under way or done (the page's own demo often starts it first): they get the latest
 * event of each stage so far, then the rest live.
 */
function load(id, progress = null, preference = 'auto') {
  let state = loads.get(id);
  if (!state) {
    state = { listeners: new Set(), seen: new Map(), backend: BACKEND, entry: null, preference };
    const emit = (event) => {
      state.seen.set(event.stage, event);
      for (const listener of state.listeners) listener(event);
    };
    state.promise = (async () => {
      // The bytes come from the cache or network while the engine's wasm still compiles.
      const entry = await catalogueEntry(id);
      state.entry = entry;
      let { bytes, cache, key, cached } = await modelBytes(entry, emit);
      await ready;
      emit({ stage: 'prepare', file: entry.file });
      let model;
      try {
        model = await construct(entry, bytes);
      } catch (error) {
        if (!cached) throw error;
        // A damaged cache entry: forget it and fetch a fresh copy once.
        await cache.delete(key);
        ({ bytes, cache, key, cached } = await modelBytes(entry, emit));
        model = await construct(entry, bytes);
      }
      if (cache && !cached) {
        await cache.put(key, new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } }));
        await dropStaleCopies(cache, entry);
      }
      const facts = { stage: 'load', preference, webgpu: Boolean(self.navigator?.gpu) };
      const choice = await followBackendChoice(id, facts, { model, entry, bytes });
      state.backend = choice.backend;
      state.facts = choice.facts;
      if (choice.trialWhenIdle) {
        state.gpuTrial = async () => followBackendChoice(
          id,
          { ...facts, stage: 'idle', remembered: (await rememberedChoices())[id] ?? null },
          { model, entry, bytes },
        );
      }
      emit({ stage: 'ready', file: entry.file, backend: state.backend, threads: (await ready).threads });
      return model;
    })();
    loads.set(id, state);
    state.promise.catch(() => loads.delete(id)); // a failed load can be retried
  } else if (progress) {
    for (const event of state.seen.values()) progress(event);
  }
  if (progress) {
    state.listeners.add(progress);
    const unsubscribe = () => state.listeners.delete(progress);
    state.promise.then(unsubscribe, unsubscribe);
  }
  return state.promise;
}

/** The catalogue's entry for model `id`, or an error naming the ids it has. */
async function catalogueEntry(id) {
  const models = (await manifest()).models ?? [];
  const entry = models.find((model) => model.id === id);
  if (!entry) throw new Error(`no model "${id}" in the catalogue (it has: ${models.map((m) => m.id).join(', ')})`);
  if (!KINDS[entry.task]) throw new Error(`model "${id}" is a ${entry.task} model, which this engine cannot run`);
  return entry;
}

async function timed(run) {
  const start = performance.now();
  const result = await run();
  return { result, ms: performance.now() - start };
}

async function rememberedChoices() {
  try {
    const hit = await (await caches_?.open(CACHE_NAME))?.match(BACKEND_CHOICE);
    return hit ? await hit.json() : {};
  } catch {
    return {};
  }
}

// Several models may remember at once (the page loads them side by side); writes take turns so neither
// read-modify-write overwrites the other's entry.
let remembering = Promise.resolve();

/** Stores `record` (what the engine's backend choice says to remember) as model `id`'s choice. */
function remember(id, record) {
  remembering = remembering.then(async () => {
    try {
      const cache = await caches_?.open(CACHE_NAME);
      const choices = { ...(await rememberedChoices()), [id]: record };
      await cache?.put(BACKEND_CHOICE, new Response(JSON.stringify(choices), { headers: { 'content-type': 'application/json' } }));
    } catch {
      // Not remembering only means measuring again next visit.
    }
  });
  return remembering;
}

const rgba = (pixels) => new Uint8Array(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength);

/**
 * What each task kind of the catalogue needs: how to build its engine from a catalogue entry and
 * how to run it on each backend. (Each engine checks and times its own GPU path for the backend
 * choice: `verifyGpu`, `runProbe`.) Nothing here names a model: every catalogue model of a kind
 * goes through its row.
 */
const KINDS = {
  'text-classification': {
    construct: (entry, bytes) => new engine.TextEngine(entry, bytes),
    input: (args) => String(args.text ?? ''),
    // Which model answers: the engine's rule (the script of the text; see `routeText`).
    route: async (text, id) => {
      await ready;
      return engine.routeText(text, (await manifest()).models ?? [], id);
    },
    cpu: (model, text) => model.classify(text),
    gpu: (model, text) => model.classifyGpu(text),
    answer: (result) => result,
  },
  'image-classification': {
    construct: (entry, bytes) => new engine.ImageEngine(entry, bytes),
    input: (args) => toPixels(args.image),
    cpu: (model, pixels) => model.classifyRgba(pixels.width, pixels.height, rgba(pixels)),
    gpu: (model, pixels) => model.classifyGpu(pixels.width, pixels.height, rgba(pixels)),
    answer: (top) => ({ top }),
  },
};

const kindOf = (entry) => KINDS[entry.task];

/** The model that answers `input` (`args.model`, or where routing sends it) and who else reads it. */
async function routed(kind, input, args) {
  if (!kind.route || args.route === false) return { id: args.model, readers: [] };
  const { model, readers } = await kind.route(input, args.model);
  return { id: model, readers };
}

/**
 * Loads the model routing chose for a request to `asked`, with the backend preference `asked` was
 * loaded with: a pipeline created for WebGPU gets its other-language reader on WebGPU too.
 */
const loadRouted = (id, asked) => load(id, null, loads.get(asked)?.preference ?? 'auto');

/** An unreadable answer says which other models could read the text. */
const withReaders = (answer, readers) => (answer?.unreadable ? { ...answer, readers } : answer);

const message = (error) => String(error?.message ?? error);

// One GPU step at a time: two models timed at once would each see the other's load.
let measuring = Promise.resolve();

/** Runs `step` after every step already queued; resolves with its result. */
function oneStepAtATime(step) {
  const result = measuring.then(step);
  measuring = result.catch(() => {});
  return result;
}

// Requests being handled now. The automatic GPU trial runs only when this is 0, so it never
// delays an answer a visitor is waiting for.
let busy = 0;
// How long the worker must have been idle before the automatic GPU trial starts.
const IDLE_BEFORE_GPU_TRIAL_MS = 250;

/**
 * What the browser says about its WebGPU adapter, for the engine's backend choice (which adapters
 * are worth trying is its call, not this worker's).
 */
async function adapterFacts() {
  const adapter = await navigator.gpu.requestAdapter().catch(() => null);
  if (!adapter) return { found: false };
  const info = adapter.info ?? {};
  const text = (value) => String(value ?? '');
  return {
    found: true,
    isFallbackAdapter: Boolean(adapter.isFallbackAdapter || info.isFallbackAdapter),
    vendor: text(info.vendor),
    architecture: text(info.architecture),
    device: text(info.device),
    description: text(info.description),
  };
}

/**
 * The steps the engine's backend choice may ask for: each finds something out about `model`
 * and returns it as facts to add. A GPU that fails is a fact too (`failure`).
 */
const STEPS = {
  adapter: async () => ({ adapter: await adapterFacts() }),
  // Enables the GPU path and runs its check against the CPU path.
  async verify(_choice, { model, entry, bytes }) {
    try {
      await model.enableGpu(entry.file, bytes);
      return { verdict: await model.verifyGpu() };
    } catch (error) {
      return { failure: message(error) };
    }
  },
  // Runs the engine's probe on one backend `warmups` times, then times `runs` runs one by one.
  async time({ backend, warmups, runs }, { model }, facts) {
    try {
      for (let i = 0; i < warmups; i++) await model.runProbe(backend);
      const ms = [];
      for (let i = 0; i < runs; i++) ms.push((await timed(() => model.runProbe(backend))).ms);
      return { timings: [...(facts.timings ?? []), { backend, ms }] };
    } catch (error) {
      return { failure: message(error) };
    }
  },
};

/**
 * Follows the engine's backend choice for model `id` (`subject`: its engine, catalogue entry
 * and bytes) from `facts`: does each step it asks for, adds what that found and asks again, until
 * it names a backend; stores what it says to remember. Resolves with that decision and the facts
 * it was made on. The policy is the engine's (`chooseBackend`); this only does as it says.
 */
async function followBackendChoice(id, facts, subject) {
  for (;;) {
    const choice = engine.chooseBackend(facts);
    if (choice.next === 'use') {
      if (choice.remember) await remember(id, choice.remember);
      return { ...choice, facts };
    }
    const step = STEPS[choice.next];
    if (!step) throw new Error(`the backend choice asked for an unknown step "${choice.next}"`);
    const before = JSON.stringify(facts);
    facts = { ...facts, ...(await oneStepAtATime(() => step(choice, subject, facts))) };
    // Each step adds a fact, so the choice always moves on; never ask the same thing forever.
    if (JSON.stringify(facts) === before) throw new Error(`the backend choice's step "${choice.next}" found nothing`);
  }
}

/**
 * After a model's first answer on 'auto': once no request has been waiting for
 * IDLE_BEFORE_GPU_TRIAL_MS, runs the automatic choice and switches the model to its result.
 * Requests that arrive meanwhile are answered from wasm.
 */
function gpuTrialWhenIdle(id) {
  const state = loads.get(id);
  const trial = state?.gpuTrial;
  if (!trial) return;
  state.gpuTrial = null; // once; this also lets the model bytes it holds go
  const attempt = () => {
    if (busy > 0) {
      setTimeout(attempt, IDLE_BEFORE_GPU_TRIAL_MS);
      return;
    }
    // Until the trial decides, the model stays on wasm, so no GPU failure can come first.
    trial().then((choice) => {
      state.backend = choice.backend;
      state.facts = choice.facts;
    }, () => {});
  };
  setTimeout(attempt, IDLE_BEFORE_GPU_TRIAL_MS);
}

/**
 * Runs `onGpu` when model `id` is on the GPU, else `onCpu`; a GPU failure answers from the CPU and
 * switches the model to it for good. The first answer on 'auto' schedules the GPU trial.
 */
async function onChosenBackend(id, onCpu, onGpu) {
  const state = loads.get(id);
  if (state?.backend === GPU_BACKEND) {
    try {
      const { result, ms } = await timed(onGpu);
      return { result, ms, backend: GPU_BACKEND };
    } catch (error) {
      const choice = await followBackendChoice(id, { ...state.facts, failure: message(error) }, {});
      state.backend = choice.backend;
      state.facts = choice.facts;
    }
  }
  const { result, ms } = await timed(onCpu);
  gpuTrialWhenIdle(id);
  return { result, ms, backend: BACKEND };
}

/** RGBA pixels for anything the SDK accepts: Blob/File, ImageBitmap, ImageData. */
async function toPixels(image) {
  if (image instanceof ImageData) return image;
  let bitmap = image;
  if (image instanceof Blob) {
    const header = new Uint8Array(await image.slice(0, 256 * 1024).arrayBuffer());
    engine.imageDimensions(header); // throws a clear error for non-images and oversized images
    try {
      bitmap = await createImageBitmap(image, { imageOrientation: 'from-image' });
    } catch {
      throw new Error('this image is damaged or in a format the browser cannot read; try a JPEG or PNG');
    }
  } else if (!(image instanceof ImageBitmap)) {
    throw new Error('pass a Blob/File, an ImageBitmap or ImageData');
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  // Transparent pixels become white, as on the page, rather than black.
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(bitmap, 0, 0);
  if (bitmap !== image) bitmap.close();
  return ctx.getImageData(0, 0, width, height);
}

const handlers = {
  engineInfo: async () => {
    await ready;
    return engine.engineInfo();
  },
  // Memory held by the engine: its wasm linear memory (model weights and buffers; it never
  // shrinks, so a leak shows as growth). Collects garbage first where the browser allows it
  // (`--js-flags=--expose-gc`, as the benchmark runs), so the figure is what is live.
  memory: async () => {
    const { wasm } = await ready;
    globalThis.gc?.();
    return { wasmBytes: wasm.memory.buffer.byteLength };
  },
  // The catalogue as the site ships it: every model's id, task kind, names and labels.
  catalogue: async () => (await manifest()).models ?? [],
  load: async ({ model, backend }, progress) => {
    await load(model, progress, backend ?? 'auto');
    const { entry } = loads.get(model);
    return { model, task: entry.task, backend: loads.get(model)?.backend ?? BACKEND, threads: (await ready).threads };
  },
  // `{ model, text }` or `{ model, image }`: the model's answer, and how it was computed.
  // A text the model cannot read is answered `{ unreadable: true, … }` instead of a label.
  // `model` in the answer names the model that answered: with `route` (the SDK's default) a text
  // in a script the asked model does not read goes to a catalogue model with the same labels
  // that does.
  classify: async (args) => {
    const kind = kindOf(await catalogueEntry(args.model));
    const input = await kind.input(args);
    const { id, readers } = await routed(kind, input, args);
    const model = await loadRouted(id, args.model);
    const { result, ms, backend } = await onChosenBackend(id, () => kind.cpu(model, input), () => kind.gpu(model, input));
    return { ...withReaders(kind.answer(result), readers), model: id, ms, backend, threads: (await ready).threads };
  },
  // `{ model, text }`: the words behind a text model's answer. On the GPU every variant is
  // encoded in one submission; on the CPU in batches.
  explain: async (args) => {
    const kind = kindOf(await catalogueEntry(args.model));
    if (!kind.route) throw new Error(`model "${args.model}" answers images; only text models explain words`);
    const input = String(args.text ?? '');
    const { id, readers } = await routed(kind, input, args);
    const model = await loadRouted(id, args.model);
    const { result, ms, backend } = await onChosenBackend(id, () => model.explain(input), () => model.explainGpu(input));
    return { ...withReaders(result, readers), model: id, ms, backend, threads: (await ready).threads };
  },
};

// Tells the page this worker's thread is free to run (vitrine.js replaces a worker that stops
// saying so while requests wait: a blocked thread cannot run this timer).
const HEARTBEAT_MS = 2_000;
setInterval(() => self.postMessage({ alive: true }), HEARTBEAT_MS);

self.addEventListener('message', async ({ data }) => {
  const { id, type, args } = data ?? {};
  busy += 1;
  try {
    // Handlers wait for the engine's wasm themselves (`load` only once it needs it).
    const handler = handlers[type];
    if (!handler) throw new Error(`unknown request "${type}"`);
    const result = await handler(args ?? {}, (progress) => self.postMessage({ id, progress }));
    self.postMessage({ id, ok: true, result });
  } catch (error) {
    self.postMessage({ id, ok: false, error: String(error?.message ?? error) });
  } finally {
    busy -= 1;
  }
});

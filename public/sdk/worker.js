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
    state = { listeners: new Set(), seen: new Map(), backend: BACKEND, entry: null };
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
      state.backend = await firstBackend(id, model, entry, bytes, preference);
      if (preference === 'auto' && state.backend === BACKEND && gpuPossible(entry, model)) {
        state.gpuTrial = () => automaticBackend(id, model, entry, bytes);
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

function remember(id, backend, measured) {
  remembering = remembering.then(async () => {
    try {
      const cache = await caches_?.open(CACHE_NAME);
      const choices = { ...(await rememberedChoices()), [id]: { backend, ...measured } };
      await cache?.put(BACKEND_CHOICE, new Response(JSON.stringify(choices), { headers: { 'content-type': 'application/json' } }));
    } catch {
      // Not remembering only means measuring again next visit.
    }
  });
  return remembering;
}

/** Relative L2 distance of `ours` from `reference`. */
function relativeL2(ours, reference) {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < reference.length; i++) {
    diff += (ours[i] - reference[i]) ** 2;
    norm += reference[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

const argmax = (xs) => xs.reduce((best, x, i) => (x > xs[best] ? i : best), 0);

/** A fixed 256×256 picture (smooth colour gradients and ripples) the image GPU path is checked on. */
function probeImage() {
  const side = 256;
  const image = new ImageData(side, side);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const at = 4 * (y * side + x);
      image.data[at] = x;
      image.data[at + 1] = y;
      image.data[at + 2] = 128 + 127 * Math.sin((x + 2 * y) / 9);
      image.data[at + 3] = 255;
    }
  }
  return image;
}

const rgba = (pixels) => new Uint8Array(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength);

/**
 * What each task kind of the catalogue needs: how to build its engine from a catalogue entry,
 * how to run it on each backend, and for backend choice a probe input and `verify`, which
 * throws unless the GPU gives the CPU's answer on the probe. Nothing here names a model: every
 * catalogue model of a kind goes through its row.
 */
const KINDS = {
  'text-classification': {
    construct: (entry, bytes) => new engine.TextEngine(entry, bytes),
    input: (args) => String(args.text ?? ''),
    probe: () => 'A warm, funny and beautifully made film, if a little long.',
    cpu: (model, text) => model.classify(text),
    gpu: (model, text) => model.classifyGpu(text),
    answer: (result) => result,
    async verify(model, text) {
      const cpu = model.classify(text);
      const gpu = await model.classifyGpu(text);
      // The GPU multiplies in f32, the CPU with 8-bit activations (Int8Matrix): 3e-5 apart on
      // this probe (0.08 in log-odds at most on the e2e sentences). A broken GPU path is off by
      // far more, or names another label.
      const apart = Math.max(...cpu.scores.map((s, i) => Math.abs(s.score - gpu.scores[i].score)));
      if (cpu.label !== gpu.label || !(apart <= 1e-2)) {
        throw new Error(`the GPU answered ${gpu.label} (${gpu.score}), the CPU ${cpu.label} (${cpu.score})`);
      }
    },
  },
  'image-classification': {
    construct: (entry, bytes) => new engine.ImageEngine(entry, bytes),
    input: (args) => toPixels(args.image),
    probe: probeImage,
    cpu: (model, pixels) => model.classifyRgba(pixels.width, pixels.height, rgba(pixels)),
    gpu: (model, pixels) => model.classifyGpu(pixels.width, pixels.height, rgba(pixels)),
    answer: (top) => ({ top }),
    async verify(model, pixels) {
      const cpu = model.logits(pixels.width, pixels.height, rgba(pixels));
      const gpu = await model.logitsGpu(pixels.width, pixels.height, rgba(pixels));
      const error = relativeL2(gpu, cpu);
      // The GPU multiplies in f32, the CPU with 8-bit activations (Int8Matrix): 1.8–3.0%
      // apart (relative L2) on the nine reference photos, same top-1. A broken GPU path is
      // off by far more, or names another class.
      if (argmax(gpu) !== argmax(cpu) || !(error <= 5e-2)) {
        throw new Error(`the GPU's logits differ from the CPU's (class ${argmax(gpu)} vs ${argmax(cpu)}, relative error ${error})`);
      }
    },
  },
};

const kindOf = (entry) => KINDS[entry.task];

// One GPU trial at a time: two models timed at once would each see the other's load.
let measuring = Promise.resolve();

/** Runs `trial` after every trial already queued; resolves with its result. */
function oneTrialAtATime(trial) {
  const result = measuring.then(trial);
  measuring = result.catch(() => {});
  return result;
}

// Requests being handled now. The automatic GPU trial runs only when this is 0, so it never
// delays an answer a visitor is waiting for.
let busy = 0;
// How long the worker must have been idle before the automatic GPU trial starts.
const IDLE_BEFORE_GPU_TRIAL_MS = 250;

/** Whether this model could run on the GPU here at all. */
function gpuPossible(entry, model) {
  return Boolean(kindOf(entry) && self.navigator?.gpu && model.enableGpu);
}

/**
 * Why this device's WebGPU adapter is not worth trying on its own, or null when it is a real GPU:
 * a software or fallback adapter (SwiftShader, llvmpipe, lavapipe) is slower than wasm SIMD by
 * one or two orders of magnitude, and even measuring that costs seconds. `backend: 'webgpu'` can
 * still ask for one.
 */
async function softwareAdapter() {
  const adapter = await navigator.gpu.requestAdapter().catch(() => null);
  if (!adapter) return 'no WebGPU adapter';
  const info = adapter.info ?? {};
  if (adapter.isFallbackAdapter || info.isFallbackAdapter) return 'a fallback adapter';
  const named = [info.vendor, info.architecture, info.device, info.description].join(' ');
  const software = /swiftshader|llvmpipe|lavapipe|software/i.exec(named);
  return software ? `a software adapter (${software[0]})` : null;
}

/**
 * The backend a model answers its first request on. `preference` ('auto' | 'wasm' | 'webgpu', from
 * the SDK): 'webgpu' verifies the GPU path now (on any adapter, software included) and answers
 * from it; 'auto' and 'wasm' answer from wasm SIMD at once. On 'auto' the GPU is tried later,
 * once the worker is idle after the first answer (`gpuTrialWhenIdle`), so the first answer never
 * waits for a GPU check the visitor did not ask for.
 */
async function firstBackend(id, model, entry, bytes, preference) {
  if (preference !== 'webgpu' || !gpuPossible(entry, model)) return BACKEND;
  return oneTrialAtATime(() => enableVerifiedGpu(id, model, entry, bytes));
}

/** Enables and verifies the GPU path: GPU_BACKEND if it gives the CPU's answer, else BACKEND. */
async function enableVerifiedGpu(id, model, entry, bytes) {
  const path = kindOf(entry);
  try {
    await model.enableGpu(entry.file, bytes);
    // The GPU must give the CPU's answer before it may give any.
    await path.verify(model, path.probe());
    return GPU_BACKEND;
  } catch (error) {
    await remember(id, BACKEND, { gpuError: String(error?.message ?? error) });
    return BACKEND;
  }
}

/**
 * The automatic choice: the GPU path only on a real GPU that gives the CPU's answer and is faster
 * on this device. Measured once per device and model, and remembered.
 */
async function automaticBackend(id, model, entry, bytes) {
  const remembered = (await rememberedChoices())[id]?.backend;
  if (remembered === BACKEND) return BACKEND;
  const software = await softwareAdapter();
  if (software) {
    await remember(id, BACKEND, { skipped: software });
    return BACKEND;
  }
  if ((await enableVerifiedGpu(id, model, entry, bytes)) !== GPU_BACKEND) return BACKEND;
  if (remembered === GPU_BACKEND) return GPU_BACKEND;
  const path = kindOf(entry);
  const probe = path.probe();
  const average = async (run) => {
    await run();
    const start = performance.now();
    for (let i = 0; i < 3; i++) await run();
    return (performance.now() - start) / 3;
  };
  try {
    const cpuMs = await average(async () => path.cpu(model, probe));
    const gpuMs = await average(() => path.gpu(model, probe));
    const choice = gpuMs < cpuMs ? GPU_BACKEND : BACKEND;
    await remember(id, choice, { cpuMs, gpuMs });
    return choice;
  } catch (error) {
    await remember(id, BACKEND, { gpuError: String(error?.message ?? error) });
    return BACKEND;
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
    oneTrialAtATime(trial).then((backend) => { state.backend = backend; }, () => {});
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
      state.backend = BACKEND;
      await remember(id, BACKEND, { gpuError: String(error?.message ?? error) });
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
  classify: async (args) => {
    const model = await load(args.model);
    const { entry } = loads.get(args.model);
    const kind = kindOf(entry);
    const input = await kind.input(args);
    const { result, ms, backend } = await onChosenBackend(args.model, () => kind.cpu(model, input), () => kind.gpu(model, input));
    return { ...kind.answer(result), ms, backend, threads: (await ready).threads };
  },
  // `{ model, text }`: the words behind a text model's answer. On the GPU every variant is
  // encoded in one submission; on the CPU in batches.
  explain: async ({ model: id, text }) => {
    const model = await load(id);
    if (!model.explain) throw new Error(`model "${id}" answers images; only text models explain words`);
    const input = String(text ?? '');
    const { result, ms, backend } = await onChosenBackend(id, () => model.explain(input), () => model.explainGpu(input));
    return { ...result, ms, backend, threads: (await ready).threads };
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

// The WebGPU path in a real browser: Chromium's SwiftShader adapter (software, so correct but
// slow) with --enable-unsafe-webgpu. The GPU must give the native build's (or the wasm path's)
// answers; the automatic choice answers from wasm first, never picks a software adapter by
// itself, and on a real GPU is measured once idle and remembered; without WebGPU a request for it
// falls back to wasm. Both tasks, sentiment and image.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage } from '../lib/browser.js';
import { nativeReference, scoreOf } from '../lib/reference.js';

const browsers = [];
after(async () => { for (const b of browsers) await b.close(); });

/** A page of the app that loads no model by itself, in a fresh profile. */
async function quietPage(flags) {
  const browser = await launch(flags);
  browsers.push(browser);
  const page = await newPage(browser);
  await page.goto(BASE + '/insights');
  return page;
}

/**
 * Serves the real worker to `page` with each `[from, to]` of `replacements` applied (a page
 * cannot break or disguise the worker's GPU itself). Returns how many times it was served.
 */
async function patchWorker(page, replacements) {
  let served = 0;
  await page.context().route('**/sdk/worker.js*', async (route) => {
    const response = await route.fetch();
    let body = await response.text();
    for (const [from, to] of replacements) {
      assert.ok(body.includes(from), `worker.js no longer has the code this test replaces: ${from}`);
      body = body.replace(from, to);
    }
    served += 1;
    await route.fulfill({ response, body });
  });
  return () => served;
}

/**
 * SwiftShader described as a real GPU to the engine's backend choice, so the automatic choice's
 * trial runs on this machine.
 */
const AS_IF_HARDWARE = ['async function adapterFacts() {', "async function adapterFacts() { return { found: true, description: 'as if hardware' };"];

/**
 * A quiet page in a fresh profile whose worker takes SwiftShader for a real GPU;
 * `page.workerServed()` says how often the patched worker was served (once the SDK starts it).
 */
async function quietPageAsIfHardware() {
  const browser = await launch(['--enable-unsafe-webgpu']);
  browsers.push(browser);
  const page = await newPage(browser, { serviceWorkers: 'block' });
  page.workerServed = await patchWorker(page, [AS_IF_HARDWARE]);
  await page.goto(BASE + '/insights');
  // Loaded, so a test's next navigation does not abort the app's own downloads (a failed request).
  await page.getByTestId('page-insights').waitFor();
  return page;
}

/** Polls `probe()` (every 500 ms, up to `timeout`) until it returns something other than null. */
async function eventually(probe, what, timeout = 300_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    assert.ok(Date.now() < deadline, `gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The remembered backend choices, once `tasks` all have one (the trial runs after an answer). */
function rememberedChoices(page, tasks, timeout = 300_000) {
  return eventually(() => page.evaluate(async (tasks) => {
    const cache = await caches.open('vitrine-models-v1');
    const choice = await (await cache.match('/models/backend-choice.json'))?.json();
    return tasks.every((task) => choice?.[task]) ? choice : null;
  }, tasks), `a remembered choice for ${tasks.join(' and ')}`, timeout);
}

async function classifyAll(page, backend, texts) {
  return page.evaluate(async ([backend, texts]) => {
    const sdk = await import('/sdk/vitrine.js');
    const events = [];
    const sentiment = await sdk.pipeline('sentiment', { backend, onProgress: (p) => events.push(p) });
    const results = [];
    for (const text of texts) results.push(await sentiment(text));
    const cache = await caches.open('vitrine-models-v1');
    const choice = await (await cache.match('/models/backend-choice.json'))?.json();
    return { ready: events.find((e) => e.stage === 'ready'), results, choice };
  }, [backend, texts]);
}

test('WebGPU: the sentiment encoder runs on the GPU and answers like the native build', { timeout: 300_000 }, async (t) => {
  const reference = nativeReference(t);
  const page = await quietPage(['--enable-unsafe-webgpu']);
  const texts = reference?.sentiment.map((s) => s.text) ?? ['I love it', 'a dull, lifeless film'];
  const run = await classifyAll(page, 'webgpu', texts);
  assert.equal(run.ready.backend, 'webgpu', `WebGPU was not used: ${JSON.stringify(run.choice)}`);
  for (const [i, result] of run.results.entries()) {
    assert.equal(result.backend, 'webgpu');
    const native = reference?.sentiment[i];
    if (native?.unreadable) {
      // Refused before any product, on every backend alike.
      assert.equal(result.unreadable, true, native.text);
      assert.equal(result.reason, native.reason, native.text);
      continue;
    }
    if (native) {
      assert.equal(result.label, native.label, native.text);
      // The GPU multiplies in f32; the native reference, like wasm, quantises activations to
      // 8 bits (MatmulMode::Int8): log-odds differ by up to 0.08 (model-wasm/tests/
      // sentiment_model.rs measures the two modes on these sentences), labels never.
      const odds = (p) => Math.log(p / (1 - p));
      const [ours, theirs] = [scoreOf(result, 'positive'), scoreOf(native, 'positive')];
      assert.ok(Math.abs(odds(ours) - odds(theirs)) < 0.15, `${native.text}: webgpu ${ours} vs native ${theirs}`);
    }
  }
  assert.deepEqual(page.problems, []);
});

test('WebGPU: explanations are computed on the GPU and match the wasm ones', { timeout: 600_000 }, async () => {
  const text = 'The first half drags and the jokes miss, yet the warm, sharp last act left me smiling.';
  const explain = (page, backend) => page.evaluate(async ([backend, text]) => {
    const sdk = await import('/sdk/vitrine.js');
    return (await sdk.pipeline('sentiment', { backend })).explain(text);
  }, [backend, text]);
  const wasm = await explain(await quietPage(['--enable-unsafe-webgpu']), 'wasm');
  const page = await quietPage(['--enable-unsafe-webgpu']);
  const gpu = await explain(page, 'webgpu');
  assert.equal(wasm.backend, 'wasm-simd');
  assert.equal(gpu.backend, 'webgpu');
  assert.deepEqual(gpu.words.map((w) => w.word), wasm.words.map((w) => w.word));
  // f32 on the GPU, 8-bit activations in wasm: the answer and each contribution (log-odds)
  // within 10% of the largest contribution, and the same three strongest words pulling the same
  // way (as the native test of the two modes, which measured at most 7.9% for this text).
  const largest = Math.max(...wasm.words.map((w) => Math.abs(w.contribution)));
  const odds = (p) => Math.log(p / (1 - p));
  assert.equal(gpu.prediction.label, wasm.prediction.label);
  const [onGpu, onWasm] = [scoreOf(gpu.prediction, 'positive'), scoreOf(wasm.prediction, 'positive')];
  assert.ok(Math.abs(odds(onGpu) - odds(onWasm)) <= 0.1 * largest, `webgpu ${onGpu} vs wasm ${onWasm}`);
  for (const [i, word] of gpu.words.entries()) {
    assert.ok(Math.abs(word.contribution - wasm.words[i].contribution) <= 0.1 * largest, `${word.word}: webgpu ${word.contribution} vs wasm ${wasm.words[i].contribution}`);
  }
  // As a set: two words of nearly equal weight may trade places within the three.
  const top = (words) => [...words].sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution)).slice(0, 3).map((w) => `${w.start}:${w.contribution > 0}`).sort();
  assert.deepEqual(top(gpu.words), top(wasm.words));
  assert.deepEqual(page.problems, []);
});

test('WebGPU: on a software adapter the automatic choice answers from wasm and never tries the GPU', { timeout: 300_000 }, async () => {
  const page = await quietPage(['--enable-unsafe-webgpu']);
  const run = await classifyAll(page, 'auto', ['what a delightful surprise', 'a dull, lifeless film']);
  assert.equal(run.ready.backend, 'wasm-simd');
  assert.deepEqual(run.results.map((r) => r.backend), ['wasm-simd', 'wasm-simd']);
  const choice = (await rememberedChoices(page, ['sentiment'])).sentiment;
  assert.equal(choice.backend, 'wasm-simd');
  assert.match(choice.skipped, /software adapter \(swiftshader\)|fallback adapter/i, JSON.stringify(choice));
  assert.equal(choice.cpuMs, undefined, 'the GPU was not timed');
  // A later page load remembers it: still wasm, at once.
  const again = await classifyAll(page, 'auto', ['warm and funny']);
  assert.equal(again.results[0].backend, 'wasm-simd');
  assert.deepEqual(page.problems, []);
});

test('WebGPU: on a real GPU the first answer comes from wasm, then the choice is measured once idle, remembered and used', { timeout: 300_000 }, async () => {
  const page = await quietPageAsIfHardware();
  const first = await classifyAll(page, 'auto', ['what a delightful surprise']);
  assert.equal(first.ready.backend, 'wasm-simd', 'the first answer does not wait for the GPU');
  assert.equal(first.results[0].backend, 'wasm-simd');
  assert.ok(page.workerServed() >= 1, 'the worker was served through the test');
  const choice = (await rememberedChoices(page, ['sentiment'])).sentiment;
  assert.ok(choice.cpuMs > 0 && choice.gpuMs > 0, `both backends were timed: ${JSON.stringify(choice)}`);
  assert.equal(choice.backend, choice.gpuMs < choice.cpuMs ? 'webgpu' : 'wasm-simd');
  const next = await page.evaluate(async () => (await (await import('/sdk/vitrine.js')).pipeline('sentiment'))('a dull, lifeless film'));
  assert.equal(next.backend, choice.backend, 'answers after the trial come from the chosen backend');
  assert.equal(next.label, 'negative');
  assert.deepEqual(page.problems, []);
});

test('WebGPU: each task choice is measured and remembered on its own, both loading at once', { timeout: 600_000 }, async () => {
  const page = await quietPageAsIfHardware();
  const classify = () => page.evaluate(async () => {
    const sdk = await import('/sdk/vitrine.js');
    const photo = await (await fetch('/samples/parrot.jpg')).blob();
    const [sentiment, image] = await Promise.all([sdk.pipeline('sentiment'), sdk.pipeline('image')]);
    return { sentiment: await sentiment('a gentle, lovely film'), image: await image(photo) };
  });
  const first = await classify();
  assert.equal(first.sentiment.backend, 'wasm-simd');
  assert.equal(first.image.backend, 'wasm-simd');
  assert.ok(page.workerServed() >= 1, 'the worker was served through the test');
  const choices = await rememberedChoices(page, ['sentiment', 'image'], 540_000);
  const later = await classify();
  for (const task of ['sentiment', 'image']) {
    const choice = choices[task];
    assert.ok(choice.cpuMs > 0 && choice.gpuMs > 0, `${task}: both backends were timed: ${JSON.stringify(choice)}`);
    assert.equal(choice.backend, choice.gpuMs < choice.cpuMs ? 'webgpu' : 'wasm-simd');
    assert.equal(later[task].backend, choice.backend, task);
  }
  assert.equal(later.image.top[0].label, first.image.top[0].label);
  assert.deepEqual(page.problems, []);
});

test('WebGPU: asked for where there is none, the answer comes from wasm without an error', { timeout: 300_000 }, async (t) => {
  const page = await quietPage([]);
  const hasAdapter = await page.evaluate(async () => Boolean(await navigator.gpu?.requestAdapter()));
  const run = await classifyAll(page, 'webgpu', ['I love it']);
  if (hasAdapter) {
    t.skip('this browser offers a WebGPU adapter even without the flag');
    return;
  }
  assert.equal(run.ready.backend, 'wasm-simd');
  assert.equal(run.results[0].backend, 'wasm-simd');
  assert.equal(run.results[0].label, 'positive');
  assert.deepEqual(page.problems, []);
});

/** The native build's top-1 label for a sample photo (test context `t`: see nativeReference). */
const nativeTop1 = (t, photo) => nativeReference(t)?.image.find((i) => i.file === photo)?.top[0].label;

/** The top-5 for a sample photo from the image pipeline on `backend`, and the backend chosen. */
async function classifyPhoto(page, backend, photo) {
  return page.evaluate(async ([backend, photo]) => {
    const sdk = await import('/sdk/vitrine.js');
    const events = [];
    const image = await sdk.pipeline('image', { backend, onProgress: (p) => events.push(p) });
    const result = await image(await (await fetch(`/samples/${photo}`)).blob());
    return { ready: events.find((e) => e.stage === 'ready'), result };
  }, [backend, photo]);
}

test('WebGPU: the image model runs on the GPU and answers like wasm', { timeout: 600_000 }, async () => {
  // Two fresh profiles, so each has its own worker and neither remembers the other's choice.
  const wasm = await classifyPhoto(await quietPage(['--enable-unsafe-webgpu']), 'wasm', 'owl.jpg');
  const page = await quietPage(['--enable-unsafe-webgpu']);
  const gpu = await classifyPhoto(page, 'webgpu', 'owl.jpg');
  assert.equal(wasm.result.backend, 'wasm-simd');
  assert.equal(gpu.ready.backend, 'webgpu', 'WebGPU was not used (the GPU failed its check or is missing)');
  assert.equal(gpu.result.backend, 'webgpu');
  // The GPU multiplies in f32, wasm with 8-bit activations: logits 2–3% apart (relative L2, see
  // model-wasm/tests/image_golden.rs), so close classes may trade places in the top-5, but the
  // answer and its score stay.
  const [ours, reference] = [gpu.result.top, wasm.result.top];
  assert.equal(ours[0].label, reference[0].label);
  assert.ok(Math.abs(ours[0].score - reference[0].score) < 3e-2, `webgpu ${ours[0].score} vs wasm ${reference[0].score}`);
  const shared = ours.filter((c) => reference.some((r) => r.label === c.label)).length;
  assert.ok(shared >= 4, `top-5 share ${shared} classes: webgpu ${ours.map((c) => c.label)} vs wasm ${reference.map((c) => c.label)}`);
  assert.deepEqual(page.problems, []);
});

test('WebGPU: a remembered WebGPU choice takes over after the first answer, and the image demo badge says so', { timeout: 600_000 }, async (t) => {
  const page = await quietPageAsIfHardware();
  // As if this device had measured WebGPU faster for images (and wasm for sentiment, which the
  // landing page also loads: this test is about the image model).
  await page.evaluate(async () => {
    const cache = await caches.open('vitrine-models-v1');
    const choices = { sentiment: { backend: 'wasm-simd' }, image: { backend: 'webgpu' } };
    await cache.put('/models/backend-choice.json', new Response(JSON.stringify(choices)));
  });
  await page.goto(BASE + '/');
  await page.getByTestId('demo-image').scrollIntoViewIfNeeded();
  await page.locator('[data-testid="load-progress-image"][data-state="ready"]').waitFor({ timeout: 300_000 });
  await page.getByTestId('sample-owl').click();
  await page.locator('[data-testid="image-result"][data-state="done"]').waitFor({ timeout: 120_000 });
  assert.match(await page.getByTestId('backend-image').innerText(), /^WASM SIMD/, 'the first answer comes from wasm');
  // The remembered choice is verified (not timed again) once the worker is idle; then photos go to the GPU.
  const expected = nativeTop1(t, 'owl.jpg');
  assert.ok(page.workerServed() >= 1, 'the worker was served through the test');
  await eventually(() => page.evaluate(async () => {
    const sdk = await import('/sdk/vitrine.js');
    const image = await sdk.pipeline('image');
    return (await image(await (await fetch('/samples/owl.jpg')).blob())).backend === 'webgpu' || null;
  }), 'photos answered on WebGPU');
  await page.getByTestId('sample-parrot').click();
  await page.locator('[data-testid="image-result"][data-state="done"]').waitFor({ timeout: 120_000 });
  await page.getByTestId('sample-owl').click();
  await page.locator('[data-testid="image-result"][data-state="done"]').waitFor({ timeout: 120_000 });
  assert.equal(await page.getByTestId('backend-image').innerText(), 'WebGPU');
  const shown = await page.getByTestId('image-top5').getByTestId('image-class').allInnerTexts();
  assert.equal(shown.length, 5);
  if (expected) assert.ok(shown[0].toLowerCase().startsWith(expected.toLowerCase()), `${shown[0]} vs native ${expected}`);
  assert.deepEqual(page.problems, []);
});

test('WebGPU: an image asked for on WebGPU where there is none is answered by wasm without an error', { timeout: 300_000 }, async (t) => {
  const page = await quietPage([]);
  const hasAdapter = await page.evaluate(async () => Boolean(await navigator.gpu?.requestAdapter()));
  if (hasAdapter) {
    t.skip('this browser offers a WebGPU adapter even without the flag');
    return;
  }
  const run = await classifyPhoto(page, 'webgpu', 'owl.jpg');
  assert.equal(run.ready.backend, 'wasm-simd');
  assert.equal(run.result.backend, 'wasm-simd');
  assert.equal(run.result.top.length, 5);
  const expected = nativeTop1(t, 'owl.jpg');
  if (expected) assert.equal(run.result.top[0].label, expected);
  assert.deepEqual(page.problems, []);
});

test('WebGPU: a GPU that fails mid-session is left for wasm, and the visitor still gets the answer', { timeout: 300_000 }, async () => {
  // The real worker with one change: its sentiment GPU path answers once, then fails as a lost
  // device would.
  const browser = await launch(['--enable-unsafe-webgpu']);
  browsers.push(browser);
  const page = await newPage(browser, { serviceWorkers: 'block' });
  const failing = 'gpu: (model, text) => { if ((self.gpuAnswers = (self.gpuAnswers ?? 0) + 1) > 1) '
    + "throw new Error('GPU device lost (test)'); return model.classifyGpu(text); },";
  const served = await patchWorker(page, [['gpu: (model, text) => model.classifyGpu(text),', failing]]);
  await page.goto(BASE + '/insights');
  const run = await classifyAll(page, 'webgpu', ['I love it', 'a dull, lifeless film', 'warm and funny']);
  assert.ok(served() >= 1, 'the worker was served through the test');
  assert.equal(run.ready.backend, 'webgpu', `WebGPU was not used: ${JSON.stringify(run.choice)}`);
  assert.deepEqual(run.results.map((r) => r.backend), ['webgpu', 'wasm-simd', 'wasm-simd']);
  assert.deepEqual(run.results.map((r) => r.label), ['positive', 'negative', 'positive']);
  assert.equal(run.choice.sentiment.backend, 'wasm-simd', 'the failure is remembered');
  assert.match(run.choice.sentiment.gpuError, /device lost/);
  assert.deepEqual(page.problems, []);
});

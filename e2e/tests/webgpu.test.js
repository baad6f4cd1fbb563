// The WebGPU path in a real browser: Chromium's SwiftShader adapter (software, so correct but
// slow) with --enable-unsafe-webgpu. The GPU must give the native build's answers; the automatic
// choice must be measured and remembered; without WebGPU a request for it falls back to wasm.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { BASE, launch, newPage } from '../lib/browser.js';

const REFERENCE = process.env.VITRINE_NATIVE_REFERENCE;
const reference = REFERENCE && existsSync(REFERENCE) ? JSON.parse(readFileSync(REFERENCE, 'utf8')) : null;
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

test('WebGPU: the sentiment encoder runs on the GPU and answers like the native build', { timeout: 300_000 }, async () => {
  const page = await quietPage(['--enable-unsafe-webgpu']);
  const texts = reference?.sentiment.map((s) => s.text) ?? ['I love it', 'a dull, lifeless film'];
  const run = await classifyAll(page, 'webgpu', texts);
  assert.equal(run.ready.backend, 'webgpu', `WebGPU was not used: ${JSON.stringify(run.choice)}`);
  for (const [i, result] of run.results.entries()) {
    assert.equal(result.backend, 'webgpu');
    if (reference) {
      const native = reference.sentiment[i];
      assert.equal(result.label, native.label, native.text);
      assert.ok(Math.abs(result.positive - native.positive) < 1e-3, `${native.text}: webgpu ${result.positive} vs native ${native.positive}`);
    }
  }
  assert.deepEqual(page.problems, []);
});

test('WebGPU: the automatic choice is measured on this device and remembered', { timeout: 300_000 }, async () => {
  const page = await quietPage(['--enable-unsafe-webgpu']);
  const run = await classifyAll(page, 'auto', ['what a delightful surprise']);
  const choice = run.choice?.sentiment;
  assert.ok(choice, 'a choice was remembered');
  assert.ok(choice.cpuMs > 0 && choice.gpuMs > 0, `both backends were timed: ${JSON.stringify(choice)}`);
  assert.equal(choice.backend, choice.gpuMs < choice.cpuMs ? 'webgpu' : 'wasm-simd');
  assert.equal(run.ready.backend, choice.backend);
  assert.equal(run.results[0].backend, choice.backend);
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

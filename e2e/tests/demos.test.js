// The landing page's live demos, as a visitor uses them: the sentiment demo answers as you type
// and explains itself, share links restore the text, the image demo classifies gallery photos,
// pasted and dropped pictures and camera frames, bad files and a refused camera give clear
// messages, and each model shows its loading progress until it is ready.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage } from '../lib/browser.js';

const LOAD = 120_000;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Waits until `testId`'s `data-state` is `state` (e.g. the model load reaching ready). */
async function waitState(page, testId, state, timeout = LOAD) {
  await page.locator(`[data-testid="${testId}"][data-state="${state}"]`).waitFor({ timeout });
}

async function label(page) {
  const el = page.getByTestId('sentiment-label');
  await el.waitFor({ timeout: LOAD });
  return el.getAttribute('data-label');
}

test('model loading: byte progress, then preparing, then ready with the backend; cached on the next visit', { timeout: 240_000 }, async () => {
  const page = await newPage(browser);
  // Record every state the sentiment loader shows (a fast local download is over in a blink).
  await page.addInitScript(() => {
    window.__loadStates = [];
    new MutationObserver(() => {
      const el = document.querySelector('[data-testid="load-progress-sentiment"]');
      if (!el) return;
      const entry = `${el.dataset.state}|${el.textContent}`;
      if (window.__loadStates.at(-1) !== entry) window.__loadStates.push(entry);
    }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  });
  await page.goto(BASE + '/');
  await waitState(page, 'load-progress-sentiment', 'ready');
  const states = await page.evaluate(() => window.__loadStates);
  const order = [...new Set(states.map((s) => s.split('|')[0]))];
  assert.deepEqual(order.filter((s) => ['download', 'prepare', 'ready'].includes(s)), ['download', 'prepare', 'ready'], order.join(' → '));
  assert.ok(states.some((s) => s.startsWith('download|') && /\d+\.\d MB \/ \d+\.\d MB/.test(s)), 'byte progress in MB');
  assert.match(await page.getByTestId('backend-sentiment').innerText(), /WASM SIMD|WebGPU/);
  assert.match(await page.getByTestId('model-size-sentiment').innerText(), /\d+\.\d MB/);
  // The image model waits until its demo comes into view.
  assert.equal(await page.getByTestId('load-progress-image').getAttribute('data-state'), 'idle');
  await page.getByTestId('demo-image').scrollIntoViewIfNeeded();
  await waitState(page, 'load-progress-image', 'ready');

  await page.reload();
  await waitState(page, 'load-progress-sentiment', 'ready');
  await page.getByTestId('load-progress-sentiment').getByTestId('load-cached').waitFor();
  assert.deepEqual(page.problems, []);
});

test('sentiment: answers as you type, with a confidence bar, highlighted words and live latency', { timeout: 180_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/');
  const input = page.getByTestId('sentiment-input');
  await input.pressSequentially('What a wonderful, joyful film', { delay: 20 });
  // Answers come while the text is still being typed: wait for the words of the whole text.
  const words = page.getByTestId('sentiment-words');
  await page.waitForFunction((want) => document.querySelector('[data-testid="sentiment-words"]')
    ?.innerText.replace(/\s+/g, ' ').trim() === want, 'What a wonderful, joyful film', { timeout: LOAD });
  assert.equal(await label(page), 'positive');
  assert.match(await page.getByTestId('sentiment-score').innerText(), /^\d{2,3}%$/);
  await words.locator('mark.w-pos').first().waitFor({ timeout: 30_000 });
  assert.match(await page.getByTestId('model-latency-sentiment').innerText(), /\d+(\.\d)? ms/);

  // Keep typing: the newest text wins.
  await input.fill('What a dull, lifeless and boring film');
  await page.locator('[data-testid="sentiment-label"][data-label="negative"]').waitFor({ timeout: 30_000 });
  // Which words push which way is the model's business (models.test.js); here: they are shown.
  await page.getByTestId('sentiment-words').locator('mark.w-neg').first().waitFor({ timeout: 30_000 });
  assert.deepEqual(page.problems, []);
});

test('sentiment: example chips work by mouse and keyboard', { timeout: 180_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/');
  await page.getByTestId('example-2').click();
  await page.locator('[data-testid="sentiment-label"][data-label="negative"]').waitFor({ timeout: LOAD });
  assert.equal(await page.getByTestId('sentiment-input').inputValue(), 'A dull, lifeless and boring film.');
  await page.getByTestId('example-1').focus();
  await page.keyboard.press('Enter');
  await page.locator('[data-testid="sentiment-label"][data-label="positive"]').waitFor({ timeout: 30_000 });
  assert.deepEqual(page.problems, []);
});

test('sentiment: an empty box shows a hint, whitespace a clear error', { timeout: 180_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/');
  await page.getByTestId('sentiment-hint').waitFor();
  assert.equal(await page.getByTestId('sentiment-error').count(), 0);
  const input = page.getByTestId('sentiment-input');
  await input.fill('I like it');
  await label(page);
  await input.fill('');
  await page.getByTestId('sentiment-hint').waitFor();
  assert.equal(await page.getByTestId('sentiment-error').count(), 0);
  await input.fill('   \n  ');
  assert.match(await page.getByTestId('sentiment-error').innerText(), /spaces|words/i);
  assert.deepEqual(page.problems, []);
});

test('sentiment: a share link restores non-ASCII text and highlights the right words', { timeout: 180_000 }, async () => {
  const page = await newPage(browser);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  await page.goto(BASE + '/');
  const text = 'Le café était délicieux — I loved every bite 😀 but the service was awful';
  await page.getByTestId('sentiment-input').fill(text);
  await label(page);
  await page.getByTestId('share-button').click();
  const link = await page.getByTestId('share-link').inputValue();
  assert.ok(link.startsWith(BASE + '/#text='), link);
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, link);

  const other = await newPage(browser);
  await other.goto(link);
  await other.getByTestId('sentiment-label').waitFor({ timeout: LOAD });
  assert.equal(await other.getByTestId('sentiment-input').inputValue(), text);
  const words = other.getByTestId('sentiment-words');
  await words.locator('mark').first().waitFor({ timeout: 30_000 });
  // Byte offsets mapped to characters: the rendering is exactly the text, and the marks are words.
  assert.equal(await words.innerText(), text);
  const marks = await words.locator('mark').allInnerTexts();
  for (const word of ['café', 'délicieux', 'loved', 'awful']) assert.ok(marks.includes(word), `${word} in ${marks}`);
  assert.deepEqual(page.problems, []);
  assert.deepEqual(other.problems, []);
});

test('sentiment: a very long text says it was truncated', { timeout: 180_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/');
  await page.getByTestId('sentiment-input').fill('This was a good movie with a great story. '.repeat(60));
  await page.getByTestId('sentiment-truncated').waitFor({ timeout: LOAD });
  assert.match(await page.getByTestId('sentiment-truncated').innerText(), /128/);
  assert.deepEqual(page.problems, []);
});

test('image: a gallery photo gets five labelled bars, a bad file a clear error', { timeout: 240_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/');
  await page.getByTestId('sample-dragonfly').click();
  const rows = page.getByTestId('image-top5').getByTestId('image-class');
  await rows.first().waitFor({ timeout: LOAD });
  assert.equal(await rows.count(), 5);
  assert.match(await rows.first().innerText(), /dragonfly/i);
  for (const row of await rows.allInnerTexts()) assert.match(row, /\d+\.\d%/);
  assert.equal(await page.getByTestId('image-preview').getAttribute('src'), '/samples/dragonfly.jpg');
  assert.match(await page.getByTestId('model-latency-image').innerText(), /\d+(\.\d)? ms/);

  await page.getByTestId('image-file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello, I am not a picture') });
  const error = page.getByTestId('image-error');
  await error.waitFor({ timeout: 30_000 });
  assert.match(await error.innerText(), /not an image|format|cannot read/i);

  // A real file through the same picker works again afterwards.
  const jpeg = await (await fetch(BASE + '/samples/parrot.jpg')).arrayBuffer();
  await page.getByTestId('image-file').setInputFiles({ name: 'parrot.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(jpeg) });
  await page.locator('[data-testid="image-result"][data-state="done"]').waitFor({ timeout: 30_000 });
  assert.match(await page.getByTestId('image-preview').getAttribute('src'), /^blob:/);
  assert.deepEqual(page.problems, []);
});

test('image: paste and drag and drop', { timeout: 240_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/');
  await page.getByTestId('demo-image').scrollIntoViewIfNeeded();
  await page.evaluate(async () => {
    const blob = await (await fetch('/samples/cat.jpg')).blob();
    const data = new DataTransfer();
    data.items.add(new File([blob], 'cat.jpg', { type: 'image/jpeg' }));
    document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  });
  const first = page.getByTestId('image-top5').getByTestId('image-class').first();
  await first.waitFor({ timeout: LOAD });
  assert.match(await first.innerText(), /cat|tabby|lynx|kitten/i);

  await page.evaluate(async () => {
    const blob = await (await fetch('/samples/sunflower.jpg')).blob();
    const data = new DataTransfer();
    data.items.add(new File([blob], 'sunflower.jpg', { type: 'image/jpeg' }));
    const zone = document.querySelector('[data-testid="image-dropzone"]');
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  await page.getByTestId('image-top5').getByTestId('image-class').first().filter({ hasText: /daisy|sunflower/i }).waitFor({ timeout: 30_000 });
  assert.deepEqual(page.problems, []);
});

test('image: a refused camera says so clearly', { timeout: 60_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/');
  await page.getByTestId('camera-start').click();
  const error = page.getByTestId('camera-error');
  await error.waitFor({ timeout: 20_000 });
  assert.match(await error.innerText(), /denied|no camera|cannot use the camera/i);
  assert.deepEqual(page.problems, []);
});

test('image: a camera frame is captured, classified, and the camera stops', { timeout: 240_000 }, async () => {
  const camBrowser = await launch(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']);
  try {
    const page = await newPage(camBrowser);
    await page.goto(BASE + '/');
    await page.getByTestId('camera-start').click();
    const capture = page.getByTestId('camera-capture');
    await page.waitForFunction(() => {
      const video = document.querySelector('video');
      return video && video.videoWidth > 0 && !document.querySelector('[data-testid="camera-capture"]').disabled;
    }, null, { timeout: 20_000 });
    await capture.click();
    await page.getByTestId('image-top5').getByTestId('image-class').first().waitFor({ timeout: LOAD });
    assert.equal(await page.evaluate(() => document.querySelector('video').srcObject), null, 'stream released');
    assert.deepEqual(page.problems, []);
  } finally {
    await camBrowser.close();
  }
});

// Text a model cannot read: no label, a notice in the visitor's language saying which languages
// the model reads, and a way on. Chinese typed on the English page is read by the bilingual
// sentiment model (the badge says which model answered); the SDK resolves such text with
// `{ unreadable: true, … }` instead of a guess.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, artifact } from '../lib/browser.js';

const LOAD = 120_000;
const RUSSIAN = 'Это был отличный фильм, мне очень понравилось';
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function typeAndWait(page, text, state) {
  await page.getByTestId('sentiment-input').fill(text);
  await page.locator(`[data-testid="sentiment-result"][data-state="${state}"]`).waitFor({ timeout: LOAD });
}

test('unreadable: a script the model does not read gets a notice, not a label', { timeout: 240_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/');
  await typeAndWait(page, RUSSIAN, 'unreadable');
  const notice = page.getByTestId('sentiment-unreadable');
  assert.equal(await notice.getAttribute('data-script'), 'cyrillic');
  assert.match(await notice.innerText(), /This model reads English or Chinese\. This text is written in Cyrillic letters/);
  assert.equal(await page.getByTestId('sentiment-label').count(), 0);
  assert.equal(await page.getByTestId('sentiment-words').count(), 0, 'no words behind an answer not given');
  await page.screenshot({ path: artifact('unreadable-en-1280.png') });
  // No model in the catalogue reads Cyrillic, so the way on is an example.
  await page.getByTestId('sentiment-try-example').click();
  await page.getByTestId('sentiment-label').waitFor({ timeout: LOAD });
  assert.equal(await page.getByTestId('sentiment-unreadable').count(), 0);
  assert.deepEqual(page.problems, []);
});

test('unreadable: Chinese on the English page is answered, and the badge names the model', { timeout: 240_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/');
  await typeAndWait(page, '这个产品很好，我非常喜欢', 'answer');
  assert.equal(await page.getByTestId('sentiment-label').getAttribute('data-label'), 'positive');
  assert.equal(await page.getByTestId('sentiment-answered-by').getAttribute('data-model'), 'sentiment');
  assert.match(await page.getByTestId('sentiment-answered-by').innerText(), /^Answered by /);
  await page.getByTestId('sentiment-words').waitFor({ timeout: LOAD });
  // Word by word: every highlighted piece is Chinese text from the sentence.
  const marks = await page.locator('[data-testid="sentiment-words"] mark').allInnerTexts();
  assert.ok(marks.length >= 4, `highlighted pieces: ${marks}`);
  assert.ok(marks.every((m) => '这个产品很好，我非常喜欢'.includes(m)));
  await typeAndWait(page, '这个产品太差了，我很失望', 'answer');
  await page.locator('[data-testid="sentiment-label"][data-label="negative"]').waitFor({ timeout: LOAD });
  assert.deepEqual(page.problems, []);
});

test('unreadable: the Chinese page offers Chinese examples and says it in Chinese', { timeout: 240_000 }, async () => {
  const page = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await page.goto(BASE + '/');
  await page.getByTestId('lang-switch').click();
  await page.waitForFunction(() => document.documentElement.lang === 'zh');
  const chip = page.locator('[data-testid="demo-sentiment"] [data-testid="example-1"]');
  assert.match(await chip.innerText(), /[\u4e00-\u9fff]/);
  await chip.click();
  await page.locator('[data-testid="sentiment-result"][data-state="answer"]').waitFor({ timeout: LOAD });
  assert.match(await page.getByTestId('sentiment-answered-by').innerText(), /作答/);
  await typeAndWait(page, RUSSIAN, 'unreadable');
  assert.match(await page.getByTestId('sentiment-unreadable').innerText(), /这个模型能读英文或中文。这段文字是西里尔字母/);
  await page.screenshot({ path: artifact('unreadable-zh-390.png'), fullPage: true });
  assert.deepEqual(page.problems, []);
});

test('unreadable: the SDK resolves with {unreadable: true} for classify and explain', { timeout: 240_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/sdk/example.html');
  const answers = await page.evaluate(async (text) => {
    const { pipeline } = await import('/sdk/vitrine.js');
    const sentiment = await pipeline('sentiment');
    return {
      classify: await sentiment(text),
      explain: await sentiment.explain(text),
      chinese: await sentiment('这部电影太无聊了，浪费时间'),
    };
  }, RUSSIAN);
  for (const answer of [answers.classify, answers.explain]) {
    assert.equal(answer.unreadable, true);
    assert.equal(answer.script, 'cyrillic');
    assert.deepEqual(answer.languages, ['en', 'zh']);
    assert.deepEqual(answer.readers, []);
    assert.equal(answer.model, 'sentiment');
    assert.match(answer.message, /reads English and Chinese/);
    assert.equal(answer.label, undefined);
  }
  assert.equal(answers.chinese.label, 'negative');
  assert.equal(answers.chinese.model, 'sentiment');
});

test('unreadable: the kiosk and the embed say so too, in their language', { timeout: 240_000 }, async () => {
  const page = await newPage(browser, { viewport: { width: 1920, height: 1080 } });
  await page.goto(BASE + '/kiosk');
  await page.getByTestId('kiosk-attract').click({ position: { x: 200, y: 300 } });
  await typeAndWait(page, RUSSIAN, 'unreadable');
  assert.match(await page.getByTestId('sentiment-unreadable').innerText(), /Cyrillic letters/);
  // The kiosk's touch targets stay at least 48 px tall.
  const button = await page.getByTestId('sentiment-try-example').boundingBox();
  assert.ok(button.height >= 48, `try-example button ${button.height}px`);

  const embed = await newPage(browser, { viewport: { width: 800, height: 900 } });
  await embed.goto(BASE + '/embed/sentiment?lang=zh');
  await typeAndWait(embed, RUSSIAN, 'unreadable');
  assert.match(await embed.getByTestId('sentiment-unreadable').innerText(), /西里尔字母/);
  assert.deepEqual([...page.problems, ...embed.problems], []);
});

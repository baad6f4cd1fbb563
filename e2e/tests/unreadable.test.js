// Text a model cannot read: no label, a notice in the visitor's language saying which languages
// the model reads, and a way on; the SDK resolves such text with `{ unreadable: true, … }`
// instead of a guess. The sentiment demo has two readers, English (`sentiment`) and Chinese
// (`sentiment-zh`): text goes to the one that reads its script, and the badge names it.
// Cyrillic and Japanese have no reader and are refused, and so is Latin text of which most
// word pieces are unknown to the English model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, artifact } from '../lib/browser.js';

const LOAD = 120_000;
const RUSSIAN = 'Это был отличный фильм, мне очень понравилось';
const CHINESE = '这个产品很好，我非常喜欢';
const CHINESE_NEGATIVE = '这个产品太差了，我很失望';
const JAPANESE = 'この映画はとても面白かったです';
// Latin letters win the script count, but the seven Han characters are half its word pieces,
// all unknown.
const MOSTLY_UNKNOWN = '这部电影很好看 but the ending was weak';
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
  assert.equal(await notice.getAttribute('role'), 'status');
  assert.match(await notice.innerText(), /^This model reads English\. This text is written in Cyrillic letters, so any label would be a guess\./);
  assert.equal(await page.getByTestId('sentiment-label').count(), 0);
  assert.equal(await page.getByTestId('sentiment-words').count(), 0, 'no words behind an answer not given');
  // No model in the catalogue reads Cyrillic, so the way on is an example; it is answered.
  await page.getByTestId('sentiment-try-example').click();
  await page.getByTestId('sentiment-label').waitFor({ timeout: LOAD });
  assert.equal(await page.getByTestId('sentiment-unreadable').count(), 0);
  assert.equal(await page.getByTestId('sentiment-answered-by').getAttribute('data-model'), 'sentiment');
  assert.match(await page.getByTestId('sentiment-answered-by').innerText(), /^Answered by MiniLM sentiment/);
  // Chinese on the English page: the Chinese reader answers, and the badge says so.
  for (const [text, label] of [[CHINESE, 'Positive'], [CHINESE_NEGATIVE, 'Negative']]) {
    await page.getByTestId('sentiment-input').fill(text);
    await page.locator('[data-testid="sentiment-answered-by"][data-model="sentiment-zh"]').waitFor({ timeout: LOAD });
    await page.waitForFunction((l) => document.querySelector('[data-testid="sentiment-label"]')?.textContent.includes(l), label, { timeout: LOAD });
    assert.match(await page.getByTestId('sentiment-answered-by').innerText(), /^Answered by MiniLM Chinese sentiment/);
  }
  // Its explanation is by Chinese character: every highlighted word is one.
  const words = await page.locator('[data-testid="sentiment-words"] mark').allInnerTexts();
  assert.ok(words.length >= 5, JSON.stringify(words));
  assert.ok(words.every((w) => [...w.trim()].length === 1), JSON.stringify(words));
  await page.screenshot({ path: artifact('unreadable-en-1280.png') });
  // Japanese: no reader, refused.
  await typeAndWait(page, JAPANESE, 'unreadable');
  assert.equal(await notice.getAttribute('data-script'), 'kana');
  // Mostly unknown word pieces: refused too, and said so (the state is already 'unreadable',
  // so wait for the notice of this text).
  await page.getByTestId('sentiment-input').fill(MOSTLY_UNKNOWN);
  await page.locator('[data-testid="sentiment-unreadable"][data-script="latin"]').waitFor({ timeout: LOAD });
  assert.match(await notice.innerText(), /Most of this text is made of words it does not know/);
  assert.deepEqual(page.problems, []);
});

test('unreadable: the Chinese page offers Chinese sentences, answered by the Chinese reader, on a phone', { timeout: 240_000 }, async () => {
  const page = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await page.goto(BASE + '/');
  await page.getByTestId('lang-switch').click();
  await page.waitForFunction(() => document.documentElement.lang === 'zh');
  await page.getByTestId('example-1').click();
  await page.locator('[data-testid="sentiment-result"][data-state="answer"]').waitFor({ timeout: LOAD });
  assert.match(await page.getByTestId('sentiment-input').inputValue(), /\p{Script=Han}/u, 'the first example is Chinese');
  assert.equal(await page.getByTestId('sentiment-answered-by').getAttribute('data-model'), 'sentiment-zh');
  assert.match(await page.getByTestId('sentiment-answered-by').innerText(), /MiniLM 中文情感模型/);
  // The Chinese reader's card shows the time of its own answer.
  assert.match(await page.getByTestId('model-latency-sentiment-zh').innerText(), /\d+(\.\d+)? ms/);
  // English on the Chinese page: the English reader.
  await page.getByTestId('sentiment-input').fill('What a wonderful film');
  await page.locator('[data-testid="sentiment-answered-by"][data-model="sentiment"]').waitFor({ timeout: LOAD });
  // A script no model reads: said in Chinese.
  await typeAndWait(page, RUSSIAN, 'unreadable');
  assert.match(await page.getByTestId('sentiment-unreadable').innerText(), /^这个模型能读英文。这段文字是西里尔字母，给出的任何结果都只是猜测。/);
  await page.screenshot({ path: artifact('unreadable-zh-390.png'), fullPage: true });
  await page.getByTestId('sentiment-try-example').click();
  await page.locator('[data-testid="sentiment-result"][data-state="answer"]').waitFor({ timeout: LOAD });
  assert.match(await page.getByTestId('sentiment-answered-by').innerText(), /作答/);
  assert.deepEqual(page.problems, []);
});

test('unreadable: the SDK resolves with {unreadable: true} for classify and explain', { timeout: 240_000 }, async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/sdk/example.html');
  const answers = await page.evaluate(async ([russian, japanese, chinese, unknown]) => {
    const { pipeline } = await import('/sdk/vitrine.js');
    const sentiment = await pipeline('sentiment');
    return {
      classify: await sentiment(russian),
      explain: await sentiment.explain(japanese),
      chinese: await sentiment.explain(chinese),
      unknown: await sentiment(unknown),
      english: await sentiment('What a wonderful film'),
    };
  }, [RUSSIAN, JAPANESE, CHINESE_NEGATIVE, MOSTLY_UNKNOWN]);
  for (const [answer, script] of [[answers.classify, 'cyrillic'], [answers.explain, 'kana']]) {
    assert.equal(answer.unreadable, true);
    assert.equal(answer.script, script);
    assert.equal(answer.reason, 'script');
    assert.deepEqual(answer.languages, ['en']);
    assert.deepEqual(answer.readers, []);
    assert.equal(answer.model, 'sentiment');
    assert.match(answer.message, /this model reads English, and this text is written in another script/);
    assert.equal(answer.label, undefined);
    assert.equal(answer.words, undefined);
  }
  // Chinese: routed to the Chinese reader, which answers and explains by character.
  assert.equal(answers.chinese.model, 'sentiment-zh');
  assert.equal(answers.chinese.prediction.label, 'negative');
  assert.ok(answers.chinese.words.length >= 5, JSON.stringify(answers.chinese.words));
  assert.equal(answers.unknown.unreadable, true);
  assert.equal(answers.unknown.script, 'latin');
  assert.equal(answers.unknown.reason, 'unknown-words');
  assert.ok(answers.unknown.unknownShare >= 0.5, JSON.stringify(answers.unknown));
  assert.match(answers.unknown.message, /does not know \d+% of this text's word pieces/);
  assert.equal(answers.english.label, 'positive');
  assert.equal(answers.english.model, 'sentiment');
});

test('unreadable: the kiosk and the embed say so too, in their language', { timeout: 240_000 }, async () => {
  const page = await newPage(browser, { viewport: { width: 1920, height: 1080 } });
  await page.goto(BASE + '/kiosk');
  await page.getByTestId('kiosk-attract').click({ position: { x: 200, y: 300 } });
  await typeAndWait(page, RUSSIAN, 'unreadable');
  assert.match(await page.getByTestId('sentiment-unreadable').innerText(), /Cyrillic letters/);
  // The kiosk's touch targets stay large.
  const button = await page.getByTestId('sentiment-try-example').boundingBox();
  assert.ok(button.height >= 48, `try-example button ${button.height}px`);

  const embed = await newPage(browser, { viewport: { width: 800, height: 900 } });
  await embed.goto(BASE + '/embed/sentiment?lang=zh');
  await typeAndWait(embed, RUSSIAN, 'unreadable');
  assert.match(await embed.getByTestId('sentiment-unreadable').innerText(), /西里尔字母/);
  assert.deepEqual([...page.problems, ...embed.problems], []);
});

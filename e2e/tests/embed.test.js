// Embeds on someone else's page: a host page on another origin (another local port, and
// `localhost` rather than 127.0.0.1, so it is another site too) pastes the one-line loader; the
// iframe sizes itself to its content, follows the theme and language attributes, sets no cookies
// and asks nothing of anyone but its own server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { BASE, launch, artifact } from '../lib/browser.js';

const LOAD = 120_000;
let browser;
let host;
let hostUrl;

function hostPage(attributes) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Partner page</title></head>
<body style="margin:0;font-family:sans-serif"><main style="max-width:720px;margin:0 auto;padding:16px">
<h1>A partner's article</h1><p>Some text before the demo.</p>
<script src="${BASE}/embed.js" ${attributes}></script>
<p id="after">Some text after the demo.</p></main></body></html>`;
}

before(async () => {
  browser = await launch();
  host = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const pages = {
      '/sentiment': hostPage('data-demo="sentiment" data-theme="light" data-lang="zh"'),
      '/image': hostPage('data-demo="image"'),
    };
    const body = pages[url.pathname];
    res.writeHead(body ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body ?? 'not found');
  });
  await new Promise((resolve) => host.listen(0, '127.0.0.1', resolve));
  hostUrl = `http://localhost:${host.address().port}`;
});
after(async () => {
  await browser?.close();
  await new Promise((resolve) => host?.close(resolve));
});

/** Opens a host page and records every request's origin. */
async function openHost(path) {
  const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
  const page = await context.newPage();
  const origins = new Set();
  const problems = [];
  page.on('request', (req) => origins.add(new URL(req.url()).origin));
  page.on('pageerror', (err) => problems.push(err.message));
  context.on('weberror', (err) => problems.push(err.error().message));
  await page.goto(hostUrl + path);
  const frame = await (await page.waitForSelector('iframe[data-vitrine-demo]')).contentFrame();
  return { context, page, frame, origins, problems };
}

/** Waits until the iframe's height equals the demo's content height (within a pixel). */
async function fitted(page, frame) {
  let last;
  for (let i = 0; i < 100; i += 1) {
    const inner = await frame.evaluate(() => Math.ceil(document.querySelector('main').getBoundingClientRect().height));
    const outer = await page.evaluate(() => document.querySelector('iframe').getBoundingClientRect().height);
    last = { inner, outer };
    if (Math.abs(inner - outer) <= 1) return last;
    await page.waitForTimeout(100);
  }
  assert.fail(`the iframe never fitted its content: ${JSON.stringify(last)}`);
}

test('embed: the loader inserts an iframe that sizes itself, themed and translated by attribute', { timeout: 240_000 }, async () => {
  const { context, page, frame, origins, problems } = await openHost('/sentiment');
  assert.equal(new URL(frame.url()).origin, BASE);
  assert.equal(new URL(frame.url()).pathname, '/embed/sentiment');
  // The frame sits where the script was.
  assert.equal(await page.evaluate(() => document.querySelector('script[data-demo]').nextElementSibling.tagName), 'IFRAME');
  await frame.getByTestId('page-embed-sentiment').waitFor();
  assert.equal(await frame.evaluate(() => document.documentElement.lang), 'zh');
  assert.match(await frame.evaluate(() => document.documentElement.className), /theme-light/);
  const before = await fitted(page, frame);

  await frame.getByTestId('sentiment-input').fill('A wonderful surprise from start to finish');
  await frame.locator('[data-testid="sentiment-label"][data-label="positive"]').waitFor({ timeout: LOAD });
  await frame.getByTestId('sentiment-words').locator('mark').first().waitFor({ timeout: 30_000 });
  const grown = await fitted(page, frame);
  assert.ok(grown.outer > before.outer, `the frame grew with its content (${before.outer} → ${grown.outer})`);
  // No scrollbar inside the frame.
  assert.ok(await frame.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight + 1));
  assert.equal(await frame.getByTestId('share-button').count(), 0);
  assert.equal(await frame.locator('a[href]').count(), 0);
  await page.screenshot({ path: artifact('embed-sentiment-host.png'), fullPage: true });

  assert.deepEqual(await context.cookies(), []);
  assert.equal(await frame.evaluate(() => document.cookie), '');
  assert.deepEqual([...origins].sort(), [BASE, hostUrl].sort(), 'no third-party requests');
  assert.deepEqual(problems, []);
  await context.close();
});

test('embed: the image demo in a frame classifies a sample and refits', { timeout: 240_000 }, async () => {
  const { context, page, frame, origins, problems } = await openHost('/image');
  await frame.getByTestId('page-embed-image').waitFor();
  assert.match(await frame.evaluate(() => document.documentElement.className), /theme-dark/);
  await fitted(page, frame);
  await frame.getByTestId('sample-parrot').click();
  await frame.getByTestId('image-top5').waitFor({ timeout: LOAD });
  assert.equal(await frame.getByTestId('image-class').count(), 5);
  await fitted(page, frame);
  assert.deepEqual(await context.cookies(), []);
  assert.deepEqual([...origins].sort(), [BASE, hostUrl].sort());
  assert.deepEqual(problems, []);
  await page.screenshot({ path: artifact('embed-image-host.png'), fullPage: true });
  await context.close();
});

test('embed: only /embed/* may be framed by other sites', async () => {
  const embed = await fetch(BASE + '/embed/image');
  assert.match(embed.headers.get('content-security-policy'), /frame-ancestors \*/);
  const kiosk = await fetch(BASE + '/kiosk');
  assert.match(kiosk.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  const loader = await fetch(BASE + '/embed.js');
  assert.equal(loader.status, 200);
  assert.match(loader.headers.get('content-type'), /javascript/);
  assert.equal(loader.headers.get('set-cookie'), null);
});

// Regenerates docs/landing.png, the README's picture of the landing page: desktop size, with the
// hero's sentiment demo showing a real answer and its highlighted words.
//   VITRINE_URL=http://127.0.0.1:8080 node scripts/readme-screenshot.mjs ../docs/landing.png
import { BASE, launch, newPage } from '../lib/browser.js';

const out = process.argv[2] ?? '../docs/landing.png';
const browser = await launch();
try {
  const page = await newPage(browser, { viewport: { width: 1440, height: 900 } });
  await page.goto(BASE + '/');
  await page.locator('[data-testid="load-progress-sentiment"][data-state="ready"]').waitFor({ timeout: 120_000 });
  await page.getByTestId('sentiment-input').fill('The soundtrack is gorgeous, but the ending felt rushed and flat.');
  await page.getByTestId('sentiment-words').waitFor({ timeout: 30_000 });
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
}

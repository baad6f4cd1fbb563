// Screenshots for a person to look at (not a test): the landing page in en and zh, at phone and
// desktop sizes, full page, with the sentiment demo answered.
//   VITRINE_URL=http://127.0.0.1:8080 node scripts/look.mjs OUT_DIR
import { BASE, launch, newPage } from '../lib/browser.js';

const out = process.argv[2] ?? '.';
const sizes = { phone: { width: 390, height: 844 }, desktop: { width: 1440, height: 900 } };
const browser = await launch();
try {
  for (const lang of ['en', 'zh']) {
    for (const [name, viewport] of Object.entries(sizes)) {
      const page = await newPage(browser, { viewport });
      await page.addInitScript((code) => localStorage.setItem('vitrine.locale', code), lang);
      await page.goto(`${BASE}/`);
      await page.locator('[data-testid="load-progress-sentiment"][data-state="ready"]').waitFor({ timeout: 120_000 });
      await page.waitForTimeout(1500);
      const path = `${out}/landing-${lang}-${name}.png`;
      await page.screenshot({ path, fullPage: true });
      console.log(`wrote ${path}`);
      await page.close();
    }
  }
} finally {
  await browser.close();
}

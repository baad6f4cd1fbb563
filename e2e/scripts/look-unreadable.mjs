// Screenshots for a person to look at (not a test): the sentiment demo's answer to a text it
// cannot read and to a Chinese sentence, in en and zh, at phone and desktop sizes (the demo only).
//   VITRINE_URL=http://127.0.0.1:8080 node scripts/look-unreadable.mjs OUT_DIR
import { BASE, launch, newPage } from '../lib/browser.js';

const out = process.argv[2] ?? '.';
const sizes = { phone: { width: 390, height: 844 }, desktop: { width: 1440, height: 900 } };
const inputs = { cyrillic: 'Это был отличный фильм', chinese: '这个产品很好，我非常喜欢' };
const browser = await launch();
try {
  for (const lang of ['en', 'zh']) {
    for (const [size, viewport] of Object.entries(sizes)) {
      const page = await newPage(browser, { viewport });
      await page.addInitScript((code) => localStorage.setItem('vitrine.locale', code), lang);
      await page.goto(`${BASE}/`);
      for (const [name, text] of Object.entries(inputs)) {
        await page.getByTestId('sentiment-input').fill(text);
        await page.locator('[data-testid="sentiment-result"]:not([data-state="empty"])').waitFor({ timeout: 120_000 });
        await page.waitForTimeout(1500);
        const path = `${out}/sentiment-${name}-${lang}-${size}.png`;
        await page.getByTestId('demo-sentiment').screenshot({ path });
        console.log(`wrote ${path}`);
      }
      await page.close();
    }
  }
} finally {
  await browser.close();
}

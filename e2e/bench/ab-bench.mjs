// A/B latency of two builds of the site, served side by side (e.g. this checkout and an older
// commit's dist/ on another port): the same sentence and photo, rounds alternating which build
// goes first, so a shared machine's load falls on both alike. Medians are measured inside the
// worker around the engine call, like `cargo xtask bench`.
//   VITRINE_A=http://127.0.0.1:8080 VITRINE_B=http://127.0.0.1:8091 node bench/ab-bench.mjs [ROUNDS]
// VITRINE_PAGE: the same-origin page the SDK is imported on (default /insights, which loads no
// model by itself; an older build's server may be unavailable, so any static file will do, as long
// as both sites are served alike). VITRINE_ENGINES picks engines of wasm, threads and webgpu
// (default wasm,threads); webgpu runs on Chromium's software adapter (SwiftShader): it compares the
// two builds' GPU code on the same adapter, not what a real GPU would do.
import { launch } from '../lib/browser.js';

const SITES = { A: process.env.VITRINE_A, B: process.env.VITRINE_B };
const ROUNDS = Number(process.argv[2] ?? 3);
const SENTENCE = 'The soundtrack is gorgeous, but the ending felt rushed and flat, and I wanted more of it.';
const PAGE = process.env.VITRINE_PAGE ?? '/insights';
// The page query and the SDK backend of each engine.
const ALL_ENGINES = {
  wasm: { query: '?threads=0', backend: 'wasm' },
  threads: { query: '', backend: 'wasm' },
  webgpu: { query: '?threads=0', backend: 'webgpu' },
};
const ENGINES = Object.fromEntries(
  Object.entries(ALL_ENGINES).filter(([name]) => (process.env.VITRINE_ENGINES ?? 'wasm,threads').split(',').includes(name)),
);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(browser, base, { query, backend }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}${PAGE}${query}`);
  const result = await page.evaluate(async ([sentence, backend]) => {
    const sdk = await import('/sdk/vitrine.js');
    const times = async (run, input, warm, n) => {
      for (let i = 0; i < warm; i++) await run(input);
      const ms = [];
      for (let i = 0; i < n; i++) ms.push((await run(input)).ms);
      return ms;
    };
    const text = await sdk.pipeline('sentiment', { backend });
    const image = await sdk.pipeline('image', { backend });
    const photo = await (await fetch('/samples/owl.jpg')).blob();
    return {
      sentiment: await times(text, sentence, 3, 40),
      image: await times(image, photo, 2, 20),
      threads: (await text(sentence)).threads,
      backends: [(await text(sentence)).backend, (await image(photo)).backend],
    };
  }, [SENTENCE, backend]);
  await context.close();
  return result;
}

const browser = await launch(ENGINES.webgpu ? ['--enable-unsafe-webgpu'] : []);
const medians = {};
try {
  for (const [engine, how] of Object.entries(ENGINES)) {
    for (let round = 0; round < ROUNDS; round++) {
      for (const site of round % 2 ? ['B', 'A'] : ['A', 'B']) {
        const r = await measure(browser, SITES[site], how);
        for (const task of ['sentiment', 'image']) {
          ((medians[`${engine} ${task}`] ??= { A: [], B: [] })[site]).push(median(r[task]));
        }
        console.error(`${engine} round ${round} ${site}: sentiment ${median(r.sentiment).toFixed(2)} ms, image ${median(r.image).toFixed(2)} ms (${r.threads} threads, ${r.backends.join(' + ')})`);
      }
    }
  }
} finally {
  await browser.close();
}
console.log('| engine, model | A median of rounds (ms) | B (ms) | A / B |');
console.log('|---|---|---|---|');
for (const [what, { A, B }] of Object.entries(medians)) {
  const a = median(A);
  const b = median(B);
  console.log(`| ${what} | ${a.toFixed(2)} (${A.map((x) => x.toFixed(1)).join(', ')}) | ${b.toFixed(2)} (${B.map((x) => x.toFixed(1)).join(', ')}) | ${(a / b).toFixed(3)} |`);
}

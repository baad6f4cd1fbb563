// Vitrine's service worker, registered by the kiosk (`/kiosk`) so a booth keeps working when
// the venue network drops.
//
// - Install: stores the app shell listed in `/precache.json` (written by `cargo xtask build`:
//   every built file except the models) and makes sure both models are in the inference worker's
//   own cache, `vitrine-models-v1`, under the worker's keys (`<file>?sha256=<digest>`). The
//   worker then finds them there, so the 29 MB of models are stored once, not twice.
// - Fetch: content-hashed files (Trunk's `name-<16 hex>.ext`) never change: cache first.
//   Everything else (pages, SDK, config) goes to the network first, with the stored copy as the
//   offline fallback; a page address that is not stored gets the stored app page, which routes
//   itself. Model downloads and the API pass straight through (the worker handles models).
// - A newer `/precache.json` (a new deployment) refreshes the shell and prunes stale files.

const SHELL = 'vitrine-shell-v1';
const MODELS = 'vitrine-models-v1'; // shared with /sdk/worker.js: keep names and keys in step
const PRECACHE = '/precache.json';
const APP_PAGE = '/index.html';
// Trunk's hash is a u64 printed without leading zeros: 8 to 16 digits (as server/src/site.rs).
const HASHED = /-[0-9a-f]{8,16}(_bg)?\.[a-z0-9]+$/;
const NETWORK_TIMEOUT_MS = 4000;

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

async function fetchOk(url, init) {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`HTTP ${res.status} for ${url}`);
  return res;
}

/** Stores every file of the shell list; an unchanged version is skipped. */
async function precacheShell() {
  const res = await fetchOk(PRECACHE, { cache: 'no-cache' });
  const list = await res.clone().json();
  const cache = await caches.open(SHELL);
  const stored = await cache.match(PRECACHE);
  if (stored && (await stored.json()).version === list.version) return;
  const urls = list.files.map((f) => new URL(f, self.location.origin).href);
  // `no-cache` revalidates with the server, so a stale HTTP-cache copy never gets precached.
  await cache.addAll(urls.map((url) => new Request(url, { cache: 'no-cache' })));
  const keep = new Set([...urls, new URL(PRECACHE, self.location.origin).href]);
  for (const request of await cache.keys()) {
    if (!keep.has(request.url)) await cache.delete(request);
  }
  await cache.put(PRECACHE, res);
}

/** Puts each model the manifest names into the worker's cache, verified, unless it is there. */
async function precacheModels() {
  const manifestUrl = new URL('/models/manifest.json', self.location.origin).href;
  const res = await fetchOk(manifestUrl, { cache: 'no-cache' });
  const manifest = await res.clone().json();
  const cache = await caches.open(MODELS);
  await cache.put(manifestUrl, res);
  for (const entry of Object.values(manifest.models ?? {})) {
    const key = new URL(`/models/${entry.file}?sha256=${entry.sha256}`, self.location.origin).href;
    if (await cache.match(key)) continue;
    const bytes = await (await fetchOk(new URL(`/models/${entry.file}`, self.location.origin))).arrayBuffer();
    const digest = hex(await crypto.subtle.digest('SHA-256', bytes));
    if (digest !== entry.sha256.toLowerCase()) throw new Error(`${entry.file} failed its sha256 check`);
    await cache.put(key, new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } }));
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    await precacheShell();
    await precacheModels();
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('vitrine-shell-') && name !== SHELL) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('network timeout')), ms);
    promise.then((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
  });
}

async function cacheFirst(request) {
  const cache = await caches.open(SHELL);
  const hit = await cache.match(request);
  if (hit) return hit;
  const res = await fetch(request);
  if (res.ok) await cache.put(request, res.clone());
  return res;
}

async function networkFirst(request, fallback) {
  const cache = await caches.open(SHELL);
  try {
    const res = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
    // Refresh only what the shell already holds, so the cache never grows with stray URLs.
    const key = fallback ?? request;
    if (res.ok && (await cache.match(key))) await cache.put(key, res.clone());
    return res;
  } catch (error) {
    const hit = (await cache.match(request)) ?? (fallback && (await cache.match(fallback)));
    if (hit) return hit;
    throw error;
  }
}

let refreshed = false;

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/models/') || url.pathname.startsWith('/api/') || url.pathname === PRECACHE) return;
  if (request.mode === 'navigate') {
    event.respondWith(networkFirst(request, APP_PAGE));
    // Once per worker start, while online: pick up a new deployment's shell.
    if (!refreshed) {
      refreshed = true;
      event.waitUntil(precacheShell().catch(() => { refreshed = false; }));
    }
    return;
  }
  event.respondWith(HASHED.test(url.pathname) ? cacheFirst(request) : networkFirst(request));
});

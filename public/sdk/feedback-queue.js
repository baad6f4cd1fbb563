// Vitrine feedback outbox: submissions wait in IndexedDB until the server acknowledges them,
// so a kiosk on flaky Wi-Fi loses nothing. Each submission carries its own id (a UUID) that
// the server uses as an idempotency key: a retry after a lost acknowledgement never
// duplicates a record. Retries back off exponentially (1 s … 5 min, with jitter) and restart
// at once when the browser comes back online.
//
// The page preloads this module (so a visitor who goes offline can still queue), but only
// what the visitor agreed to send is ever put in the outbox: without consent nothing is sent.
//
//   const q = await import('/sdk/feedback-queue.js');
//   await q.enqueue({ id: crypto.randomUUID(), visit: { speed: 5, stability: 4, usability: 5 } });
//   await q.pending();   // how many are still waiting
//   await q.clear();     // consent withdrawn: forget what was not sent yet

const DB_NAME = 'vitrine-feedback';
const STORE = 'outbox';
const ENDPOINT = '/api/feedback';
const MAX_DELAY_MS = 5 * 60 * 1000;

let dbPromise = null;
let timer = null;
let flushing = null;
let again = false;

function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'id' });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

async function withStore(mode, action) {
  const conn = await db();
  return new Promise((resolve, reject) => {
    const tx = conn.transaction(STORE, mode);
    const req = action(tx.objectStore(STORE));
    // Resolve on commit, not on the request: a put is only safe once its transaction is durable.
    tx.oncomplete = () => resolve(req ? req.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

const all = () => withStore('readonly', (s) => s.getAll());
const put = (item) => withStore('readwrite', (s) => s.put(item));
const remove = (id) => withStore('readwrite', (s) => s.delete(id));

/** Exponential backoff with jitter: attempt 1 waits ~1 s, then 2 s, 4 s … capped at 5 min. */
export function backoffMs(attempts) {
  const ceiling = Math.min(1000 * 2 ** Math.max(0, attempts - 1), MAX_DELAY_MS);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function notify(detail) {
  window.dispatchEvent(new CustomEvent('vitrine-feedback', { detail }));
}

function flushIn(ms) {
  clearTimeout(timer);
  timer = setTimeout(() => { flush(); }, Math.max(0, ms));
}

/** Stores `submission` (which must have an `id`) and tries to send it straight away. */
export async function enqueue(submission) {
  if (!submission || typeof submission.id !== 'string') throw new Error('a submission needs an id');
  await put({ id: submission.id, body: JSON.stringify(submission), attempts: 0, nextAt: 0, queuedAt: Date.now() });
  notify({ id: submission.id, state: 'queued' });
  flush();
  return submission.id;
}

export async function pending() {
  return (await all()).length;
}

export async function clear() {
  clearTimeout(timer);
  await withStore('readwrite', (s) => s.clear());
}

async function send(item) {
  try {
    const res = await fetch(ENDPOINT, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: item.body,
      credentials: 'omit',
      cache: 'no-store',
    });
    if (res.ok) return 'sent';
    // 408, 429 and 5xx are the server's or the network's trouble: try again later. Any other
    // 4xx will never succeed (the server said why); keeping it would block nothing but retry forever.
    if (res.status === 408 || res.status === 429 || res.status >= 500) return 'retry';
    console.warn(`feedback ${item.id} refused: HTTP ${res.status} ${await res.text()}`);
    return 'refused';
  } catch (_) {
    return 'retry'; // offline, DNS, connection reset: the request may or may not have arrived
  }
}

/** Sends everything that is due; one flush at a time (a call during one runs another after). */
export function flush() {
  if (flushing) { again = true; return flushing; }
  flushing = (async () => {
    let soonest = Infinity;
    for (const item of await all()) {
      const now = Date.now();
      if (item.nextAt > now) { soonest = Math.min(soonest, item.nextAt); continue; }
      if (!navigator.onLine) break; // the 'online' listener below resumes
      const outcome = await send(item);
      if (outcome === 'retry') {
        item.attempts += 1;
        item.nextAt = Date.now() + backoffMs(item.attempts);
        await put(item);
        soonest = Math.min(soonest, item.nextAt);
      } else {
        await remove(item.id);
        notify({ id: item.id, state: outcome });
      }
    }
    if (soonest < Infinity) flushIn(soonest - Date.now());
  })().finally(() => {
    flushing = null;
    if (again) { again = false; flush(); }
  });
  return flushing;
}

window.addEventListener('online', () => { flush(); });

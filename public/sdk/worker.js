// The inference worker. Everything heavy (model download, checksum, inference) happens here so
// the page never freezes. Requests are `{ id, type, args }`; answers `{ id, ok, result | error }`,
// or `{ id, progress }` while a long request runs.

import init, * as engine from './model-wasm.js';

// Starts compiling the engine as soon as the worker starts, before the first request arrives.
const ready = init();

const handlers = {
  engineInfo: () => engine.engineInfo(),
};

self.addEventListener('message', async ({ data }) => {
  const { id, type, args } = data ?? {};
  try {
    await ready;
    const handler = handlers[type];
    if (!handler) throw new Error(`unknown request "${type}"`);
    const result = await handler(args ?? {}, (progress) => self.postMessage({ id, progress }));
    self.postMessage({ id, ok: true, result });
  } catch (error) {
    self.postMessage({ id, ok: false, error: String(error?.message ?? error) });
  }
});

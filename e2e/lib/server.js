// A private Vitrine server for tests that must stop it (the kiosk's offline reload): the same
// binary and dist/ that `cargo xtask serve` uses, on a free port.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts the server; resolves with `{ url, stop }` once /healthz answers. */
export async function startServer() {
  const port = await freePort();
  const child = spawn(process.env.VITRINE_SERVER_BIN ?? path.join(ROOT, 'target/release/server'), {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), VITRINE_DIST: process.env.VITRINE_DIST ?? path.join(ROOT, 'dist'), RUST_LOG: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('the test server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) { resolve(); return; }
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  return { url, stop };
}

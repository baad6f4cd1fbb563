// The native build's answers on the suite's inputs, written by `cargo xtask test` before the
// browser suite (VITRINE_NATIVE_REFERENCE). Tests compare the browser's answers with them.
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';

const PATH = process.env.VITRINE_NATIVE_REFERENCE;
const reference = PATH && existsSync(PATH) ? JSON.parse(readFileSync(PATH, 'utf8')) : null;

/**
 * The native reference, for test context `t`. Where it is missing the test skips, saying why;
 * under CI (`CI` set) that would hide a broken step, so the test fails instead.
 */
export function nativeReference(t) {
  if (reference) return reference;
  const why = `no native reference at ${PATH ?? '(VITRINE_NATIVE_REFERENCE is unset)'}; \`cargo xtask test\` writes it`;
  if (process.env.CI) assert.fail(`${why} (CI is set: a test that cannot run fails instead of skipping)`);
  t.skip(why);
  return null;
}

/** The probability a text answer (`{ scores: [{ label, score }] }`) gives `label`. */
export function scoreOf(answer, label) {
  const found = answer.scores?.find((s) => s.label === label);
  assert.ok(found, `the answer has no score for "${label}": ${JSON.stringify(answer)}`);
  return found.score;
}

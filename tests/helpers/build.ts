import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

/**
 * vitest globalSetup: the driftwatch binary that tests spawn runs the compiled dist/,
 * so bring it up to date with the source first (`tsc -b` is incremental: a second
 * run with nothing changed takes a few seconds). Type errors are the type check's
 * business (`npm test` runs it first); this only needs the JavaScript emitted.
 */
export default function setup(): void {
  const root = resolve(import.meta.dirname, '../..');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-b'], { cwd: root, stdio: 'pipe' });
  } catch {
    // Emitted anyway; the type check reports the errors.
  }
}

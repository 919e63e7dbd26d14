#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm run build`, which `npm ci` runs as `prepare`).
// DRIFTWATCH_FROM_SOURCE=1 runs the TypeScript source through tsx instead, for development.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/main.js', import.meta.url);
let main;
if (process.env.DRIFTWATCH_FROM_SOURCE === '1' || !existsSync(compiled)) {
  if (process.env.DRIFTWATCH_FROM_SOURCE !== '1') process.stderr.write('driftwatch: not built yet (run `npm run build`); running from source, which starts slowly\n');
  const { register } = await import('tsx/esm/api');
  register({ conditions: ['source'] });
  ({ main } = await import('../src/main.ts'));
} else {
  ({ main } = await import(compiled.href));
}
// Every command has closed what it opened by the time main resolves; exit without
// waiting on anything a dependency may have left scheduled.
process.exit(await main(process.argv.slice(2)));

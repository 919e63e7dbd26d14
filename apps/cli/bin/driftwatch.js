#!/usr/bin/env node
// Runs the CLI from its TypeScript source through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
// Every command has closed what it opened by the time main resolves; exit without
// waiting on anything a dependency may have left scheduled.
process.exit(await main(process.argv.slice(2)));

import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on the module `name` beside `self` (an import.meta.url): the
 * compiled `name.js` when `self` is compiled JS (the CLI and services run dist/), or
 * `name.ts` through tsx's loader when `self` is TypeScript source (vitest, tsx): the thread
 * registers tsx first, then imports the .ts file. Worker threads start as plain Node,
 * without the parent's loaders, hence the two ways.
 */
export function startModuleThread(self: string, name: string, opts: WorkerOptions = {}): Worker {
  if (self.endsWith('.js')) return new Worker(new URL(`./${name}.js`, self), opts);
  const threadUrl = new URL(`./${name}.ts`, self).href;
  const tsxApi = pathToFileURL(createRequire(fileURLToPath(self)).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(threadUrl)}); });`;
  return new Worker(boot, { ...opts, eval: true });
}

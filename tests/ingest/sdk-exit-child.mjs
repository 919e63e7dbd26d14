// A tiny application using @driftwatch/sdk (its built dist/), for sdk-exit.test.ts.
//   node sdk-exit-child.mjs URL PREFIX COUNT MAXBATCH drain|sigterm
// drain:   logs COUNT interactions and returns: no flush(), no shutdown(); the event loop drains.
// sigterm: logs COUNT interactions, then waits for SIGTERM in its own handler, which awaits
//          shutdown() and exits (the pattern the SDK's documentation asks for).
import { Driftwatch } from '@driftwatch/sdk';

const [url, prefix, count, maxBatch, mode] = process.argv.slice(2);
const errors = [];
// A long interval: only a full batch (maxBatch) or the exit path sends anything.
const dw = new Driftwatch({ baseUrl: url, flushIntervalMs: 600_000, maxBatch: Number(maxBatch), backoffMs: 100, onError: (e) => errors.push(e) });
for (let k = 0; k < Number(count); k++) dw.log.interaction({ model: 'exit-bot', query: `question ${k}`, response: 'answer' }, { id: `${prefix}-${k}` });
process.on('exit', (code) => process.stderr.write(`${JSON.stringify({ code, stats: dw.stats, errors })}\n`));
if (mode === 'sigterm') {
  const alive = setInterval(() => {}, 1000);
  process.on('SIGTERM', async () => {
    clearInterval(alive);
    await dw.shutdown();
    process.exit(0);
  });
  process.stdout.write('ready\n');
}

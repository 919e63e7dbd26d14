/**
 * A fleet's throughput: N models (default 1,000) x 3 monitors + their triggers through the
 * real queues, on the embedded default (PGlite on its thread, statistics on the pool), all
 * in one process as `driftwatch start` runs them. Per model and window: 300 query
 * embeddings, 300 interactions, 100 evaluations. Prints the time of the runs, jobs per
 * second and the cores used (this process's CPU time over wall time, threads included).
 *
 *   npm run bench:fleet [-- --models 1000 --dim 64 --monitor-concurrency 4]
 *
 * Needs a Redis (REDIS_URL or 127.0.0.1:6379); uses its own key prefix and removes it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Job, QueueEvents } from 'bullmq';
import { pino } from 'pino';
import {
  OfflineModerationProvider,
  PgliteThreadDb,
  Queues,
  WORKER_QUEUES,
  deploymentConfigSchema,
  driftConfigSchema,
  loadEnvironment,
  migrate,
  redisConnection,
  statsPool,
  windowsFor,
  type AppContext,
} from '@driftwatch/core';
import { startWorkers } from '@driftwatch/workers';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: '1000' },
    dim: { type: 'string', default: '64' },
    'monitor-concurrency': { type: 'string', default: '4' },
    'trigger-concurrency': { type: 'string', default: '8' },
  },
});
const M = Number(values.models);
const dim = Number(values.dim);
const PER = { embeddings: 300, interactions: 300, evaluations: 100 };
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `dwbench-fleet-${process.pid}`;

const dataDir = mkdtempSync(join(tmpdir(), 'driftwatch-bench-fleet-'));
const db = await PgliteThreadDb.open(dataDir);
await migrate(db);
const now = new Date();
const w = windowsFor(now, 30, 7);
const names = Array.from({ length: M }, (_, i) => `model-${String(i).padStart(4, '0')}`);

const t0 = performance.now();
for (const [win, shift] of [[w.baseline, 0], [w.current, 0.3]] as const) {
  // In chunks of 50 models: one INSERT per table per chunk, generated in SQL.
  for (let m0 = 0; m0 < M; m0 += 50) {
    const chunk = names.slice(m0, m0 + 50);
    const args = [chunk, win.start, win.end];
    await db.query(
      `INSERT INTO embeddings_log (model, ts, embedding, dim)
       SELECT m, $2::timestamptz + random() * ($3::timestamptz - $2::timestamptz),
              (SELECT array_agg((random() + $5::real * (k % 2))::real) FROM generate_series(1, $4) AS k WHERE g > 0)::vector, $4
         FROM unnest($1::text[]) AS m, generate_series(1, ${PER.embeddings}) AS g`,
      [...args, dim, shift],
    );
    await db.query(
      `INSERT INTO interaction_log (model, ts, query, response, latency_ms, feedback_score, task_success, toxic)
       SELECT m, $2::timestamptz + random() * ($3::timestamptz - $2::timestamptz), 'question ' || g,
              CASE WHEN random() < 0.03 THEN 'I cannot help with that.' ELSE 'Here is how: step ' || g END,
              200 + (random() * 300)::int, 3 + (random() * 2)::int, random() < 0.9, false
         FROM unnest($1::text[]) AS m, generate_series(1, ${PER.interactions}) AS g`,
      args,
    );
    await db.query(
      `INSERT INTO evaluation_log (model, ts, item_id, correct)
       SELECT m, $2::timestamptz + random() * ($3::timestamptz - $2::timestamptz), 'item-' || g, random() < 0.9
         FROM unnest($1::text[]) AS m, generate_series(1, ${PER.evaluations}) AS g`,
      args,
    );
  }
}
await db.query('ANALYZE');
const seedS = (performance.now() - t0) / 1000;

const config = driftConfigSchema.parse({ models: names.map((name) => ({ name })), actions: { dry_run: true } });
const deployment = deploymentConfigSchema.parse({
  queues: { monitor: { concurrency: Number(values['monitor-concurrency']) }, trigger: { concurrency: Number(values['trigger-concurrency']) } },
});
const producer = redisConnection(redisUrl, 'producer');
const workerConn = redisConnection(redisUrl, 'worker');
const queues = new Queues(producer, prefix, deployment);
const ctx: AppContext = {
  env: loadEnvironment({ ...process.env, DRIFTWATCH_QUEUE_PREFIX: prefix }),
  config,
  deployment,
  db,
  queues,
  providers: { moderation: new OfflineModerationProvider() } as AppContext['providers'],
  clock: { now: () => now },
  logger: pino({ level: 'silent' }),
};
const workers = await startWorkers(ctx, workerConn, [...WORKER_QUEUES]);
const events = new QueueEvents('trigger', { connection: workerConn.duplicate(), prefix });
await events.waitUntilReady();

const { startRun } = await import('@driftwatch/core');
const c0 = process.cpuUsage();
const r0 = performance.now();
let done = 0;
let failed = 0;
const finished = new Promise<void>((resolve) => {
  const check = () => done + failed >= M && resolve();
  events.on('completed', () => (done++, check()));
  events.on('failed', () => (failed++, check()));
});
const ids = [];
for (const model of names) ids.push((await startRun(queues, { model, now, dry_run: true })).trigger_job_id);
const progress = setInterval(() => process.stderr.write(`  ${done + failed}/${M} runs finished after ${((performance.now() - r0) / 1000).toFixed(0)} s\n`), 15_000);
await finished;
clearInterval(progress);
const wall = (performance.now() - r0) / 1000;
const cpu = process.cpuUsage(c0);
const cores = (cpu.user + cpu.system) / 1e6 / wall;
const sample = await Job.fromId(queues.get('trigger'), ids[0]);
const timings = (await db.query<{ monitor: string; t: Record<string, number> }>(`SELECT monitor, result->'timings_ms' AS t FROM drift_runs WHERE model = $1`, [names[0]])).rows;

console.log(`fleet: ${M} models x 3 monitors + ${M} triggers = ${M * 4} jobs; ${PER.embeddings} embeddings (dim ${dim}), ${PER.interactions} interactions, ${PER.evaluations} evaluations per model and window`);
console.log(`embedded PGlite (own thread), statistics pool of ${statsPool().size} thread(s), monitor concurrency ${values['monitor-concurrency']}, one process, ${availableParallelism()} cores`);
console.log(`seeding: ${seedS.toFixed(0)} s`);
console.log(`runs: ${wall.toFixed(1)} s for ${done} completed, ${failed} failed; ${((M * 4) / wall).toFixed(1)} jobs/s; ${cores.toFixed(2)} cores used by this process (of ${availableParallelism()})`);
console.log(`first model's stored timings_ms: ${JSON.stringify(Object.fromEntries(timings.map((r) => [r.monitor, r.t])))}`);
console.log(`first trigger: ${sample ? await sample.getState() : 'gone'}`);

await Promise.all(workers.map((wk) => wk.close()));
await events.close();
await queues.close();
const keys = await producer.keys(`${prefix}:*`);
for (let i = 0; i < keys.length; i += 500) await producer.del(...keys.slice(i, i + 500));
producer.disconnect();
workerConn.disconnect();
await statsPool().close();
await db.close();
rmSync(dataDir, { recursive: true, force: true });

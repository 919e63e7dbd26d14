/**
 * A fleet's throughput: N models (default 1,000) x 3 monitors + their triggers through the
 * real queues, on the embedded default (PGlite on its thread, statistics on the pool), all
 * in one process as `driftwatch start` runs them. Per model and window: 300 query
 * embeddings, 300 interactions, 100 evaluations. Prints the time of the runs, jobs per
 * second and the cores used (this process's CPU time over wall time, threads included).
 *
 *   npm run bench:fleet [-- --models 1000 --dim 64 --monitor-concurrency 4]
 *   npm run bench:fleet -- --processes 2     # 2 worker processes on one database through `pg`
 *
 * With --processes N the workers run in N child processes (this script again, --role worker)
 * that share one database through the `pg` adapter. No Postgres with pgvector runs here, so
 * that database is PGlite behind the PGlite socket server (tests/helpers/pglite-server.ts) in
 * this parent process: one WASM Postgres answering one query at a time for every process,
 * which a real Postgres does not do. Its CPU is counted in the parent's figure.
 *
 * Needs a Redis (REDIS_URL or 127.0.0.1:6379); uses its own key prefix and removes it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Job, QueueEvents } from 'bullmq';
import { pino } from 'pino';
import {
  OfflineModerationProvider,
  PgDb,
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
  type Db,
  type Queryable,
} from '@driftwatch/core';
import { startWorkers } from '@driftwatch/workers';
import { startSharedPostgres } from '../tests/helpers/pglite-server.js';
import { threadTimes, threadsSince } from './threads.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: '1000' },
    dim: { type: 'string', default: '64' },
    'monitor-concurrency': { type: 'string', default: '4' },
    'trigger-concurrency': { type: 'string', default: '8' },
    /** Count the runs' queries by statement and print the costliest (wall time as seen by the caller). */
    'trace-queries': { type: 'boolean', default: false },
    /** 0: the workers run in this process on the embedded default; N: in N child processes sharing one database through `pg`. */
    processes: { type: 'string', default: '0' },
    /** Internal: 'worker' for the child processes of --processes. */
    role: { type: 'string', default: 'main' },
    now: { type: 'string' },
    prefix: { type: 'string' },
  },
});
const processes = Number(values.processes);
const M = Number(values.models);
const dim = Number(values.dim);
const PER = { embeddings: 300, interactions: 300, evaluations: 100 };
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = values.prefix ?? `dwbench-fleet-${process.pid}`;
const names = Array.from({ length: M }, (_, i) => `model-${String(i).padStart(4, '0')}`);
const config = driftConfigSchema.parse({ models: names.map((name) => ({ name })), actions: { dry_run: true } });
const deployment = deploymentConfigSchema.parse({
  queues: { monitor: { concurrency: Number(values['monitor-concurrency']) }, trigger: { concurrency: Number(values['trigger-concurrency']) } },
});
const traced = new Map<string, { n: number; ms: number }>();

/** What a worker process runs on: the same context in this process and in --processes children. */
function contextFor(db: Db, queues: Queues, now: Date): AppContext {
  return {
    env: loadEnvironment({ ...process.env, DRIFTWATCH_QUEUE_PREFIX: prefix }),
    config,
    deployment,
    db: values['trace-queries'] ? tracing(db) : db,
    queues,
    providers: { moderation: new OfflineModerationProvider() } as AppContext['providers'],
    clock: { now: () => now },
    logger: pino({ level: 'silent' }),
  };
}

if (values.role === 'worker') {
  // A child of --processes: serve the queues until the parent says stop, then report CPU.
  const db = new PgDb(process.env.DATABASE_URL!, { max: 4 });
  const producer = redisConnection(redisUrl, 'producer');
  const conn = redisConnection(redisUrl, 'worker');
  const queues = new Queues(producer, prefix, deployment);
  const workers = await startWorkers(contextFor(db, queues, new Date(values.now!)), conn, ['monitor', 'trigger']);
  let c0 = process.cpuUsage();
  let th0 = threadTimes();
  process.on('message', async (m: string) => {
    if (m === 'start') {
      c0 = process.cpuUsage();
      th0 = threadTimes();
      return;
    }
    const cpu = process.cpuUsage(c0);
    const th = threadsSince(th0);
    await Promise.all(workers.map((wk) => wk.close()));
    await queues.close();
    producer.disconnect();
    conn.disconnect();
    await statsPool().close();
    await db.close();
    process.send!({ cpu: (cpu.user + cpu.system) / 1e6, threads: th }, () => process.exit(0));
  });
  process.send!('ready');
  await new Promise(() => {});
}

const started = performance.now();
const phase = (what: string) => process.stderr.write(`  ${((performance.now() - started) / 1000).toFixed(1)} s: ${what}\n`);
const dataDir = mkdtempSync(join(tmpdir(), 'driftwatch-bench-fleet-'));
const shared = processes > 0 ? await startSharedPostgres() : undefined;
const db: Db = shared ? shared.db : await PgliteThreadDb.open(dataDir);
if (!shared) await migrate(db);
phase('database open and migrated');
const now = new Date();
const w = windowsFor(now, 30, 7);

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
// VACUUM and CHECKPOINT as the steady state of a live database has them: rows ingested over
// weeks have long had their hint bits set and their pages written out (autovacuum, the
// checkpointer). Without them the first read of 37 days of rows bulk-loaded a moment ago
// sets every row's hint bits and writes every page out during the runs, a cost a daily
// run pays only for the day's new rows.
await db.exec('VACUUM ANALYZE');
await db.exec('CHECKPOINT');
phase('seeded');
const seedS = (performance.now() - t0) / 1000;

const producer = redisConnection(redisUrl, 'producer');
const workerConn = redisConnection(redisUrl, 'worker');
const queues = new Queues(producer, prefix, deployment);
const workers = shared ? [] : await startWorkers(contextFor(db, queues, now), workerConn, [...WORKER_QUEUES]);
const children = shared ? await startChildren(processes, shared.url) : [];
// QueueEvents leaves a connection it was given open at close(): keep it to disconnect at the end.
const eventsConn = workerConn.duplicate();
const events = new QueueEvents('trigger', { connection: eventsConn, prefix });
await events.waitUntilReady();

phase('workers started');
const { startRun } = await import('@driftwatch/core');
for (const c of children) c.send('start');
const c0 = process.cpuUsage();
const th0 = threadTimes();
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
phase('runs added');
const progress = setInterval(() => process.stderr.write(`  ${done + failed}/${M} runs finished after ${((performance.now() - r0) / 1000).toFixed(0)} s\n`), 15_000);
await finished;
clearInterval(progress);
const wall = (performance.now() - r0) / 1000;
const own = process.cpuUsage(c0);
const th = threadsSince(th0);
const reports = await Promise.all(children.map(stopChild));
const cpu = (own.user + own.system) / 1e6 + reports.reduce((a, r) => a + r.cpu, 0);
const cores = cpu / wall;
for (const r of reports) (th.cpu += r.threads.cpu), (th.wait += r.threads.wait), th.busiest.push(...r.threads.busiest);
th.busiest.sort((a, b) => b.cpu - a.cpu);
th.busiest.length = Math.min(th.busiest.length, 6);
const sample = await Job.fromId(queues.get('trigger'), ids[0]);
const timings = (await db.query<{ monitor: string; t: Record<string, number> }>(`SELECT monitor, result->'timings_ms' AS t FROM drift_runs WHERE model = $1`, [names[0]])).rows;

console.log(`fleet: ${M} models x 3 monitors + ${M} triggers = ${M * 4} jobs; ${PER.embeddings} embeddings (dim ${dim}), ${PER.interactions} interactions, ${PER.evaluations} evaluations per model and window`);
console.log(
  shared
    ? `${processes} worker processes (monitor, trigger), each with a statistics pool of ${statsPool().size} thread(s) and monitor concurrency ${values['monitor-concurrency']}, on one database through the pg adapter: PGlite behind the PGlite socket server in the parent process (no Postgres with pgvector here; it answers one query at a time for all processes), ${availableParallelism()} cores`
    : `embedded PGlite (own thread), statistics pool of ${statsPool().size} thread(s), monitor concurrency ${values['monitor-concurrency']}, one process, ${availableParallelism()} cores`,
);
console.log(`seeding: ${seedS.toFixed(0)} s`);
console.log(`runs: ${wall.toFixed(1)} s for ${done} completed, ${failed} failed; ${((M * 4) / wall).toFixed(1)} jobs/s; ${cores.toFixed(2)} cores used by ${shared ? `the ${processes} workers and the parent (database, producer)` : 'this process'} (of ${availableParallelism()})`);
console.log(`threads: ${th.cpu.toFixed(1)} s CPU + ${th.wait.toFixed(1)} s waiting for a core = ${((th.cpu + th.wait) / wall).toFixed(2)} cores wanted; busiest threads (CPU s / run-queue s): ${th.busiest.map((t) => `${t.cpu.toFixed(1)}/${t.wait.toFixed(1)}`).join(', ')}; load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log(`first model's stored timings_ms: ${JSON.stringify(Object.fromEntries(timings.map((r) => [r.monitor, r.t])))}`);
console.log(`first trigger: ${sample ? await sample.getState() : 'gone'}`);
// Mean stored timings over every run (the first model's include each thread's warm-up).
const means = (await db.query<{ monitor: string; k: string; ms: number }>(
  `SELECT monitor, t.key AS k, avg(t.value::float8) AS ms FROM drift_runs, jsonb_each_text(result->'timings_ms') AS t
    WHERE t.value ~ '^[0-9.]+$' GROUP BY monitor, t.key ORDER BY monitor, ms DESC`,
)).rows;
for (const m of ['embedding', 'behavior', 'accuracy']) {
  const parts = means.filter((r) => r.monitor === m && Number(r.ms) >= 0.5);
  if (parts.length) console.log(`mean timings_ms, ${m}: ${parts.map((r) => `${r.k} ${Number(r.ms).toFixed(1)}`).join(', ')}`);
}

if (traced.size) {
  const rows = [...traced].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15);
  console.log(`queries: ${[...traced.values()].reduce((s, q) => s + q.n, 0)} in all; costliest (count, total ms as awaited, statement):`);
  for (const [sql, q] of rows) console.log(`  ${String(q.n).padStart(6)} ${q.ms.toFixed(0).padStart(8)}  ${sql}`);
}

await Promise.all(workers.map((wk) => wk.close()));
await events.close();
await queues.close();
const keys = await producer.keys(`${prefix}:*`);
for (let i = 0; i < keys.length; i += 500) await producer.del(...keys.slice(i, i + 500));
producer.disconnect();
workerConn.disconnect();
eventsConn.disconnect();
await statsPool().close();
await db.close();
await shared?.close();
rmSync(dataDir, { recursive: true, force: true });

/** The database with every query counted and timed by its statement (--trace-queries). */
function tracing(inner: Db): Db {
  const timed = <T>(q: Queryable, sql: string, params?: readonly unknown[]) => {
    const key = sql.replace(/\s+/g, ' ').trim().slice(0, 110);
    const t0 = performance.now();
    return q.query<T>(sql, params).finally(() => {
      const e = traced.get(key) ?? { n: 0, ms: 0 };
      e.n++;
      e.ms += performance.now() - t0;
      traced.set(key, e);
    });
  };
  return {
    kind: inner.kind,
    query: (sql, params) => timed(inner, sql, params),
    exec: (sql) => inner.exec(sql),
    transaction: (fn) => inner.transaction((tx) => fn({ query: (sql, params) => timed(tx, sql, params), exec: (sql) => tx.exec(sql) })),
    close: () => inner.close(),
  } as Db;
}

/** Starts the --processes children (this script, --role worker) and waits until each serves its queues. */
async function startChildren(n: number, databaseUrl: string): Promise<ChildProcess[]> {
  const args = ['--role', 'worker', '--models', String(M), '--now', now.toISOString(), '--prefix', prefix,
    '--monitor-concurrency', String(values['monitor-concurrency']), '--trigger-concurrency', String(values['trigger-concurrency'])];
  return Promise.all(
    Array.from({ length: n }, () => {
      const child = fork(new URL(import.meta.url).pathname, args, { env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      return new Promise<ChildProcess>((resolve, reject) => {
        child.once('message', () => resolve(child));
        child.once('exit', (code) => reject(new Error(`a worker process exited (code ${code}) before it was ready`)));
      });
    }),
  );
}

/** Stops a child and returns the CPU it used since 'start' (its threads included). */
function stopChild(child: ChildProcess): Promise<{ cpu: number; threads: ReturnType<typeof threadsSince> }> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as { cpu: number; threads: ReturnType<typeof threadsSince> }));
    child.send('stop');
  });
}

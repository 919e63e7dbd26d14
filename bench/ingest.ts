/**
 * Ingest throughput: POST /v1/ingest's write path (validation, PII scrubbing, idempotency
 * claims, one multi-row statement per table per chunk) for batches of 100 interactions,
 * with and without 1,536-d query embeddings, on the embedded default (PGlite with a data
 * folder on disk, on its own thread, as openDb() opens it without DATABASE_URL), on PGlite
 * in the main thread (DRIFTWATCH_PGLITE_THREAD=0) and through the `pg` adapter. Prints
 * events/s, p50/p99 per batch and the longest single chunk transaction (what holds the
 * embedded database at once).
 *
 *   npm run bench:ingest [-- --batches 30 --dim 1536 --pg postgres://...]
 *   npm run bench:ingest -- --breakdown      where the CPU of a batch with vectors goes
 *
 * Without --pg (or DATABASE_URL), the pg row talks to an in-memory PGlite behind the
 * PGlite socket server: it times the pg adapter's code path, but the database is PGlite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PgDb, PgliteDb, PgliteThreadDb, createScrubber, ingestBatch, migrate, valuesList, type Db } from '@driftwatch/core';
import { startSharedPostgres } from '../tests/helpers/pglite-server.js';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '30' },
    size: { type: 'string', default: '100' },
    dim: { type: 'string', default: '1536' },
    pg: { type: 'string', default: process.env.DATABASE_URL ?? '' },
    breakdown: { type: 'boolean', default: false },
  },
});
const batches = Number(values.batches);
const size = Number(values.size);
const dim = Number(values.dim);
const scrub = createScrubber();

/** Wraps a Db so that each transaction (one chunk) is timed. */
function timed(db: Db, chunkMs: number[]): Db {
  return new Proxy(db, {
    get(target, prop, recv) {
      if (prop === 'transaction') {
        return async (fn: Parameters<Db['transaction']>[0]) => {
          const t0 = performance.now();
          try {
            return await target.transaction(fn);
          } finally {
            chunkMs.push(performance.now() - t0);
          }
        };
      }
      const v = Reflect.get(target, prop, recv);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

let seq = 0;
function batch(withEmb: boolean, run: string) {
  return Array.from({ length: size }, () => {
    const k = seq++;
    const body: Record<string, unknown> = {
      model: 'bench-bot', query: `How do I get a refund for order ${k}? Mail me at user${k}@example.com`, response: 'Refunds take five working days from the day we receive the item.',
      latency_ms: 120 + (k % 50), prompt_tokens: 40, completion_tokens: 25, cost_usd: 0.0001,
    };
    if (withEmb) body.embedding = Array.from({ length: dim }, (_, j) => Math.round(Math.sin(k * 7 + j) * 1e6) / 1e6);
    return { id: `${run}-${k}`, type: 'interaction', body };
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function measure(name: string, db: Db, withEmb: boolean) {
  const chunkMs: number[] = [];
  const t = timed(db, chunkMs);
  // Warm up (statement caches, first vector parse).
  await ingestBatch(t, batch(withEmb, `warm-${name}-${withEmb}`), { scrub, computeEmbeddings: false });
  chunkMs.length = 0;
  const perBatch: number[] = [];
  const payloads = Array.from({ length: batches }, () => batch(withEmb, `${name}-${withEmb}`));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (const b of payloads) {
    const s = performance.now();
    const r = await ingestBatch(t, b, { scrub, computeEmbeddings: false });
    if (r.errors.length) throw new Error(`${r.errors.length} errors: ${r.errors[0].message}`);
    perBatch.push(performance.now() - s);
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  return { db: name, embeddings: withEmb ? `${dim}-d` : 'none', events_per_s: Math.round((batches * size) / secs), events_per_cpu_s: Math.round((batches * size) / cpuSecs), p50_ms: +pct(perBatch, 50).toFixed(1), p99_ms: +pct(perBatch, 99).toFixed(1), max_chunk_tx_ms: +Math.max(...chunkMs).toFixed(1) };
}

/**
 * --breakdown: CPU ms per 100 interactions with vectors on PGlite in the main thread (so the
 * process's CPU is the database's): the whole ingestBatch and its SQL statements, then
 * the vectors alone: made into text in JS, passed as text, cast to vector without storing,
 * inserted into a table without indexes, into embeddings_log with its indexes. Medians of
 * --batches runs after a warm-up.
 */
async function breakdown() {
  const cpuMs = async (f: () => Promise<unknown>) => {
    const c0 = process.cpuUsage();
    await f();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  };
  const dir = mkdtempSync(join(tmpdir(), 'driftwatch-bench-ingest-'));
  const db = await PgliteDb.open(join(dir, 'data'));
  await migrate(db);
  await db.exec(`CREATE TABLE bare_vectors (id bigserial PRIMARY KEY, model text, source text, interaction_id bigint, embedding vector, dim int)`);
  let sqlMs = 0;
  const out: Record<string, number[]> = {};
  const add = (k: string, ms: number) => (out[k] ??= []).push(ms);
  for (let r = 0; r <= batches; r++) {
    const b = batch(true, `breakdown-${r}`);
    sqlMs = 0;
    // Counts the CPU of each statement of the chunk transactions.
    const timedTx: Db = new Proxy(db, {
      get(target, prop, recv) {
        if (prop === 'transaction') {
          return (fn: Parameters<Db['transaction']>[0]) =>
            target.transaction((tx) =>
              fn({
                exec: (sql: string) => tx.exec(sql),
                query: async (sql: string, params?: readonly unknown[]) => {
                  const c0 = process.cpuUsage();
                  try {
                    return await tx.query(sql, params);
                  } finally {
                    const c = process.cpuUsage(c0);
                    sqlMs += (c.user + c.system) / 1000;
                  }
                },
              } as never),
            );
        }
        const v = Reflect.get(target, prop, recv);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const total = await cpuMs(() => ingestBatch(timedTx, b, { scrub, computeEmbeddings: false }));
    const vectors = b.map((e) => e.body.embedding as number[]);
    let texts: string[] = [];
    const toText = await cpuMs(async () => (texts = vectors.map((v) => `[${v.join(',')}]`)));
    const plain = valuesList(texts.map((t) => [t]));
    const cast = valuesList(texts.map((t) => [t]), ['$::vector']);
    const passed = await cpuMs(() => db.query(`SELECT count(*) FROM (VALUES ${plain.sql}) v(e)`, plain.params));
    const parsed = await cpuMs(() => db.query(`SELECT count(*) FROM (VALUES ${cast.sql}) v(e)`, cast.params));
    const ins = (table: string) => {
      const v = valuesList(texts.map((t, k) => ['bench-bot', 'query', k, t, dim]), [null, null, '$::bigint', '$::vector', '$::int']);
      return cpuMs(() => db.query(`INSERT INTO ${table} (model, source, interaction_id, embedding, dim) VALUES ${v.sql}`, v.params));
    };
    const bare = await ins('bare_vectors');
    const full = await ins('embeddings_log');
    if (r === 0) continue;
    add('ingestBatch, whole', total);
    add('  its SQL statements', sqlMs);
    add('  the rest (validation, scrubbing, hashes, vector text)', total - sqlMs);
    add(`vectors: to text in JS`, toText);
    add('vectors: passed as text to PGlite, no cast', passed);
    add('vectors: cast ::vector, not stored', parsed);
    add('vectors: INSERT into a table without indexes', bare);
    add('vectors: INSERT into embeddings_log (its indexes)', full);
  }
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`\nCPU ms per ${size} interactions with ${dim}-d vectors, PGlite in the main thread (median of ${batches}):\n`);
  console.table(Object.entries(out).map(([what, xs]) => ({ what, cpu_ms: +med(xs).toFixed(1) })));
  const [load1] = (await import('node:os')).loadavg();
  console.log(`load average ${load1.toFixed(1)}`);
}

if (values.breakdown) {
  await breakdown();
  process.exit(0);
}

const rows: Record<string, unknown>[] = [];
const dir = mkdtempSync(join(tmpdir(), 'driftwatch-bench-ingest-'));
const thread = await PgliteThreadDb.open(join(dir, 'thread'));
await migrate(thread);
rows.push(await measure('embedded default (PGlite thread)', thread, false));
rows.push(await measure('embedded default (PGlite thread)', thread, true));
await thread.close();
const lite = await PgliteDb.open(join(dir, 'main'));
await migrate(lite);
rows.push(await measure('PGlite in the main thread', lite, false));
rows.push(await measure('PGlite in the main thread', lite, true));
await lite.close();
rmSync(dir, { recursive: true, force: true });

let pgName: string;
let pg: PgDb;
let closePg: () => Promise<void>;
if (values.pg) {
  pg = new PgDb(values.pg);
  await migrate(pg);
  pgName = 'pg adapter (Postgres)';
  closePg = () => pg.close();
} else {
  const shared = await startSharedPostgres({ maxConnections: 1 });
  pg = shared.db;
  pgName = 'pg adapter (PGlite socket)';
  closePg = () => shared.close();
}
rows.push(await measure(pgName, pg, false));
rows.push(await measure(pgName, pg, true));
await closePg();

console.log(`\nPOST /v1/ingest write path: ${batches} batches of ${size} interactions (scrubbed, idempotency claims, multi-row inserts; chunks of 200 rows / ~600 KB)\n`);
console.table(rows);
const [load1] = (await import('node:os')).loadavg();
console.log(`load average ${load1.toFixed(1)} on ${(await import('node:os')).cpus().length} cores while measuring. events_per_cpu_s counts this process's CPU (all its threads: PGlite, its thread and the socket server run in it), so it does not depend on what else the machine runs.`);

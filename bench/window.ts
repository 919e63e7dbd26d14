/**
 * A monitor run costs what its sample costs, not what its window holds.
 * Grows the windows themselves (10k -> 1M query embeddings spread over the 37 days of the
 * baseline and current windows, on the embedded default (PGlite on its own thread, on disk)) and prints per size:
 * the sampling of both windows (2,000 rows each) and the whole embedding monitor
 * (sampling + statistics, as a monitor job runs it, config defaults).
 *
 *   npm run bench:window [-- --dim 256 --sizes 10000,100000,1000000 --sample 2000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PgliteThreadDb, driftConfigSchema, migrate, sampleEmbeddings, windowsFor, type SampleStats } from '@driftwatch/core';
import { computeMonitor } from '@driftwatch/workers';
import { threadTimes, threadsSince } from './threads.js';

const { values } = parseArgs({
  options: {
    dim: { type: 'string', default: '256' },
    sizes: { type: 'string', default: '10000,100000,1000000' },
    sample: { type: 'string', default: '2000' },
    'max-minutes': { type: 'string', default: '40' },
  },
});
const dim = Number(values.dim);
const sizes = values.sizes!.split(',').map(Number);
const sample = Number(values.sample);
const deadline = Date.now() + Number(values['max-minutes']) * 60_000;

const dataDir = mkdtempSync(join(tmpdir(), 'driftwatch-bench-window-'));
// The embedded default: PGlite on its own thread (openDb without DATABASE_URL).
const db = await PgliteThreadDb.open(dataDir);
await migrate(db);
const now = new Date();
const w = windowsFor(now, 30, 7);
const config = driftConfigSchema.parse({ models: [{ name: 'bench' }], embedding_thresholds: { max_sample: sample } });
const moderation = { moderate: async (texts: string[]) => texts.map(() => ({ flagged: false, score: 0 })) };

/** Inserts n rows of random vectors spread over [from, to), generated in SQL (no client-side parsing). */
async function insert(n: number, from: Date, to: Date) {
  for (let done = 0; done < n; done += 5000) {
    const k = Math.min(5000, n - done);
    await db.query(
      `INSERT INTO embeddings_log (model, ts, embedding, dim)
       SELECT 'bench', $1::timestamptz + (random() * ($2::timestamptz - $1::timestamptz)),
              (SELECT array_agg(random()::real) FROM generate_series(1, $3) WHERE g > 0)::vector, $3
         FROM generate_series(1, $4) AS g`,
      [from, to, dim, k],
    );
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`dim ${dim}, sample ${sample} per window, rows spread over the 37 days of the two windows (embedded PGlite on its own thread, on disk); load average at start ${(await import('node:os')).loadavg()[0].toFixed(1)}\n`);
console.log('load s: the insert, then VACUUM ANALYZE and CHECKPOINT (hint bits set, pages written out, as in a live database).');
console.log('sampling: both windows, a new seed each time (cold rows), median of 5; cpu = this process\'s CPU time, which includes the');
console.log('embedded database and is what a busy machine cannot inflate. whole monitor: sampling + statistics (pool thread), median of 3.\n');
console.log('run-queue ms: time the main and database threads were ready to run but waited for a core (the machine\'s load);');
console.log('wall - cpu - run-queue is mostly waiting on the disk (cold pages).\n');
console.log('window rows     load s   sampling ms   sampling cpu ms   run-queue ms   index entries read   whole monitor ms   rss MB');
let total = 0;
let first: { sampling: number; whole: number } | undefined;
for (const size of sizes) {
  if (Date.now() > deadline) {
    console.log(`(stopped before ${size} rows: --max-minutes ${values['max-minutes']} reached)`);
    break;
  }
  const ti = performance.now();
  if (size > total) {
    await insert(size - total, w.baseline.start, w.current.end);
    total = size;
  }
  // VACUUM and CHECKPOINT, as a live database has them: rows ingested over days have had their
  // hint bits set and their pages written out long before a run samples them (a daily run with
  // one seed reads nearly the same rows every day). Without them the first read of rows
  // bulk-loaded a moment ago sets hint bits, and every page it reads in evicts a dirty one and
  // writes it: at 1M rows about 5,000 page writes a sampling, a cost of loading, not of sampling.
  await db.exec('VACUUM ANALYZE embeddings_log');
  await db.exec('CHECKPOINT');
  const insertS = (performance.now() - ti) / 1000;
  const times: number[] = [];
  const cpus: number[] = [];
  const queued: number[] = [];
  let scanned = 0;
  for (let i = 0; i < 5; i++) {
    const sb: SampleStats = { rounds: 0, scanned: 0 };
    const sc: SampleStats = { rounds: 0, scanned: 0 };
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const th0 = threadTimes();
    // Ids from the index and the chosen rows' vectors by key, one statement a round: exactly what a monitor does.
    const b = await sampleEmbeddings(db, 'bench', w.baseline, sample, 42 + i, sb);
    const c = await sampleEmbeddings(db, 'bench', w.current, sample, 42 + i, sc);
    times.push(performance.now() - t0);
    const cu = process.cpuUsage(c0);
    cpus.push((cu.user + cu.system) / 1000);
    // The sampling is a chain of round trips between this thread and the database's: the two busiest threads.
    queued.push(threadsSince(th0, 2).busiest.reduce((a, t) => a + t.wait, 0) * 1000);
    scanned = sb.scanned + sc.scanned;
    // 7 of the 37 days are current: at 10k rows that window holds fewer rows than the sample.
    if (b.rows !== sample || c.rows < Math.min(sample, Math.floor(size * 0.15))) throw new Error(`sampled ${b.rows}/${c.rows} rows`);
  }
  const whole: number[] = [];
  let timings: Record<string, number> | undefined;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const { result } = await computeMonitor({ db, config, moderation }, 'bench', 'embedding', now);
    whole.push(performance.now() - t0);
    timings = result.timings_ms;
  }
  const s = median(times);
  const m = median(whole);
  first ??= { sampling: s, whole: m };
  const rss = process.memoryUsage().rss / 2 ** 20;
  console.log(
    `${String(total).padStart(11)}   ${insertS.toFixed(0).padStart(8)}   ${s.toFixed(0).padStart(11)}   ${median(cpus).toFixed(0).padStart(15)}   ${median(queued).toFixed(0).padStart(12)}   ${String(scanned).padStart(18)}   ${m.toFixed(0).padStart(16)}   ${rss.toFixed(0).padStart(6)}`,
  );
  console.log(`              stored timings_ms of the last run: ${JSON.stringify(timings)}`);
}
if (first) console.log(`\ngoal: flat within 2x from the first size to the last, sampling < 1000 ms at 1M. machine load average now: ${(await import('node:os')).loadavg()[0].toFixed(1)} on ${(await import('node:os')).availableParallelism()} cores`);
const plan = await db.query<{ 'QUERY PLAN': string }>(
  `EXPLAIN SELECT id, sample_key FROM embeddings_log WHERE model = 'bench' AND source = 'query'
     AND (ts AT TIME ZONE 'UTC')::date = ANY($1::date[]) AND sample_key >= 0.5 AND sample_key < 0.501 AND ts >= $2 AND ts < $3`,
  [['2026-01-01', '2026-01-02'], w.current.start, w.current.end],
);
console.log('\nplan of one key-range read:\n' + plan.rows.map((r) => '  ' + r['QUERY PLAN']).join('\n'));
await db.close();
rmSync(dataDir, { recursive: true, force: true });

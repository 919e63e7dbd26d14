/**
 * A monitor window costs what its sample costs, not what the history costs.
 * Grows embeddings_log with older history (10k -> 200k rows) while the current window
 * stays the same, and times the monitor's SQL sampling of baseline and current windows.
 *
 *   npm run bench:window [-- --dim 256 --sizes 10000,50000,100000,200000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PgliteDb, migrate, sampleEmbeddings, windowsFor } from '@driftwatch/core';

const { values } = parseArgs({ options: { dim: { type: 'string', default: '256' }, sizes: { type: 'string', default: '10000,50000,100000,200000' }, sample: { type: 'string', default: '2000' } } });
const dim = Number(values.dim);
const sizes = values.sizes!.split(',').map(Number);
const sample = Number(values.sample);
const DAY = 86_400_000;

// On disk, as the embedded default runs: the table's pages are not held in this process's memory.
const dataDir = mkdtempSync(join(tmpdir(), 'driftwatch-bench-window-'));
const db = await PgliteDb.open(dataDir);
await migrate(db);
const now = new Date();
const w = windowsFor(now, 30, 7);

/** Inserts n rows of random vectors spread over [from, to) in SQL (no client-side parsing). */
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

// The window the monitor reads: 5,000 rows in each of baseline and current.
await insert(5000, w.current.start, w.current.end);
await insert(5000, w.baseline.start, w.baseline.end);
let total = 10_000;
console.log(`dim ${dim}, sample ${sample} per window; rows outside the windows are older history\n`);
console.log('table rows   sample ms (median of 5)   rss MB   heap MB');
for (const size of sizes) {
  if (size > total) {
    await insert(size - total, new Date(w.baseline.start.getTime() - 365 * DAY), w.baseline.start);
    total = size;
  }
  await db.query('ANALYZE embeddings_log');
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const b = await sampleEmbeddings(db, 'bench', w.baseline, sample);
    const c = await sampleEmbeddings(db, 'bench', w.current, sample);
    times.push(performance.now() - t0);
    if (b.rows !== sample || c.rows !== sample) throw new Error(`sampled ${b.rows}/${c.rows} rows, expected ${sample}`);
  }
  times.sort((a, b) => a - b);
  const mem = process.memoryUsage();
  console.log(`${String(total).padStart(10)}   ${times[2].toFixed(0).padStart(22)}   ${(mem.rss / 2 ** 20).toFixed(0).padStart(6)}   ${(mem.heapUsed / 2 ** 20).toFixed(0).padStart(7)}`);
}
const plan = await db.query<{ 'QUERY PLAN': string }>(
  `EXPLAIN SELECT embedding::text FROM embeddings_log WHERE model = 'bench' AND source = 'query' AND ts >= $1 AND ts < $2 ORDER BY sample_key LIMIT $3`,
  [w.current.start, w.current.end, sample],
);
console.log('\nplan:\n' + plan.rows.map((r) => '  ' + r['QUERY PLAN']).join('\n'));
await db.close();
rmSync(dataDir, { recursive: true, force: true });

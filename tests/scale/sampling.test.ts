import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDb, sampleEmbeddings, sampleIds, sampleInteractions, sampleStart, windowsFor, type SampleStats } from '@driftwatch/core';
import { migrateScale } from './schema.js';

/**
 * The window sampler: exactly the rows of the window with the smallest (sample_key - s) mod 1
 * (so uniform and reproducible for a seed), whatever the window holds, while reading a small
 * multiple of the sample from the index.
 */
describe('window sampling', () => {
  let db: PgliteDb;
  const now = new Date('2026-06-15T12:00:00Z');
  const w = windowsFor(now, 30, 7);

  beforeAll(async () => {
    db = await PgliteDb.open('memory://');
    await migrateScale(db);
    // 'small': 3,000 rows over the windows; 'big': 20,000 rows over the windows plus 20,000 of older history.
    const ins = (model: string, n: number, from: Date, to: Date) =>
      db.query(
        `INSERT INTO embeddings_log (model, ts, embedding, dim)
         SELECT $1, $2::timestamptz + random() * ($3::timestamptz - $2::timestamptz), ('[' || g || ',1]')::vector, 2 FROM generate_series(1, $4) AS g`,
        [model, from, to, n],
      );
    await ins('small', 3000, w.baseline.start, w.current.end);
    await ins('big', 20_000, w.baseline.start, w.current.end);
    await ins('big', 20_000, new Date(w.baseline.start.getTime() - 200 * 86_400_000), w.baseline.start);
    // Rows of other sources and models never enter a sample.
    await db.query(`INSERT INTO embeddings_log (model, ts, embedding, dim, source) SELECT 'small', $1, '[0,0]', 2, 'response' FROM generate_series(1, 500)`, [w.current.start]);
    await db.query(
      `INSERT INTO interaction_log (model, ts, query, response) SELECT 'small', $1::timestamptz + random() * ($2::timestamptz - $1::timestamptz), 'q' || g, 'r' || g FROM generate_series(1, 2000) AS g`,
      [w.baseline.start, w.current.end],
    );
    await db.query('ANALYZE');
  });
  afterAll(async () => db?.close());

  /** The definition, by brute force over the whole window. */
  async function reference(model: string, win: { start: Date; end: Date }, limit: number, seed: number): Promise<number[]> {
    const s = sampleStart(seed, model);
    const { rows } = await db.query<{ id: number }>(
      `SELECT id FROM embeddings_log WHERE model = $1 AND source = 'query' AND ts >= $2 AND ts < $3
        ORDER BY CASE WHEN sample_key >= $4 THEN sample_key - $4 ELSE sample_key - $4 + 1 END, id LIMIT $5`,
      [model, win.start, win.end, s, limit],
    );
    return rows.map((r) => r.id);
  }

  it('is exactly the seeded smallest-key sample of the window, for both windows, sizes and seeds', async () => {
    for (const model of ['small', 'big']) {
      for (const win of [w.baseline, w.current]) {
        for (const [limit, seed] of [[400, 7], [2000, 7], [2000, 8], [100_000, 1]] as const) {
          const got = await sampleIds(db, 'embeddings_log', model, win, limit, seed);
          expect(got).toEqual(await reference(model, win, limit, seed));
        }
      }
    }
  });

  it('is reproducible for a seed and differs between seeds', async () => {
    const a = await sampleIds(db, 'embeddings_log', 'big', w.current, 500, 42);
    const b = await sampleIds(db, 'embeddings_log', 'big', w.current, 500, 42);
    const c = await sampleIds(db, 'embeddings_log', 'big', w.current, 500, 43);
    expect(a).toEqual(b);
    const overlap = c.filter((id) => new Set(a).has(id)).length;
    expect(overlap).toBeLessThan(100); // two independent 500-of-~11k samples share ~22 rows
  });

  it('reads a small multiple of the sample whatever the window and history hold', async () => {
    for (const model of ['small', 'big']) {
      const st: SampleStats = { rounds: 0, scanned: 0 };
      await sampleIds(db, 'embeddings_log', model, w.baseline, 400, 3, st);
      expect(st.scanned).toBeLessThan(400 * 4);
    }
  });

  it('reads a window smaller than the sample in two rounds (a fleet of small models: one query fewer each)', async () => {
    // 'small' holds about 570 rows in the current window: the first key range (aimed at a million rows) finds none in
    // about a third of the seeds, which took three rounds before.
    for (let seed = 1; seed <= 10; seed++) {
      const st: SampleStats = { rounds: 0, scanned: 0 };
      const ids = await sampleIds(db, 'embeddings_log', 'small', w.current, 2000, seed, st);
      expect(ids).toEqual(await reference('small', w.current, 2000, seed));
      expect(st.rounds).toBeLessThanOrEqual(2);
    }
  });

  it("reads a model's next window in one round, guided by how dense its last one was; the sample does not depend on the guess", async () => {
    for (const [model, limit] of [['small', 2000], ['big', 500]] as const) {
      await sampleIds(db, 'embeddings_log', model, w.baseline, limit, 5);
      const st: SampleStats = { rounds: 0, scanned: 0 };
      const ids = await sampleIds(db, 'embeddings_log', model, w.current, limit, 5, st);
      expect(st.rounds).toBe(1);
      expect(st.scanned).toBeLessThan(limit * 3);
      expect(ids).toEqual(await reference(model, w.current, limit, 5));
    }
  });

  it('is uniform over time within the window (a chi-square over days)', async () => {
    const ids = await sampleIds(db, 'embeddings_log', 'big', w.baseline, 3000, 11);
    const { rows } = await db.query<{ d: number; n: number }>(
      `SELECT floor(extract(epoch FROM ts - $2::timestamptz) / 86400)::int AS d, count(*)::int AS n FROM embeddings_log WHERE id = ANY($1::bigint[]) GROUP BY 1`,
      [ids, w.baseline.start],
    );
    const counts = new Array(30).fill(0);
    for (const r of rows) counts[r.d] = r.n;
    const e = 3000 / 30;
    const chi2 = counts.reduce((a, o) => a + (o - e) ** 2 / e, 0);
    expect(chi2).toBeLessThan(58.3); // 29 degrees of freedom, p = 0.001
  });

  it('returns vectors and interactions in sample order', async () => {
    const ids = await sampleIds(db, 'embeddings_log', 'small', w.current, 50, 5);
    const m = await sampleEmbeddings(db, 'small', w.current, 50, 5);
    const { rows } = await db.query<{ id: number; e: string }>(`SELECT id, embedding::text AS e FROM embeddings_log WHERE id = ANY($1::bigint[])`, [ids]);
    const byId = new Map(rows.map((r) => [r.id, JSON.parse(r.e) as number[]]));
    expect(Array.from(m.data)).toEqual(ids.flatMap((id) => byId.get(id)!));
    const inter = await sampleInteractions(db, 'small', w.baseline, 100, 5);
    expect(inter.map((r) => r.id)).toEqual(await sampleIds(db, 'interaction_log', 'small', w.baseline, 100, 5));
    expect(inter.every((r) => r.response.startsWith('r'))).toBe(true);
  });
});

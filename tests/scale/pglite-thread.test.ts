import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteThreadDb, sampleEmbeddings, windowsFor } from '@driftwatch/core';
import { tempDir } from '../helpers/env.js';
import { migrateScale } from './schema.js';

/** The embedded database on its own thread: same SQL and Db interface, and the event loop stays free during a long query. */
describe('PGlite on a thread', () => {
  const dir = tempDir('driftwatch-pglite-thread-');
  let db: PgliteThreadDb;
  beforeAll(async () => {
    db = await PgliteThreadDb.open(dir);
    await migrateScale(db);
  }, 300_000);
  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('runs queries, transactions and the window sampler', async () => {
    const w = windowsFor(new Date(), 30, 7);
    await db.query(`INSERT INTO embeddings_log (model, ts, embedding, dim) SELECT 'm', $1::timestamptz + g * interval '1 minute', ('[' || g || ',2]')::vector, 2 FROM generate_series(1, 300) AS g`, [w.current.start]);
    const m = await sampleEmbeddings(db, 'm', w.current, 100, 1);
    expect(m.rows).toBe(100);
    expect(m.cols).toBe(2);
    const r = await db.query<{ n: number; t: Date }>('SELECT count(*) AS n, max(ts) AS t FROM embeddings_log');
    expect(r.rows[0].n).toBe(300); // int8 parsed to a number in the thread
    expect(r.rows[0].t).toBeInstanceOf(Date);
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO evaluation_log (model, correct) VALUES ('m', true)`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const id = await db.transaction(async (tx) => {
      await tx.exec(`INSERT INTO evaluation_log (model, correct) VALUES ('m', false)`);
      return (await tx.query<{ id: number }>(`INSERT INTO evaluation_log (model, correct) VALUES ('m', true) RETURNING id`)).rows[0].id;
    });
    expect(id).toBeGreaterThan(0);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM evaluation_log')).rows[0].n).toBe(2);
    // Postgres error fields survive the thread boundary.
    await db.query('CREATE TABLE u (k int PRIMARY KEY)');
    await db.query('INSERT INTO u VALUES (1)');
    await expect(db.query('INSERT INTO u VALUES (1)')).rejects.toMatchObject({ code: '23505' });
  }, 300_000);

  it('keeps the event loop free while a long query runs', async () => {
    let last = performance.now();
    let worst = 0;
    const tick = setInterval(() => {
      const t = performance.now();
      worst = Math.max(worst, t - last);
      last = t;
    }, 10);
    const t0 = performance.now();
    await db.query('SELECT count(*) FROM generate_series(1, 20000000)');
    const took = performance.now() - t0;
    clearInterval(tick);
    expect(took).toBeGreaterThan(500);
    expect(worst).toBeLessThan(Math.max(400, took / 4));
  }, 300_000);
});

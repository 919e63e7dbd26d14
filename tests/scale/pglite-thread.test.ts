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

  it('isolates a transaction from the queries and transactions sent meanwhile, which run after it in order', async () => {
    await db.query('CREATE TABLE iso (k int PRIMARY KEY, v text)');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inside!: () => void;
    const entered = new Promise<void>((r) => (inside = r));
    const first = db.transaction(async (tx) => {
      await tx.query(`INSERT INTO iso VALUES (1, 'first')`);
      inside();
      await held;
      // Still alone in the session: what was sent meanwhile has not run.
      const seen = (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM iso')).rows[0].n;
      await tx.query(`INSERT INTO iso VALUES (2, 'first')`);
      return seen;
    });
    await entered;
    const outside = db.query<{ n: number }>('SELECT count(*)::int AS n FROM iso');
    const second = db.transaction(async (tx) => {
      await tx.query(`INSERT INTO iso VALUES (3, 'second')`);
      // A failing statement aborts this transaction only; it is rolled back as a whole.
      await tx.query(`INSERT INTO iso VALUES (1, 'duplicate')`);
    });
    const secondOutcome = second.then(
      () => 'committed',
      (e: { code?: string }) => `rolled back (${e.code})`,
    );
    release();
    expect(await first).toBe(1);
    expect((await outside).rows[0].n).toBe(2);
    expect(await secondOutcome).toBe('rolled back (23505)');
    const rows = (await db.query<{ k: number; v: string }>('SELECT k, v FROM iso ORDER BY k')).rows;
    expect(rows).toEqual([
      { k: 1, v: 'first' },
      { k: 2, v: 'first' },
    ]);
  }, 300_000);

  it('returns values in the shapes the pg adapter does, and rowCount from the command tag', async () => {
    const r = await db.query<Record<string, unknown>>(
      `SELECT 9007199254740991::int8 AS big, 1.25::numeric AS num, ARRAY[1, 2]::int8[] AS ids, '{"a":[1]}'::jsonb AS doc,
              '\\x0102'::bytea AS raw, true AS yes, NULL::text AS nothing, $1::timestamptz AS at, $2::text[] AS words, $3::jsonb AS param`,
      [new Date('2026-01-02T03:04:05.678Z'), ['a', 'b,c'], JSON.stringify({ x: 1 })],
    );
    expect(r.rows[0]).toEqual({
      big: 9007199254740991,
      num: 1.25,
      ids: [1, 2],
      doc: { a: [1] },
      raw: Buffer.from([1, 2]),
      yes: true,
      nothing: null,
      at: new Date('2026-01-02T03:04:05.678Z'),
      words: ['a', 'b,c'],
      param: { x: 1 },
    });
    await db.query('CREATE TABLE rc (k int)');
    expect((await db.query('INSERT INTO rc SELECT generate_series(1, 5)')).rowCount).toBe(5);
    expect((await db.query('UPDATE rc SET k = k + 1 WHERE k > 2')).rowCount).toBe(3);
    expect((await db.query('SELECT * FROM rc')).rowCount).toBe(5);
    // A syntax error names itself and leaves the session usable.
    await expect(db.query('SELEC 1')).rejects.toMatchObject({ code: '42601' });
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  }, 300_000);

  it('prepares a repeated query once, and neither DDL, errors nor many distinct texts break the prepared statements', async () => {
    await db.query('CREATE TABLE prep (k int PRIMARY KEY)');
    await db.query('INSERT INTO prep VALUES (1), (2)');
    const prepared = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE '%' || 'FROM pr' || 'ep WHERE' || '%'`)).rows[0].n;
    for (let i = 0; i < 3; i++) expect((await db.query('SELECT * FROM prep WHERE k >= $1 ORDER BY k', [1])).rows).toEqual([{ k: 1 }, { k: 2 }]);
    expect(await prepared()).toBe(1);
    // A new column: the cached SELECT * is retired with the DDL, not answered with the old shape or an error.
    await db.query('ALTER TABLE prep ADD COLUMN v text');
    expect((await db.query('SELECT * FROM prep WHERE k >= $1 ORDER BY k', [1])).rows).toEqual([
      { k: 1, v: null },
      { k: 2, v: null },
    ]);
    await db.exec('ALTER TABLE prep ADD COLUMN w int');
    expect((await db.query('SELECT * FROM prep WHERE k >= $1 ORDER BY k', [2])).rows).toEqual([{ k: 2, v: null, w: null }]);
    // A text that does not parse stays a syntax error; a bind error leaves the statement usable.
    for (let i = 0; i < 2; i++) await expect(db.query('SELEC * FROM prep WHERE k = $1', [1])).rejects.toMatchObject({ code: '42601' });
    await expect(db.query('SELECT * FROM prep WHERE k = $1', ['not a number'])).rejects.toMatchObject({ code: '22P02' });
    expect((await db.query('SELECT * FROM prep WHERE k = $1', [1])).rows).toEqual([{ k: 1, v: null, w: null }]);
    // More distinct texts than the session keeps: each answers, the oldest are closed.
    for (let i = 0; i < 300; i++) expect((await db.query<{ x: number }>(`SELECT $1::int + ${i} AS x FROM prep WHERE k = 1`, [1])).rows[0].x).toBe(i + 1);
    const all = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements')).rows[0].n;
    expect(all).toBeGreaterThan(200);
    expect(all).toBeLessThanOrEqual(257);
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

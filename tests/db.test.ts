import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDb, PgliteDb, migrate, sampleEmbeddings, toVectorText, windowsFor, type Db } from '@driftwatch/core';
import { runCli, tempDir, testConfig, writeYaml } from './helpers/env.js';
import { startSharedPostgres, type SharedPostgres } from './helpers/pglite-server.js';

/** Tables, columns and indexes: what a migration could change. */
async function catalog(db: Db) {
  const cols = await db.query(`SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2`);
  const idx = await db.query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`);
  return { cols: cols.rows, idx: idx.rows };
}

async function exercise(db: Db) {
  await migrate(db);
  const before = await catalog(db);
  await db.query(`INSERT INTO embeddings_log (model, ts, embedding, dim) VALUES ('m', now() - interval '1 day', $1::vector, 3)`, [toVectorText([1, 2, 3])]);
  await migrate(db);
  expect(await catalog(db)).toEqual(before);
  // Data survives a second migrate.
  expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM embeddings_log')).rows[0].n).toBe(1);
  for (const t of ['embeddings_log', 'interaction_log', 'evaluation_log', 'documents', 'drift_runs', 'decisions', 'model_versions']) {
    expect(before.cols.some((c) => (c as { table_name: string }).table_name === t)).toBe(true);
  }
  // rowCount means the same on both adapters: rows returned, or rows changed.
  expect((await db.query('SELECT 1 UNION ALL SELECT 2')).rowCount).toBe(2);
  expect((await db.query(`UPDATE embeddings_log SET source = 'query' WHERE model = 'm'`)).rowCount).toBe(1);
  // Vectors round-trip through the window sampler.
  const w = windowsFor(new Date(), 30, 7);
  const m = await sampleEmbeddings(db, 'm', w.current, 10);
  expect(m.rows).toBe(1);
  expect(Array.from(m.data)).toEqual([1, 2, 3]);
  // A transaction that throws leaves nothing behind.
  await expect(
    db.transaction(async (tx) => {
      await tx.query(`INSERT INTO evaluation_log (model, correct) VALUES ('m', true)`);
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM evaluation_log')).rows[0].n).toBe(0);
}

describe('schema on the embedded adapter (PGlite)', () => {
  it('migrates idempotently and keeps data', async () => {
    const db = await PgliteDb.open('memory://');
    try {
      await exercise(db);
    } finally {
      await db.close();
    }
  });
});

describe('schema on the pg adapter (PGlite socket server)', () => {
  let shared: SharedPostgres;
  beforeAll(async () => {
    shared = await startSharedPostgres();
  });
  afterAll(() => shared?.close());

  it('migrates idempotently and keeps data', async () => {
    const db = new PgDb(shared.url, { max: 1 });
    try {
      await exercise(db);
    } finally {
      await db.close();
    }
  });
});

describe('driftwatch migrate', () => {
  it('creates the embedded database, and a second run changes nothing', async () => {
    const dir = tempDir();
    const env = { DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig()), DRIFTWATCH_DATA_DIR: `${dir}/data` };
    const first = await runCli(['migrate'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const second = await runCli(['migrate'], env);
    expect(second.code).toBe(0);
    const db = await PgliteDb.open(`${dir}/data`);
    try {
      const t = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`);
      expect(t.rows[0].n).toBeGreaterThanOrEqual(8);
    } finally {
      await db.close();
    }
  });
});

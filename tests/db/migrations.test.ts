import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDb, SCHEMA_PATH, SQL_DIR, loadMigrations, migrate, migrationStatus, type Db } from '@driftwatch/core';
import { runCli, tempDir, testConfig, writeYaml } from '../helpers/env.js';

/** Everything a migration can change: columns with types, nullability and defaults; indexes; constraints. */
async function structure(db: Db) {
  const q = async (sql: string) => (await db.query(sql)).rows;
  return {
    columns: await q(`SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
                      WHERE table_schema = 'public' AND table_name <> 'driftwatch_migrations' ORDER BY 1, 2`),
    indexes: await q(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'driftwatch_migrations' ORDER BY 1, 2`),
    constraints: await q(`SELECT c.conrelid::regclass::text AS table_name, c.conname, pg_get_constraintdef(c.oid) AS def
                          FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                          WHERE n.nspname = 'public' AND c.conrelid::regclass::text <> 'driftwatch_migrations' ORDER BY 1, 2`),
    extensions: await q(`SELECT extname FROM pg_extension ORDER BY 1`),
  };
}

describe('numbered migrations', () => {
  let viaMigrations: PgliteDb;
  let viaSchema: PgliteDb;
  beforeAll(async () => {
    [viaMigrations, viaSchema] = await Promise.all([PgliteDb.open('memory://'), PgliteDb.open('memory://')]);
  });
  afterAll(async () => {
    await Promise.all([viaMigrations?.close(), viaSchema?.close()]);
  });

  it('sql/schema.sql is the same schema as the migrations applied in order', async () => {
    const applied = await migrate(viaMigrations);
    expect(applied.map((m) => m.id)).toEqual(loadMigrations().map((m) => m.id));
    await viaSchema.exec(readFileSync(SCHEMA_PATH, 'utf8'));
    const [a, b] = await Promise.all([structure(viaMigrations), structure(viaSchema)]);
    expect(b.columns).toEqual(a.columns);
    expect(b.indexes).toEqual(a.indexes);
    expect(b.constraints).toEqual(a.constraints);
    expect(b.extensions).toEqual(a.extensions);
  });

  it('applies each migration once; a second migrate applies nothing and status shows every one applied', async () => {
    expect(await migrate(viaMigrations)).toEqual([]);
    const status = await migrationStatus(viaMigrations);
    expect(status.length).toBe(loadMigrations().length);
    expect(status.every((s) => s.applied_at !== null && s.checksum_matches === true)).toBe(true);
  });

  it('a new migration changes a column of a deployed database, keeping its rows', async () => {
    const db = await PgliteDb.open('memory://');
    try {
      await migrate(db);
      await db.query(`INSERT INTO interaction_log (model, query, latency_ms) VALUES ('m', 'q', 1500)`);
      const dir = tempDir('dw-migrations-');
      cpSync(SQL_DIR, dir, { recursive: true });
      const next = String(loadMigrations().at(-1)!.id + 1).padStart(6, '0');
      // A column's type changes: IF NOT EXISTS in one schema file could never do this.
      writeFileSync(join(dir, `${next}_latency_as_real.sql`), 'ALTER TABLE interaction_log ALTER COLUMN latency_ms TYPE double precision USING latency_ms::double precision;\n');
      const applied = await migrate(db, loadMigrations(dir));
      expect(applied.map((m) => m.name)).toEqual(['latency_as_real']);
      const col = await db.query<{ data_type: string }>(`SELECT data_type FROM information_schema.columns WHERE table_name = 'interaction_log' AND column_name = 'latency_ms'`);
      expect(col.rows[0].data_type).toBe('double precision');
      expect((await db.query<{ latency_ms: number }>(`SELECT latency_ms FROM interaction_log`)).rows[0].latency_ms).toBe(1500);
      expect(await migrate(db, loadMigrations(dir))).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('a failing migration leaves nothing of itself behind and names its file', async () => {
    const db = await PgliteDb.open('memory://');
    try {
      await migrate(db);
      const dir = tempDir('dw-migrations-');
      cpSync(SQL_DIR, dir, { recursive: true });
      const next = String(loadMigrations().at(-1)!.id + 1).padStart(6, '0');
      writeFileSync(join(dir, `${next}_half_done.sql`), 'CREATE TABLE half_done (id int);\nALTER TABLE no_such_table ADD COLUMN x int;\n');
      await expect(migrate(db, loadMigrations(dir))).rejects.toThrow(new RegExp(`migration ${next}_half_done failed, nothing of it was applied: .*no_such_table`));
      expect((await db.query(`SELECT to_regclass('half_done')::text AS t`)).rows[0]).toEqual({ t: null });
      const status = await migrationStatus(db, loadMigrations(dir));
      expect(status.at(-1)).toMatchObject({ name: 'half_done', applied_at: null });
    } finally {
      await db.close();
    }
  });

  it('two files with one number are refused, naming the file', () => {
    const dir = tempDir('dw-migrations-');
    cpSync(SQL_DIR, dir, { recursive: true });
    writeFileSync(join(dir, '000001_again.sql'), 'SELECT 1;\n');
    expect(() => loadMigrations(dir)).toThrow('sql/000001_initial.sql: migration number 000001 is taken by 000001_again.sql');
  });
});

describe('driftwatch migrate', () => {
  it('--status lists pending migrations, migrate applies them, then --status shows them applied', async () => {
    const dir = tempDir();
    const env = { DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig()), DRIFTWATCH_DATA_DIR: `${dir}/data` };
    const before = await runCli(['migrate', '--status'], env);
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/000001_initial {2}pending/);
    expect(before.stdout).toMatch(new RegExp(`0 applied, ${loadMigrations().length} pending`));
    const run = await runCli(['migrate'], env);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/applied 000001_initial/);
    const after = await runCli(['migrate', '--status'], env);
    expect(after.stdout).toMatch(/000001_initial {2}applied 20\d\d-/);
    expect(after.stdout).toMatch(new RegExp(`${loadMigrations().length} applied, 0 pending`));
    expect((await runCli(['migrate'], env)).stdout).toMatch(/up to date/);
  });

  it('on a Postgres without pgvector, says in one line how to install it (exit 2, no stack trace)', async () => {
    // The machine's own PostgreSQL 15 (Debian's, without the pgvector package).
    const dir = tempDir();
    const res = await runCli(['migrate'], { DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig()), DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' });
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/no pgvector extension.*install pgvector/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it('an unreachable database is one line and exit 2 within seconds', async () => {
    const dir = tempDir();
    const started = Date.now();
    const res = await runCli(['migrate'], { DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig()), DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postgres' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cannot reach the database at 127\.0\.0\.1:1\/postgres \(ECONNREFUSED/);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

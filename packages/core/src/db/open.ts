import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PgDb } from './pg.js';
import { PgliteDb } from './pglite.js';
import type { Db } from './types.js';

export const SCHEMA_PATH = fileURLToPath(new URL('../../../../sql/schema.sql', import.meta.url));

/** DATABASE_URL set: Postgres through pg. Unset: PGlite in dataDir. */
export async function openDb(opts: { databaseUrl?: string; dataDir: string }): Promise<Db> {
  if (opts.databaseUrl) return new PgDb(opts.databaseUrl);
  return PgliteDb.open(opts.dataDir);
}

/**
 * Applies sql/schema.sql. Every statement is IF NOT EXISTS, so a second run changes
 * nothing; an advisory lock keeps two processes migrating at once from racing.
 */
export async function migrate(db: Db): Promise<void> {
  const sql = readFileSync(SCHEMA_PATH, 'utf8');
  if (db.kind === 'pg') {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(7254001)');
      await tx.query(sql);
    });
  } else {
    await db.exec(sql);
  }
}

import { PgDb } from './pg.js';
import { PgliteDb } from './pglite.js';
import type { Db } from './types.js';

/** DATABASE_URL set: Postgres through pg. Unset: PGlite in dataDir. */
export async function openDb(opts: { databaseUrl?: string; dataDir: string }): Promise<Db> {
  if (opts.databaseUrl) return new PgDb(opts.databaseUrl);
  return PgliteDb.open(opts.dataDir);
}

import { PgDb } from './pg.js';
import { PgliteDb } from './pglite.js';
import { PgliteThreadDb } from './pglite-thread.js';
import type { Db } from './types.js';

/**
 * DATABASE_URL set: Postgres through pg. Unset: PGlite in dataDir, on its own thread so that
 * a long query never stops the event loop (and with it BullMQ's lock renewal); see
 * pglite-thread.ts. DRIFTWATCH_PGLITE_THREAD=0 keeps it on the main thread.
 */
export async function openDb(opts: { databaseUrl?: string; dataDir: string }): Promise<Db> {
  if (opts.databaseUrl) return new PgDb(opts.databaseUrl);
  if (process.env.DRIFTWATCH_PGLITE_THREAD === '0') return PgliteDb.open(opts.dataDir);
  return PgliteThreadDb.open(opts.dataDir);
}

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db, Tx } from './types.js';

/**
 * Versioned migrations in the manner of graphile-worker: numbered SQL files in sql/
 * (`000001_initial.sql`, `000002_...`), each applied once, in order, in its own
 * transaction, and recorded in `driftwatch_migrations`. A process that finds nothing
 * pending changes nothing. On Postgres a transaction-scoped advisory lock makes two
 * processes migrating at once take turns: the second finds the work done.
 *
 * Written here rather than taken from a library (node-pg-migrate, graphile-migrate):
 * those drive `pg` only, and the same files must also run on embedded PGlite.
 */

/** sql/ of the installation: found by walking up from this file, so src/ and dist/ both work. */
export const SQL_DIR: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'sql');
    if (existsSync(join(candidate, 'schema.sql'))) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new Error('sql/ not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
})();

/** The whole current schema in one file, for `psql < sql/schema.sql`. */
export const SCHEMA_PATH = join(SQL_DIR, 'schema.sql');

export interface Migration {
  id: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationStatus {
  id: number;
  name: string;
  applied_at: string | null;
  /** false when the file changed after it was applied (it is not applied again). */
  checksum_matches: boolean | null;
}

/** A migration failed, or the database lacks something it needs; the message is one line with the fix. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

const FILE = /^(\d{6})_([a-z0-9_]+)\.sql$/;
const LOCK_KEY = 7254001;

/** Reads the numbered files of dir, in order; two files with one number are an error. */
export function loadMigrations(dir = SQL_DIR): Migration[] {
  const files = readdirSync(dir).filter((f) => FILE.test(f)).sort();
  const out: Migration[] = [];
  for (const f of files) {
    const [, num, name] = FILE.exec(f)!;
    const id = Number(num);
    const twin = out.find((m) => m.id === id);
    if (twin) throw new MigrationError(`sql/${f}: migration number ${num} is taken by ${num}_${twin.name}.sql; give the newer file the next free number`);
    const sql = readFileSync(join(dir, f), 'utf8');
    out.push({ id, name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return out;
}

const TABLE = `CREATE TABLE IF NOT EXISTS driftwatch_migrations (
  id         integer     PRIMARY KEY,
  name       text        NOT NULL,
  checksum   text        NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** The one-line message for a Postgres that has no pgvector. */
function explain(e: unknown, m: Migration): Error {
  // A connection that failed is not the migration's fault: the caller names the server.
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return e as Error;
  const msg = (e as Error).message ?? String(e);
  if (/extension "vector"/.test(msg) || /vector\.control/.test(msg)) {
    return new MigrationError(
      'the database has no pgvector extension (' + msg.split('\n')[0] + '): install pgvector on the server ' +
        '(Debian/Ubuntu: apt install postgresql-<version>-pgvector; managed Postgres: enable "vector"), ' +
        'or unset DATABASE_URL to use the embedded database; then run `driftwatch migrate` again',
    );
  }
  return new MigrationError(`migration ${String(m.id).padStart(6, '0')}_${m.name} failed, nothing of it was applied: ${msg.split('\n')[0]}`);
}

async function lock(db: Db, tx: Tx): Promise<void> {
  if (db.kind === 'pg') await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
}

/** Applies every pending migration; returns those it applied (none when up to date). */
export async function migrate(db: Db, migrations: Migration[] = loadMigrations()): Promise<Migration[]> {
  const applied: Migration[] = [];
  for (const m of migrations) {
    try {
      const did = await db.transaction(async (tx) => {
        await lock(db, tx);
        await tx.exec(TABLE);
        const { rows } = await tx.query<{ id: number }>('SELECT id FROM driftwatch_migrations WHERE id = $1', [m.id]);
        if (rows.length) return false;
        await tx.exec(m.sql);
        await tx.query('INSERT INTO driftwatch_migrations (id, name, checksum) VALUES ($1, $2, $3)', [m.id, m.name, m.checksum]);
        return true;
      });
      if (did) applied.push(m);
    } catch (e) {
      if (e instanceof MigrationError) throw e;
      throw explain(e, m);
    }
  }
  return applied;
}

/** Every known migration with when it was applied (null: pending). */
export async function migrationStatus(db: Db, migrations: Migration[] = loadMigrations()): Promise<MigrationStatus[]> {
  const { rows: exists } = await db.query<{ t: string | null }>("SELECT to_regclass('driftwatch_migrations')::text AS t");
  const done = new Map<number, { applied_at: Date; checksum: string }>();
  if (exists[0]?.t) {
    const { rows } = await db.query<{ id: number; applied_at: Date; checksum: string }>('SELECT id, applied_at, checksum FROM driftwatch_migrations');
    for (const r of rows) done.set(r.id, r);
  }
  return migrations.map((m) => {
    const d = done.get(m.id);
    return { id: m.id, name: m.name, applied_at: d ? new Date(d.applied_at).toISOString() : null, checksum_matches: d ? d.checksum === m.checksum : null };
  });
}

/**
 * The database's deployment id (made once by migration 000007): part of every job id, so
 * that two databases on one Redis and queue prefix never share a job. '' before migrating.
 */
export async function deploymentId(db: Db): Promise<string> {
  const { rows } = await db.query<{ id: string | null }>(
    `SELECT CASE WHEN to_regclass('driftwatch_deployment') IS NULL THEN NULL ELSE (SELECT id FROM driftwatch_deployment LIMIT 1) END AS id`,
  );
  return rows[0]?.id ?? '';
}

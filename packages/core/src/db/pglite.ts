import { mkdirSync } from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { Db, Tx } from './types.js';

const parsers = {
  [types.INT8]: (v: string) => Number(v),
  [types.NUMERIC]: (v: string) => Number(v),
};

type Rows = { rows: unknown[]; affectedRows?: number };
// PGlite reports affectedRows 0 for a SELECT: count the rows it returned instead.
const shape = <T>(r: Rows) => ({ rows: r.rows as T[], rowCount: r.affectedRows || r.rows.length });

/**
 * Embedded Postgres (PGlite, WASM) with pgvector, in a data folder on disk, or in
 * memory when dataDir is 'memory://'. One process owns a data folder at a time.
 */
export class PgliteDb implements Db {
  readonly kind = 'pglite' as const;

  private constructor(readonly pg: PGlite) {}

  static async open(dataDir: string): Promise<PgliteDb> {
    if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
    const pg = await PGlite.create(dataDir, { extensions: { vector }, parsers });
    return new PgliteDb(pg);
  }

  async query<T>(sql: string, params: readonly unknown[] = []) {
    return shape<T>(await this.pg.query(sql, params as unknown[]));
  }

  async exec(sql: string): Promise<void> {
    await this.pg.exec(sql);
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.pg.transaction(async (t) =>
      fn({
        query: async <R>(sql: string, params: readonly unknown[] = []) => shape<R>(await t.query(sql, params as unknown[])),
        exec: async (sql: string) => {
          await t.exec(sql);
        },
      }),
    );
  }

  async close(): Promise<void> {
    if (!this.pg.closed) await this.pg.close();
  }
}

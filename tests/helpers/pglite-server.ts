import { createServer } from 'node:net';
import { PGlite, types } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PgDb } from '../../packages/core/src/db/pg.js';
import { migrate } from '../../packages/core/src/db/open.js';

/**
 * A Postgres that several processes share, for fleet tests: an in-memory PGlite with
 * pgvector behind the PGlite socket server on a free loopback port. The embedded
 * data folder is single-process; this is how tests run two `driftwatch worker`
 * processes on one database. Queries run one at a time (transactions are kept
 * together per connection), so keep pools small.
 */
export interface SharedPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres, for DATABASE_URL of child processes. */
  url: string;
  /** A pg connection from the test process itself (schema already applied). */
  db: PgDb;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startSharedPostgres(opts: { maxConnections?: number } = {}): Promise<SharedPostgres> {
  const pglite = await PGlite.create('memory://', {
    extensions: { vector },
    parsers: { [types.INT8]: (v: string) => Number(v), [types.NUMERIC]: (v: string) => Number(v) },
  });
  let server: PGLiteSocketServer | undefined;
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port, maxConnections: opts.maxConnections ?? 40 });
    try {
      await server.start();
      break;
    } catch (e) {
      if (tries >= 3) throw e;
    }
  }
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  const db = new PgDb(url, { max: 2 });
  await migrate(db);
  return {
    url,
    db,
    close: async () => {
      await db.close().catch(() => {});
      await server!.stop().catch(() => {});
      await pglite.close().catch(() => {});
    },
  };
}

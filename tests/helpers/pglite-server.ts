import { PGlite, types } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PgDb } from '../../packages/core/src/db/pg.js';
import { migrate } from '../../packages/core/src/db/migrations.js';
import { freePort } from '../../packages/core/src/net.js';

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

/** Frontend messages of the extended query protocol that leave a batch open until Sync. */
const BATCH_OPENERS = new Set([0x50 /* P */, 0x42 /* B */, 0x44 /* D */, 0x45 /* E */, 0x43 /* C */, 0x48 /* H */]);

interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  onData: (d: Uint8Array) => void;
  resolve: (n: number) => void;
  reject: (e: unknown) => void;
}
interface QueryQueue {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  db: PGlite;
  processQueue(): Promise<void>;
  clearTransactionIfNeeded(handlerId: number): Promise<void>;
}

/**
 * The socket server queues each protocol message on its own: with several clients, one
 * client's Parse can land between another's Parse and Bind, and PGlite (one session)
 * answers "unnamed prepared statement does not exist". Keep each client's
 * extended-protocol batch (Parse..Sync) together, as it already does for transactions.
 */
export function keepBatchesTogether(server: PGLiteSocketServer): void {
  const qq = (server as unknown as { queryQueue: QueryQueue }).queryQueue;
  let openBatch: number | null = null;
  qq.processQueue = async function (this: QueryQueue) {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const sticky = this.db.isInTransaction() && this.lastHandlerId !== null ? this.lastHandlerId : openBatch;
        let item: QueuedMessage | undefined;
        if (sticky !== null) {
          const i = this.queue.findIndex((q) => q.handlerId === sticky);
          if (i === -1) break; // wait for that client's next message
          item = this.queue.splice(i, 1)[0];
        } else item = this.queue.shift();
        if (!item) break;
        let bytes = 0;
        const current = item;
        try {
          await this.db.runExclusive(() => this.db.execProtocolRawStream(current.message, { onRawData: (d: Uint8Array) => ((bytes += d.length), current.onData(d)) }));
        } catch (e) {
          openBatch = null;
          current.reject(e);
          continue;
        }
        this.lastHandlerId = current.handlerId;
        openBatch = BATCH_OPENERS.has(current.message[0]) ? current.handlerId : null;
        current.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  };
  const clear = qq.clearTransactionIfNeeded.bind(qq);
  qq.clearTransactionIfNeeded = async (handlerId: number) => {
    if (openBatch === handlerId) openBatch = null;
    await clear(handlerId);
    await qq.processQueue();
  };
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
    keepBatchesTogether(server);
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

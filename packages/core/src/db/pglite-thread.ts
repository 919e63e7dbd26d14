import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import type { BackendMessage, CommandCompleteMessage, DataRowMessage, RowDescriptionMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import { startModuleThread } from '../pool/start.js';
import './pg.js';
import type { Db, Tx } from './types.js';

/** node-postgres's own conversion of a JS value to a query parameter (Date, Buffer, array, object as JSON). Not typed by @types/pg. */
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (v: unknown) => unknown };

type Reply = { id: number; ok: boolean; bytes?: Uint8Array; tx?: number; error?: { name: string; message: string; stack?: string } };
type Rows<T> = { rows: T[]; rowCount: number };

/**
 * The embedded database (PGlite with pgvector, in a data folder) on its own thread.
 *
 * PGlite is Postgres compiled to WASM and runs synchronously in the thread that calls it:
 * in the main thread a long query (an aggregate over a big window, a migration, a VACUUM)
 * stops the event loop for its whole length, and with it BullMQ's lock renewal, so a job
 * holding that lock is declared stalled and run again. Here the main thread only posts
 * messages; the loop stays free whatever the database is doing. The same SQL and the same
 * Db interface as the other adapters; one process still owns a data folder at a time.
 *
 * The messages carry the Postgres wire protocol itself, as `pg` writes and reads it over
 * a socket (pg-protocol's serializer and parser, the value conversions of node-postgres
 * and pg-types, with int8 and numeric as numbers as in PgDb): one Parse/Bind/Describe/
 * Execute/Sync exchange a query, where PGlite's query() makes two (it describes the
 * statement first to type the parameters) and builds the rows in the database's thread,
 * which then has to copy them over. Rows come back as the bytes Postgres wrote, handed
 * over without a copy, and are read here. So a query costs the database's thread its time
 * in Postgres and little else, and rows have the same JS shape as through `pg`.
 */
export class PgliteThreadDb implements Db {
  readonly kind = 'pglite' as const;
  private readonly waiting = new Map<number, { resolve: (v: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: Reply) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m);
      else w.reject(toError(m.error!));
    });
    const fail = (e: Error) => {
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the embedded database thread exited (code ${code})`)));
  }

  static async open(dataDir: string): Promise<PgliteThreadDb> {
    const worker = startModuleThread(import.meta.url, 'pglite-thread-main', { workerData: { dataDir } });
    await new Promise<void>((resolve, reject) => {
      const first = (m: { ready?: boolean; error?: Reply['error'] }) => {
        if (m.ready === undefined) return;
        worker.off('message', first);
        if (m.ready) resolve();
        else reject(toError(m.error!));
      };
      worker.on('message', first);
      worker.once('error', reject);
    });
    return new PgliteThreadDb(worker);
  }

  private call(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.closed) return Promise.reject(new Error('the embedded database is closed'));
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...msg }, transfer);
    });
  }

  private async run<T>(bytes: Uint8Array, tx?: number): Promise<Rows<T>> {
    const reply = await this.call({ op: 'run', bytes, tx }, [bytes.buffer as ArrayBuffer]);
    return readResult<T>(reply.bytes!);
  }

  query<T>(sql: string, params: readonly unknown[] = [], tx?: number): Promise<Rows<T>> {
    return this.run<T>(extendedQuery(sql, params), tx);
  }

  async exec(sql: string, tx?: number): Promise<void> {
    await this.run(simpleQuery(sql), tx);
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const begun = await this.call({ op: 'begin' });
    const tx = begun.tx!;
    const end = async (commit: boolean) => readResult((await this.call({ op: 'end', tx, commit })).bytes!);
    try {
      readResult(begun.bytes!);
    } catch (e) {
      await end(false).catch(() => {});
      throw e;
    }
    const handle: Tx = {
      query: <R>(sql: string, params: readonly unknown[] = []) => this.query<R>(sql, params, tx),
      exec: (sql: string) => this.exec(sql, tx),
    };
    let out: T;
    try {
      out = await fn(handle);
    } catch (e) {
      await end(false).catch(() => {});
      throw e;
    }
    await end(true);
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.call({ op: 'close' }).catch(() => {});
    this.closed = true;
    await this.worker.terminate();
  }
}

/** One query in the extended protocol, unnamed statement and portal, parameters as text (binary for Buffers), as `pg` sends it. */
function extendedQuery(sql: string, params: readonly unknown[]): Uint8Array {
  return Buffer.concat([
    serialize.parse({ text: sql, types: [] }),
    serialize.bind({ values: params as unknown[], valueMapper: prepareValue }),
    serialize.describe({ type: 'P' }),
    serialize.execute({}),
    serialize.sync(),
  ]);
}

function simpleQuery(sql: string): Uint8Array {
  return serialize.query(sql);
}

/** The rows of the last statement of a response, or its error (a pg DatabaseError, with code, detail, constraint...). */
function readResult<T>(bytes: Uint8Array): Rows<T> {
  let fields: { name: string; parse: (v: string) => unknown }[] = [];
  let rows: Record<string, unknown>[] = [];
  let rowCount = 0;
  let error: Error | undefined;
  new Parser().parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (msg: BackendMessage) => {
    switch (msg.name) {
      case 'rowDescription':
        fields = (msg as RowDescriptionMessage).fields.map((f) => ({ name: f.name, parse: parserFor(f.dataTypeID) }));
        rows = [];
        break;
      case 'dataRow': {
        const values = (msg as DataRowMessage).fields;
        const row: Record<string, unknown> = {};
        for (let i = 0; i < fields.length; i++) row[fields[i].name] = values[i] === null ? null : fields[i].parse(values[i]);
        rows.push(row);
        break;
      }
      case 'commandComplete': {
        // "INSERT 0 5", "UPDATE 3", "SELECT 10": the last number, as pg's rowCount.
        const n = /(\d+)$/.exec((msg as CommandCompleteMessage).text);
        rowCount = n ? Number(n[1]) : rows.length;
        break;
      }
      case 'error':
        error ??= msg as unknown as Error;
        break;
    }
  });
  if (error) {
    // Raised here, with this caller's stack, as pg raises a DatabaseError.
    Error.captureStackTrace?.(error, readResult);
    throw error;
  }
  return { rows: rows as T[], rowCount };
}

const parsers = new Map<number, (v: string) => unknown>();
/** pg-types' text parser for a type (pg.ts sets int8 and numeric to numbers), int8[] and numeric[] as arrays of numbers to match. */
function parserFor(oid: number): (v: string) => unknown {
  let p = parsers.get(oid);
  if (!p) {
    if (oid === 1016 || oid === 1231) {
      const strings = pg.types.getTypeParser(1009 as never, 'text') as (v: string) => (string | null)[];
      p = (v) => strings(v).map((x) => (x === null ? null : Number(x)));
    } else p = pg.types.getTypeParser(oid, 'text') as (v: string) => unknown;
    parsers.set(oid, p);
  }
  return p;
}

function toError(e: NonNullable<Reply['error']>): Error {
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

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
  /** Named prepared statements of the session, by SQL text, least recently used first (see query()). */
  private readonly statements = new Map<string, Statement>();
  private nextStatement = 1;
  /** Statements to close, sent ahead of the next query. */
  private closing: string[] = [];

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

  private async run<T>(bytes: Uint8Array, tx?: number, statement?: Statement): Promise<Rows<T>> {
    const reply = await this.call({ op: 'run', bytes, tx }, [bytes.buffer as ArrayBuffer]);
    return readResult<T>(reply.bytes!, statement && ((parsed) => this.parsed(statement, parsed)));
  }

  /**
   * A query as a named prepared statement of the session, parsed once by Postgres and then
   * only bound and executed: parse analysis and planning cost the WASM backend more than
   * running most of the small statements a monitor or a trigger sends (a mix of the fleet's
   * queries: about a quarter less CPU), as `pg` does for a query given a `name`. The first
   * use of a text parses it under a new name; later uses bind that name once Postgres has
   * confirmed it (until then they parse unnamed, as before). At most MAX_STATEMENTS texts,
   * the least recently used closed first; texts over MAX_STATEMENT_CHARS (generated
   * multi-row INSERTs) and DDL stay unnamed, and DDL closes them all, so that no cached
   * statement outlives the columns it was planned for. Should Postgres still answer that a
   * cached plan changed its result type, or that the statement is gone (closed by an
   * eviction in a message that overtook this one behind a transaction), the statement is
   * dropped and, outside a transaction, the query sent again unnamed (nothing ran).
   */
  async query<T>(sql: string, params: readonly unknown[] = [], tx?: number): Promise<Rows<T>> {
    if (DDL.test(sql)) return this.runDdl(() => this.run<T>(extendedQuery(this.takeClosing(), sql, params), tx));
    let statement = sql.length <= MAX_STATEMENT_CHARS ? this.statements.get(sql) : undefined;
    if (statement?.ready) {
      this.statements.delete(sql);
      this.statements.set(sql, statement);
      try {
        return await this.run<T>(extendedQuery(this.takeClosing(), sql, params, statement.name, false), tx);
      } catch (e) {
        // 0A000: its plan no longer fits the table; 26000: closed by a message that ran first.
        const code = (e as { code?: string }).code;
        if (code !== '0A000' && code !== '26000') throw e;
        this.forget(sql);
        if (tx !== undefined) throw e;
        return this.run<T>(extendedQuery(this.takeClosing(), sql, params), tx);
      }
    }
    if (statement || sql.length > MAX_STATEMENT_CHARS) return this.run<T>(extendedQuery(this.takeClosing(), sql, params), tx);
    statement = { sql, name: `dw_${this.nextStatement++}`, ready: false, dropped: false };
    this.statements.set(sql, statement);
    if (this.statements.size > MAX_STATEMENTS) this.forget(this.statements.keys().next().value!);
    return this.run<T>(extendedQuery(this.takeClosing(), sql, params, statement.name, true), tx, statement);
  }

  async exec(sql: string, tx?: number): Promise<void> {
    await this.runDdl(() => this.run(simpleQuery(this.takeClosing(), sql), tx));
  }

  /** Runs DDL (or a script that may hold some), then closes every named statement. */
  private async runDdl<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      for (const sql of [...this.statements.keys()]) this.forget(sql);
    }
  }

  /** Postgres's answer to a statement's Parse: usable from now on, or gone. */
  private parsed(statement: Statement, ok: boolean): void {
    if (!ok) {
      if (this.statements.get(statement.sql) === statement) this.statements.delete(statement.sql);
      return;
    }
    statement.ready = true;
    if (statement.dropped) this.closing.push(statement.name);
  }

  private forget(sql: string): void {
    const statement = this.statements.get(sql);
    if (!statement) return;
    this.statements.delete(sql);
    statement.dropped = true;
    // One still being parsed is closed when its Parse is confirmed (parsed()).
    if (statement.ready) this.closing.push(statement.name);
  }

  private takeClosing(): string[] {
    const names = this.closing;
    this.closing = [];
    return names;
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

type Statement = { sql: string; name: string; ready: boolean; dropped: boolean };
const MAX_STATEMENTS = 256;
const MAX_STATEMENT_CHARS = 8192;
/** Statements that change the schema (or a script that may): never named, and they retire every named one. */
const DDL = /^\s*(?:CREATE|ALTER|DROP|TRUNCATE|COMMENT|GRANT|REVOKE|REINDEX|CLUSTER|VACUUM|DO|DISCARD)\b/i;

/**
 * One query in the extended protocol, parameters as text (binary for Buffers), as `pg`
 * sends it: Parse (unnamed, or named when `parse`), Bind of that statement to the unnamed
 * portal, Describe, Execute, Sync; first a Close of each statement in `close`.
 */
function extendedQuery(close: string[], sql: string, params: readonly unknown[], name = '', parse = true): Uint8Array {
  return ownBytes([
    ...closeStatements(close),
    ...(parse ? [serialize.parse({ name, text: sql, types: [] })] : []),
    serialize.bind({ statement: name, values: params as unknown[], valueMapper: prepareValue }),
    serialize.describe({ type: 'P' }),
    serialize.execute({}),
    serialize.sync(),
  ]);
}

/** A simple-protocol Query (a script of statements), after a Close (and Sync) of each statement in `close`. */
function simpleQuery(close: string[], sql: string): Uint8Array {
  return ownBytes([...(close.length ? [...closeStatements(close), serialize.sync()] : []), serialize.query(sql)]);
}

/** A Close message for each named statement. */
function closeStatements(names: string[]): Uint8Array[] {
  return names.map((name) => serialize.close({ type: 'S', name }));
}

/**
 * The messages in one array with an ArrayBuffer of its own, so that it can be handed to
 * the thread: Buffer.concat and pg-protocol's writer return views of Node's shared 8 KB
 * pool, which postMessage would copy whole (the pool cannot be transferred).
 */
function ownBytes(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
}

/**
 * The rows of the last statement of a response, or its error (a pg DatabaseError, with
 * code, detail, constraint...). `onParse` learns whether the response confirmed a Parse
 * (a named statement then exists, even if what followed it failed).
 */
function readResult<T>(bytes: Uint8Array, onParse?: (parsed: boolean) => void): Rows<T> {
  let parsed = false;
  let fields: { name: string; parse: (v: string) => unknown }[] = [];
  let rows: Record<string, unknown>[] = [];
  let rowCount = 0;
  let error: Error | undefined;
  new Parser().parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (msg: BackendMessage) => {
    switch (msg.name) {
      case 'parseComplete':
        parsed = true;
        break;
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
  onParse?.(parsed);
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

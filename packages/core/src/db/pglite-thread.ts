import type { Worker } from 'node:worker_threads';
import { startModuleThread } from '../pool/start.js';
import type { Db, Tx } from './types.js';

type Reply = { id: number; ok: boolean; value?: unknown; error?: { name: string; message: string; stack?: string; extra?: Record<string, unknown> } };

/**
 * The embedded database (PGlite with pgvector, in a data folder) on its own thread.
 *
 * PGlite is Postgres compiled to WASM and runs synchronously in the thread that calls it:
 * in the main thread a long query (an aggregate over a big window, a migration, a VACUUM)
 * stops the event loop for its whole length, and with it BullMQ's lock renewal, so a job
 * holding that lock is declared stalled and run again. Here the main thread only posts
 * messages; the loop stays free whatever the database is doing. The same SQL and the same
 * Db interface as PgliteDb; one process still owns a data folder at a time.
 */
export class PgliteThreadDb implements Db {
  readonly kind = 'pglite' as const;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: Reply) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m.value);
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

  private call<T>(msg: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the embedded database is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, ...msg });
    });
  }

  query<T>(sql: string, params: readonly unknown[] = []) {
    return this.call<{ rows: T[]; rowCount: number }>({ op: 'query', sql, params: [...params] });
  }

  async exec(sql: string): Promise<void> {
    await this.call({ op: 'exec', sql });
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const tx = await this.call<number>({ op: 'begin' });
    const handle: Tx = {
      query: <R>(sql: string, params: readonly unknown[] = []) => this.call<{ rows: R[]; rowCount: number }>({ op: 'query', sql, params: [...params], tx }),
      exec: async (sql: string) => {
        await this.call({ op: 'exec', sql, tx });
      },
    };
    let out: T;
    try {
      out = await fn(handle);
    } catch (e) {
      await this.call({ op: 'end', tx, commit: false }).catch(() => {});
      throw e;
    }
    await this.call({ op: 'end', tx, commit: true });
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.call({ op: 'close' }).catch(() => {});
    this.closed = true;
    await this.worker.terminate();
  }
}

function toError(e: NonNullable<Reply['error']>): Error {
  const err = new Error(e.message) as Error & Record<string, unknown>;
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  Object.assign(err, e.extra ?? {});
  return err;
}

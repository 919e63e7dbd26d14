/**
 * The body of the embedded database's thread (see pglite-thread.ts): one PGlite, driven by
 * messages. Transactions: 'begin' opens one and answers with its id; queries naming the id
 * run inside it; 'end' commits (or rolls back). Queries outside it wait for it to end, as
 * PGlite itself orders them.
 */
import { mkdirSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, types, type Transaction } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';

type Msg =
  | { id: number; op: 'query'; sql: string; params: unknown[]; tx?: number }
  | { id: number; op: 'exec'; sql: string; tx?: number }
  | { id: number; op: 'begin' }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'close' };

const dataDir = (workerData as { dataDir: string }).dataDir;
if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
const parsers = { [types.INT8]: (v: string) => Number(v), [types.NUMERIC]: (v: string) => Number(v) };
const ready = PGlite.create(dataDir, { extensions: { vector }, parsers });
const open = new Map<number, { t: Transaction; end: (commit: boolean) => void }>();
let nextTx = 1;

class Rollback extends Error {}

const reply = (id: number, ok: boolean, value?: unknown) => parentPort!.postMessage(ok ? { id, ok, value } : { id, ok, error: errorOf(value) });
function errorOf(e: unknown) {
  const err = e as Error & Record<string, unknown>;
  // Postgres error fields (code, detail, ...) travel with the message.
  const extra: Record<string, unknown> = {};
  for (const k of ['code', 'detail', 'hint', 'constraint', 'table', 'column', 'schema', 'severity']) if (err && err[k] !== undefined) extra[k] = err[k];
  return { name: err?.name ?? 'Error', message: err?.message ?? String(e), stack: err?.stack, extra };
}

async function handle(m: Msg): Promise<void> {
  const pg = await ready;
  try {
    if (m.op === 'query') {
      const r = await (m.tx ? open.get(m.tx)!.t : pg).query(m.sql, m.params);
      reply(m.id, true, { rows: r.rows, rowCount: r.affectedRows || r.rows.length });
    } else if (m.op === 'exec') {
      await (m.tx ? open.get(m.tx)!.t : pg).exec(m.sql);
      reply(m.id, true);
    } else if (m.op === 'begin') {
      const tx = nextTx++;
      let started!: () => void;
      const begun = new Promise<void>((r) => (started = r));
      const done = pg
        .transaction(async (t) => {
          const commit = await new Promise<boolean>((end) => {
            open.set(tx, { t, end });
            started();
          });
          if (!commit) throw new Rollback();
        })
        .then(
          () => ({ ok: true as const }),
          (e) => (e instanceof Rollback ? { ok: true as const } : { ok: false as const, e }),
        );
      ends.set(tx, done);
      // PGlite may refuse to begin (closed): report that instead of waiting forever.
      const first = await Promise.race([begun.then(() => null), done]);
      if (first && !first.ok) {
        ends.delete(tx);
        reply(m.id, false, first.e);
      } else reply(m.id, true, tx);
    } else if (m.op === 'end') {
      const o = open.get(m.tx);
      open.delete(m.tx);
      o?.end(m.commit);
      const r = await ends.get(m.tx);
      ends.delete(m.tx);
      if (r && !r.ok) reply(m.id, false, r.e);
      else reply(m.id, true);
    } else if (m.op === 'close') {
      if (!pg.closed) await pg.close();
      reply(m.id, true);
    }
  } catch (e) {
    reply(m.id, false, e);
  }
}
const ends = new Map<number, Promise<{ ok: true } | { ok: false; e: unknown }>>();

ready.then(
  () => parentPort!.postMessage({ ready: true }),
  (e) => parentPort!.postMessage({ ready: false, error: errorOf(e) }),
);
parentPort!.on('message', (m: Msg) => void handle(m));

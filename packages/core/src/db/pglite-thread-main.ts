/**
 * The body of the embedded database's thread (see pglite-thread.ts): one PGlite, driven by
 * messages that carry Postgres wire-protocol bytes, answered with the bytes Postgres wrote.
 * The caller serialises and parses (pg-protocol, as `pg` does); this thread only runs the
 * WASM backend, so it spends its time in Postgres, not in JS.
 *
 * One backend session serves every caller, so transactions are ordered here: 'begin'
 * sends BEGIN and answers with a transaction id; messages naming that id run at once;
 * every other message (another 'begin' included) waits, in arrival order, until 'end'
 * has sent COMMIT or ROLLBACK. This is what PGlite's own transaction() does with its
 * mutex, without its extra round trips.
 */
import { mkdirSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { serialize } from 'pg-protocol';

type Msg =
  /** Wire-protocol bytes to run (an extended-protocol query ending in Sync, or a simple Query). */
  | { id: number; op: 'run'; bytes: Uint8Array; tx?: number }
  | { id: number; op: 'begin' }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'close' };

const dataDir = (workerData as { dataDir: string }).dataDir;
if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
const ready = PGlite.create(dataDir, { extensions: { vector } });
/** The transaction in progress (its id), if any. */
let current = 0;
let nextTx = 1;
/** Messages waiting for the transaction in progress to end. */
const waiting: Msg[] = [];

function replyBytes(id: number, bytes: Uint8Array, extra: Record<string, unknown> = {}): void {
  // execProtocolRaw returns a copy of Postgres's output: its buffer can be handed over, not copied again.
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
  parentPort!.postMessage({ id, ok: true, bytes: own, ...extra }, [own.buffer as ArrayBuffer]);
}
const replyError = (id: number, e: unknown) => parentPort!.postMessage({ id, ok: false, error: errorOf(e) });
function errorOf(e: unknown) {
  const err = e as Error;
  return { name: err?.name ?? 'Error', message: err?.message ?? String(e), stack: err?.stack };
}

/**
 * Runs protocol bytes and returns what Postgres wrote. Through execProtocolRawStream, whose
 * callback only copies the output: execProtocolRaw would also parse every message of it in
 * JS (PGlite's own bookkeeping of errors and notifications, which nothing here uses), and
 * that parse was a good part of this thread's time on queries returning many rows.
 */
async function run(bytes: Uint8Array): Promise<Uint8Array> {
  const pg = await ready;
  return pg.runExclusive(async () => {
    const chunks: Uint8Array[] = [];
    let length = 0;
    // The chunks are views of the WASM memory, reused after the call: copied at once.
    await pg.execProtocolRawStream(bytes, { onRawData: (chunk) => (chunks.push(chunk.slice()), (length += chunk.length)) });
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(length);
    let at = 0;
    for (const c of chunks) out.set(c, at), (at += c.length);
    return out;
  });
}

async function handle(m: Msg): Promise<void> {
  try {
    if (m.op === 'run') replyBytes(m.id, await run(m.bytes));
    else if (m.op === 'begin') {
      const tx = nextTx++;
      current = tx;
      replyBytes(m.id, await run(serialize.query('BEGIN')), { tx });
    } else if (m.op === 'end') {
      const out = await run(serialize.query(m.commit ? 'COMMIT' : 'ROLLBACK'));
      current = 0;
      replyBytes(m.id, out);
      drain();
    } else if (m.op === 'close') {
      const pg = await ready;
      if (!pg.closed) await pg.close();
      parentPort!.postMessage({ id: m.id, ok: true });
    }
  } catch (e) {
    if (m.op === 'begin') current = 0;
    if (m.op === 'end') (current = 0), drain();
    replyError(m.id, e);
  }
}

/** Takes a message now, or queues it behind the transaction in progress. */
function accept(m: Msg): void {
  const ownsCurrent = (m.op === 'run' || m.op === 'end') && m.tx !== undefined && m.tx === current;
  if (current !== 0 && !ownsCurrent) {
    waiting.push(m);
    return;
  }
  void handle(m);
}

/** After a transaction ends: runs the queued messages in order until one opens the next transaction. */
function drain(): void {
  while (current === 0 && waiting.length > 0) accept(waiting.shift()!);
}

ready.then(
  () => parentPort!.postMessage({ ready: true }),
  (e) => parentPort!.postMessage({ ready: false, error: errorOf(e) }),
);
parentPort!.on('message', (m: Msg) => accept(m));

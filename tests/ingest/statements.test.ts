import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScrubber, ingestBatch, type Db, type Queryable, type Tx } from '@driftwatch/core';
import { ingestHarness } from './harness.js';

/**
 * A batch is written in one multi-row INSERT per table per chunk, never row by row.
 * The statements are counted by a wrapper around the Db's query method (as bench/fleet.ts's
 * tracing() does): each transaction (one chunk) records the INSERTs it ran and how many
 * rows each one wrote.
 */
interface Insert {
  table: string;
  rows: number;
}

function counting(inner: Db, txs: Insert[][], outside: Insert[] = []): Db {
  const track = (q: Queryable, log: Insert[]) => async (sql: string, params?: readonly unknown[]) => {
    const r = await q.query(sql, params);
    const m = /^\s*INSERT\s+INTO\s+(\w+)/i.exec(sql);
    if (m) log.push({ table: m[1], rows: r.rowCount });
    return r;
  };
  return {
    kind: inner.kind,
    query: track(inner, outside) as Db['query'],
    exec: (sql) => inner.exec(sql),
    transaction: (fn) =>
      inner.transaction((tx: Tx) => {
        const log: Insert[] = [];
        txs.push(log);
        return fn({ query: track(tx, log) as Tx['query'], exec: (sql) => tx.exec(sql) });
      }),
    close: () => inner.close(),
  } as Db;
}

const DIM = 1536;
const vector = (k: number) => Array.from({ length: DIM }, (_, j) => Math.round(Math.sin(k * 7 + j) * 1e6) / 1e6);
const batchOf = (run: string) => [
  ...Array.from({ length: 50 }, (_, k) => ({
    id: `${run}-i${k}`, type: 'interaction',
    body: { model: 'stmt-bot', query: `question ${k}`, response: 'answer', latency_ms: 100 + k, embedding: vector(k) },
  })),
  ...Array.from({ length: 20 }, (_, k) => ({ id: `${run}-e${k}`, type: 'evaluation', body: { model: 'stmt-bot', eval_set: 'golden', input: `in ${k}`, expected: 'a', predicted: 'a', correct: true } })),
];
/** Inserts into the three data tables (the ingest_events claims and embedding_dims are bookkeeping). */
const dataInserts = (txs: Insert[][]) => txs.map((t) => t.filter((s) => ['interaction_log', 'embeddings_log', 'evaluation_log'].includes(s.table))).filter((t) => t.length);

let h: Awaited<ReturnType<typeof ingestHarness>>;
beforeAll(async () => {
  h = await ingestHarness({ config: { ingest: { compute_embeddings: false } } });
});
afterAll(() => h?.close());

describe('batches are written in one multi-row statement per table', () => {
  it('one chunk: 50 interactions with 1,536-d embeddings and 20 evaluations are one INSERT into each table', async () => {
    const txs: Insert[][] = [];
    const out = await ingestBatch(counting(h.db, txs), batchOf('one'), { scrub: createScrubber(), computeEmbeddings: false, chunkBytes: 50_000_000 });
    expect(out.errors).toEqual([]);
    expect(out.successes).toHaveLength(70);
    expect(dataInserts(txs)).toEqual([
      [{ table: 'interaction_log', rows: 50 }, { table: 'embeddings_log', rows: 50 }],
      [{ table: 'evaluation_log', rows: 20 }],
    ]);
    // And one claim statement per chunk for the event ids.
    expect(txs.map((t) => t.filter((s) => s.table === 'ingest_events'))).toEqual([[{ table: 'ingest_events', rows: 50 }], [{ table: 'ingest_events', rows: 20 }]]);
  });

  it('through POST /v1/ingest with the default chunking: one INSERT per table per chunk, every row in one of them', async () => {
    const txs: Insert[][] = [];
    const outside: Insert[] = [];
    const db = h.ctx.db;
    h.ctx.db = counting(db, txs, outside);
    try {
      const r = await h.post('/v1/ingest', { batch: batchOf('http') });
      expect(r.status).toBe(207);
      expect(r.json.errors).toEqual([]);
    } finally {
      h.ctx.db = db;
    }
    const chunks = dataInserts(txs);
    // 50 vectors of ~18 KB of text exceed one chunk's ~600 KB of parameters: two interaction chunks, then the evaluations.
    expect(chunks.length).toBe(3);
    for (const c of chunks.slice(0, 2)) {
      expect(c.map((s) => s.table)).toEqual(['interaction_log', 'embeddings_log']);
      expect(c[0].rows).toBe(c[1].rows);
      expect(c[0].rows).toBeGreaterThan(1);
    }
    expect(chunks[0][0].rows + chunks[1][0].rows).toBe(50);
    expect(chunks[2]).toEqual([{ table: 'evaluation_log', rows: 20 }]);
    // Nothing was written outside a chunk's transaction.
    expect(outside).toEqual([]);
    const stored = (await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM interaction_log i JOIN embeddings_log e ON e.interaction_id = i.id WHERE i.event_id LIKE 'http-%'`)).rows[0].n;
    expect(stored).toBe(50);
  });
});

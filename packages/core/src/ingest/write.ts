import { createHash } from 'node:crypto';
import type { Queryable } from '../db/types.js';

/**
 * Multi-row writers: one INSERT per table per chunk, never row by row. Callers run them
 * inside a transaction and chunk their input (see chunked()), so no statement holds the
 * embedded database for long.
 */

export interface InteractionRow {
  event_id: string | null;
  model: string;
  model_version: string | null;
  ts: string | null;
  query: string;
  response: string;
  error: string | null;
  latency_ms: number | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cost_usd: number | null;
  feedback_score: number | null;
  task_success: boolean | null;
  embedding: number[] | null;
}

export interface EmbeddingRow {
  model: string;
  ts: string | null;
  source: string;
  embedding: number[];
  interaction_id?: number | null;
}

export interface EvaluationRow {
  model: string;
  model_version: string | null;
  ts: string | null;
  eval_set: string;
  item_id: string | null;
  input: string | null;
  expected: string | null;
  predicted: string | null;
  correct: boolean | null;
  score: number | null;
}

export interface DocumentRow {
  model: string;
  doc_key: string;
  content: string;
  metadata: Record<string, unknown>;
  embedding: number[] | null;
  embedding_model: string | null;
}

/** `($1,$2),($3,$4)` for rows of params, with per-column SQL wrappers (e.g. `$::vector`). */
export function valuesList(rows: unknown[][], wrap: (string | null)[] = []): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const tuples = rows.map((r) => {
    const cells = r.map((v, c) => {
      params.push(v);
      const p = `$${params.length}`;
      return wrap[c] ? wrap[c]!.replace('$', p) : p;
    });
    return `(${cells.join(',')})`;
  });
  return { sql: tuples.join(','), params };
}

/** Splits items into chunks of at most maxRows rows and about maxBytes of parameters each. */
export function chunked<T>(items: T[], maxRows: number, maxBytes: number, size: (t: T) => number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const it of items) {
    const b = size(it);
    if (cur.length && (cur.length >= maxRows || bytes + b > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(it);
    bytes += b;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Rough parameter size of a row: its strings plus about 12 bytes per vector component. */
export function rowBytes(r: object): number {
  let n = 64;
  for (const v of Object.values(r)) {
    if (typeof v === 'string') n += v.length;
    else if (Array.isArray(v)) n += v.length * 12;
    else if (v && typeof v === 'object') n += JSON.stringify(v).length;
  }
  return n;
}

/** pgvector text of a vector ('[1,2,3]'); join is several times faster than concatenating 1,536 numbers. */
const toVectorText = (v: ArrayLike<number>) => `[${Array.prototype.join.call(v, ',')}]`;

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Fixes the dimension of each (model, source) at its first embedding and checks the
 * others against it. Returns, per item, null or the error message naming both dimensions.
 */
export async function checkDimensions(tx: Queryable, items: { model: string; source: string; dim: number }[]): Promise<(string | null)[]> {
  if (items.length === 0) return [];
  const first = new Map<string, { model: string; source: string; dim: number }>();
  for (const it of items) {
    const k = `${it.model}\u0000${it.source}`;
    if (!first.has(k)) first.set(k, it);
  }
  const v = valuesList([...first.values()].map((x) => [x.model, x.source, x.dim]), [null, null, '$::int']);
  await tx.query(`INSERT INTO embedding_dims (model, source, dim) VALUES ${v.sql} ON CONFLICT (model, source) DO NOTHING`, v.params);
  const w = valuesList([...first.values()].map((x) => [x.model, x.source]));
  const { rows } = await tx.query<{ model: string; source: string; dim: number }>(
    `SELECT d.model, d.source, d.dim FROM embedding_dims d JOIN (VALUES ${w.sql}) AS k(model, source) ON d.model = k.model AND d.source = k.source`,
    w.params,
  );
  const dims = new Map(rows.map((r) => [`${r.model}\u0000${r.source}`, Number(r.dim)]));
  return items.map((it) => {
    const want = dims.get(`${it.model}\u0000${it.source}`);
    return want === undefined || want === it.dim
      ? null
      : `embedding has ${it.dim} dimensions, but model "${it.model}" (${it.source} embeddings) has ${want}; send ${want}-dimensional vectors from the same embedding model, or log under another model name`;
  });
}

/** Inserts interactions (one statement), their embeddings (one statement) and applies held feedback. Returns ids in input order. */
export async function insertInteractionRows(tx: Queryable, rows: InteractionRow[], opts: { computeEmbeddings: boolean }): Promise<number[]> {
  if (rows.length === 0) return [];
  const v = valuesList(
    rows.map((i) => [
      i.event_id, i.model, i.model_version, i.ts, i.query, i.response, i.error, i.latency_ms, i.prompt_tokens, i.completion_tokens, i.cost_usd, i.feedback_score, i.task_success,
      i.embedding ? null : opts.computeEmbeddings ? 'pending' : null,
      i.feedback_score !== null || i.task_success !== null ? 'now' : null,
    ]),
    [null, null, null, 'coalesce($::timestamptz, now())', null, null, null, '$::int', '$::int', '$::int', '$::float8', '$::smallint', '$::boolean', null, '$::timestamptz'],
  );
  const res = await tx.query<{ id: number }>(
    `INSERT INTO interaction_log (event_id, model, model_version, ts, query, response, error, latency_ms, prompt_tokens, completion_tokens, cost_usd, feedback_score, task_success, embed_state, feedback_at)
     VALUES ${v.sql} RETURNING id`,
    v.params,
  );
  // RETURNING of a multi-row VALUES insert comes back in VALUES order.
  const ids = res.rows.map((r) => Number(r.id));
  const withEmb = rows.map((r, k) => ({ r, id: ids[k] })).filter((x) => x.r.embedding);
  await insertEmbeddingRows(tx, withEmb.map((x) => ({ model: x.r.model, ts: x.r.ts, source: 'query', embedding: x.r.embedding!, interaction_id: x.id })));
  await applyHeldFeedback(tx, ids);
  return ids;
}

export async function insertEmbeddingRows(tx: Queryable, rows: EmbeddingRow[]): Promise<number[]> {
  if (rows.length === 0) return [];
  const v = valuesList(
    rows.map((e) => [e.model, e.ts, e.source, e.interaction_id ?? null, toVectorText(e.embedding), e.embedding.length]),
    [null, 'coalesce($::timestamptz, now())', null, '$::bigint', '$::vector', '$::int'],
  );
  const res = await tx.query<{ id: number }>(`INSERT INTO embeddings_log (model, ts, source, interaction_id, embedding, dim) VALUES ${v.sql} RETURNING id`, v.params);
  return res.rows.map((r) => Number(r.id));
}

export async function insertEvaluationRows(tx: Queryable, rows: EvaluationRow[]): Promise<number[]> {
  if (rows.length === 0) return [];
  const v = valuesList(
    rows.map((e) => [e.model, e.model_version, e.ts, e.eval_set, e.item_id, e.input, e.expected, e.predicted, e.correct, e.score]),
    [null, null, 'coalesce($::timestamptz, now())', null, null, null, null, null, '$::boolean', '$::float8'],
  );
  const res = await tx.query<{ id: number }>(
    `INSERT INTO evaluation_log (model, model_version, ts, eval_set, item_id, input, expected, predicted, correct, score) VALUES ${v.sql} RETURNING id`,
    v.params,
  );
  return res.rows.map((r) => Number(r.id));
}

/**
 * Upserts documents by (model, doc_key). A document sent with an embedding is stored as
 * indexed; one without (or with new text) is stale until re-indexing embeds it.
 * A (model, doc_key) must appear at most once per call.
 */
export async function upsertDocumentRows(tx: Queryable, rows: DocumentRow[]): Promise<number[]> {
  if (rows.length === 0) return [];
  const v = valuesList(
    rows.map((d) => {
      const hash = sha256(d.content);
      return [d.model, d.doc_key, d.content, hash, JSON.stringify(d.metadata), d.embedding ? toVectorText(d.embedding) : null, d.embedding ? (d.embedding_model ?? 'client') : null, d.embedding ? hash : null];
    }),
    [null, null, null, null, '$::jsonb', '$::vector', null, null],
  );
  const res = await tx.query<{ id: number }>(
    `INSERT INTO documents (model, doc_key, content, content_hash, metadata, embedding, embedding_model, indexed_hash, indexed_at, updated_at)
     SELECT v.model, v.doc_key, v.content, v.content_hash, v.metadata, v.embedding, v.embedding_model, v.indexed_hash, CASE WHEN v.indexed_hash IS NULL THEN NULL ELSE now() END, now()
       FROM (VALUES ${v.sql}) AS v(model, doc_key, content, content_hash, metadata, embedding, embedding_model, indexed_hash)
     ON CONFLICT (model, doc_key) DO UPDATE SET
       content = excluded.content, content_hash = excluded.content_hash, metadata = excluded.metadata, updated_at = now(),
       embedding = coalesce(excluded.embedding, documents.embedding),
       embedding_model = coalesce(excluded.embedding_model, documents.embedding_model),
       indexed_hash = coalesce(excluded.indexed_hash, documents.indexed_hash),
       indexed_at = coalesce(excluded.indexed_at, documents.indexed_at)
     RETURNING id`,
    v.params,
  );
  return res.rows.map((r) => Number(r.id));
}

/**
 * Applies held feedback whose interaction is now stored (among ids, or any when ids is
 * not given): the newest held score and task_success per interaction win. Returns how
 * many held events were applied.
 */
export async function applyHeldFeedback(tx: Queryable, ids?: number[]): Promise<number> {
  if (ids && ids.length === 0) return 0;
  const scope = ids ? `AND i.id IN (${ids.map((_, k) => `$${k + 1}`).join(',')})` : '';
  const { rows } = await tx.query<{ event_id: string }>(
    `WITH m AS (
       SELECT h.event_id, h.score, h.task_success, h.received_at, i.id AS interaction_id
         FROM held_feedback h JOIN interaction_log i ON h.interaction_ref = i.event_id
        WHERE h.state = 'held' ${scope}
       UNION
       SELECT h.event_id, h.score, h.task_success, h.received_at, i.id
         FROM held_feedback h JOIN interaction_log i ON i.id = (CASE WHEN h.interaction_ref ~ '^[0-9]{1,15}$' THEN h.interaction_ref::bigint END)
        WHERE h.state = 'held' ${scope}
     ), latest AS (
       SELECT interaction_id,
              (array_agg(score ORDER BY received_at DESC) FILTER (WHERE score IS NOT NULL))[1] AS score,
              (array_agg(task_success ORDER BY received_at DESC) FILTER (WHERE task_success IS NOT NULL))[1] AS task_success
         FROM m GROUP BY interaction_id
     ), upd AS (
       UPDATE interaction_log i SET feedback_score = coalesce(l.score, i.feedback_score), task_success = coalesce(l.task_success, i.task_success), feedback_at = now()
         FROM latest l WHERE i.id = l.interaction_id RETURNING i.id
     )
     UPDATE held_feedback h SET state = 'applied', interaction_id = m.interaction_id, resolved_at = now()
       FROM m WHERE h.event_id = m.event_id
     RETURNING h.event_id`,
    ids ?? [],
  );
  return rows.length;
}

/** Marks held feedback past its time as expired (reported by the ingest status). Returns how many. */
export async function expireHeldFeedback(tx: Queryable, now: Date): Promise<number> {
  const r = await tx.query(`UPDATE held_feedback SET state = 'expired', resolved_at = $1 WHERE state = 'held' AND expires_at <= $1`, [now.toISOString()]);
  return r.rowCount;
}

export interface FeedbackRow {
  event_id: string;
  ref: string;
  score: number | null;
  task_success: boolean | null;
}

/**
 * Applies feedback to the interactions it names (Driftwatch id or client event id);
 * feedback whose interaction is not stored yet is held until holdUntil. Returns, per row,
 * the interaction id it was applied to, 'held', or 'full' when holdMax events are already held.
 */
export async function writeFeedbackRows(tx: Queryable, rows: FeedbackRow[], holdUntil: Date, holdMax = Infinity): Promise<(number | 'held' | 'full')[]> {
  if (rows.length === 0) return [];
  const refs = [...new Set(rows.map((r) => r.ref))];
  const numeric = refs.filter((r) => /^\d{1,15}$/.test(r));
  const p = refs.map((_, k) => `$${k + 1}`).join(',');
  const q = numeric.map((_, k) => `$${refs.length + k + 1}::bigint`).join(',');
  const { rows: found } = await tx.query<{ id: number; event_id: string | null }>(
    `SELECT id, event_id FROM interaction_log WHERE event_id IN (${p})${numeric.length ? ` OR id IN (${q})` : ''}`,
    [...refs, ...numeric],
  );
  const byRef = new Map<string, number>();
  for (const f of found) {
    byRef.set(String(f.id), Number(f.id));
    if (f.event_id) byRef.set(f.event_id, Number(f.id));
  }
  const targets = rows.map((r) => byRef.get(r.ref) ?? null);
  const apply = rows.map((r, k) => ({ r, id: targets[k] })).filter((x) => x.id !== null);
  if (apply.length) {
    // Later rows of the same interaction win: apply one statement per interaction's last values.
    const last = new Map<number, { score: number | null; task_success: boolean | null }>();
    for (const { r, id } of apply) {
      const prev = last.get(id!) ?? { score: null, task_success: null };
      last.set(id!, { score: r.score ?? prev.score, task_success: r.task_success ?? prev.task_success });
    }
    const v = valuesList([...last].map(([id, x]) => [id, x.score, x.task_success]), ['$::bigint', '$::smallint', '$::boolean']);
    await tx.query(
      `UPDATE interaction_log i SET feedback_score = coalesce(v.score, i.feedback_score), task_success = coalesce(v.task_success, i.task_success), feedback_at = now()
         FROM (VALUES ${v.sql}) AS v(id, score, task_success) WHERE i.id = v.id`,
      v.params,
    );
  }
  let room = holdMax;
  if (Number.isFinite(holdMax) && targets.some((t) => t === null)) {
    const { rows: c } = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM held_feedback WHERE state = 'held'`);
    room = Math.max(0, holdMax - Number(c[0].n));
  }
  const out: (number | 'held' | 'full')[] = targets.map((t) => (t !== null ? t : room-- > 0 ? 'held' : 'full'));
  const held = rows.filter((_, k) => out[k] === 'held');
  if (held.length) {
    const v = valuesList(held.map((r) => [r.event_id, r.ref, r.score, r.task_success, holdUntil.toISOString()]), [null, null, '$::smallint', '$::boolean', '$::timestamptz']);
    await tx.query(`INSERT INTO held_feedback (event_id, interaction_ref, score, task_success, expires_at) VALUES ${v.sql} ON CONFLICT (event_id) DO NOTHING`, v.params);
  }
  return out;
}

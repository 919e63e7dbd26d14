import type { Db, Tx } from '../db/types.js';
import type { Scrubber } from '../privacy/index.js';
import { bodySchemas, ingestEvent, type EventType, type IngestFailure, type IngestResponse, type IngestSuccess } from './schemas.js';
import { canonicalJson, findNul, firstProblem, timeOf } from './validate.js';
import {
  checkDimensions, chunked, insertEmbeddingRows, insertEvaluationRows, insertInteractionRows, rowBytes, sha256, upsertDocumentRows, writeFeedbackRows,
  type DocumentRow, type EmbeddingRow, type EvaluationRow, type FeedbackRow, type InteractionRow,
} from './write.js';

/** How a batch is written. Defaults are those of config `ingest.*`. */
export interface BatchOptions {
  /** The PII scrubber (createScrubber(config.privacy)); runs on every text before it is stored. */
  scrub: Scrubber;
  now?: Date;
  /** Rows per multi-row statement. Default 200. */
  chunkRows?: number;
  /** About this many bytes of parameters per statement (a 1,536-d vector is ~18 KB of text, so ~33 rows). Default 600 KB. */
  chunkBytes?: number;
  /** Mark interactions without an embedding for the embed queue. Default true. */
  computeEmbeddings?: boolean;
  /** How long feedback for an unknown interaction is held. Default 24 h. */
  feedbackHoldMs?: number;
  /** At most this many held feedback events. Default 100000. */
  feedbackHoldMax?: number;
  /** Told about a storage failure (the events of that chunk are reported 503). */
  onStorageError?: (err: unknown) => void;
}

export interface BatchOutcome extends IngestResponse {
  /** Interactions stored without an embedding, to be embedded by the embed queue. */
  pendingEmbeddings: number[];
}

interface Valid {
  index: number;
  id: string;
  type: EventType;
  hash: string;
  row: InteractionRow | EmbeddingRow | EvaluationRow | FeedbackRow | DocumentRow;
  dims?: { model: string; source: string; dim: number };
}

const DAY = 86_400_000;
const ORDER: EventType[] = ['interaction', 'document', 'embedding', 'evaluation', 'feedback'];

function iso(v: unknown): string | null {
  const t = timeOf(v);
  return t === null ? null : new Date(t).toISOString();
}

/** Validates one event; returns the row to write, or the problem (field path + fix). */
function validate(raw: unknown, index: number, now: number, scrub: Scrubber): Valid | IngestFailure {
  const id = raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string' ? ((raw as { id: string }).id || null) : null;
  const fail = (field: string, message: string): IngestFailure => ({ id, status: 400, message: `batch[${index}].${field}: ${message}` });
  const env = ingestEvent.safeParse(raw);
  if (!env.success) {
    const p = firstProblem(env.error, raw);
    return fail(p.field, p.message);
  }
  const ev = env.data;
  const parsed = bodySchemas[ev.type].safeParse(ev.body);
  if (!parsed.success) {
    const p = firstProblem(parsed.error, ev.body, ['body']);
    return fail(p.field, p.message);
  }
  const b = parsed.data as Record<string, unknown>;
  const nul = findNul(ev.body, 'body');
  if (nul) return fail(nul, 'contains a NUL character (\\u0000), which cannot be stored; remove it');
  for (const [field, v] of [['timestamp', ev.timestamp], ['body.ts', b.ts]] as const) {
    const t = timeOf(v);
    if (v !== undefined && (t === null || !Number.isFinite(t))) return fail(field, 'not a valid time; send ISO 8601 (2024-05-01T12:00:00Z) or epoch milliseconds');
    if (t !== null && t < 0) return fail(field, `${new Date(t).toISOString()} is before 1970; send when the event happened (UTC)`);
    if (t !== null && t > now + DAY) return fail(field, `${new Date(t).toISOString()} is more than a day in the future; send when the event happened (UTC), or leave it out to use the time of arrival`);
  }
  const ts = iso(b.ts ?? ev.timestamp);
  const hash = sha256(canonicalJson({ type: ev.type, timestamp: ev.timestamp, body: ev.body }));
  const base = { index, id: ev.id, type: ev.type, hash };
  switch (ev.type) {
    case 'interaction': {
      const emb = (b.embedding as number[] | undefined) ?? null;
      const row: InteractionRow = {
        event_id: ev.id, model: b.model as string, model_version: (b.model_version as string) ?? null, ts,
        query: scrub(b.query as string), response: scrub(b.response as string), error: scrub((b.error as string | null | undefined) ?? null) ?? null,
        latency_ms: (b.latency_ms as number) ?? null, prompt_tokens: (b.prompt_tokens as number) ?? null, completion_tokens: (b.completion_tokens as number) ?? null,
        cost_usd: (b.cost_usd as number) ?? null, feedback_score: (b.feedback_score as number) ?? null, task_success: (b.task_success as boolean) ?? null, embedding: emb,
      };
      return { ...base, row, dims: emb ? { model: row.model, source: 'query', dim: emb.length } : undefined };
    }
    case 'embedding': {
      const row: EmbeddingRow = { model: b.model as string, ts, source: b.source as string, embedding: b.embedding as number[] };
      return { ...base, row, dims: { model: row.model, source: row.source, dim: row.embedding.length } };
    }
    case 'evaluation':
      return {
        ...base,
        row: {
          model: b.model as string, model_version: (b.model_version as string) ?? null, ts, eval_set: b.eval_set as string, item_id: (b.item_id as string) ?? null,
          input: scrub((b.input as string) ?? null) ?? null, expected: scrub((b.expected as string) ?? null) ?? null, predicted: scrub((b.predicted as string) ?? null) ?? null,
          correct: (b.correct as boolean) ?? null, score: (b.score as number) ?? null,
        } satisfies EvaluationRow,
      };
    case 'feedback':
      return { ...base, row: { event_id: ev.id, ref: String(b.interaction_id), score: (b.score as number) ?? null, task_success: (b.task_success as boolean) ?? null } satisfies FeedbackRow };
    case 'document':
      return {
        ...base,
        row: {
          model: b.model as string, doc_key: (b.doc_key as string) ?? ev.id, content: scrub(b.text as string), metadata: scrubDeep(b.metadata ?? {}, scrub) as Record<string, unknown>,
          embedding: (b.embedding as number[]) ?? null, embedding_model: (b.embedding_model as string) ?? null,
        } satisfies DocumentRow,
      };
  }
}

function scrubDeep(v: unknown, scrub: Scrubber): unknown {
  if (typeof v === 'string') return scrub(v);
  if (Array.isArray(v)) return v.map((x) => scrubDeep(x, scrub));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrubDeep(x, scrub)]));
  return v;
}

/** Documents: a (model, doc_key) at most once per chunk (one upsert may not touch a row twice). */
function docChunks(items: Valid[], maxRows: number, maxBytes: number): Valid[][] {
  const out: Valid[][] = [];
  let cur: Valid[] = [];
  let keys = new Set<string>();
  let bytes = 0;
  for (const it of items) {
    const d = it.row as DocumentRow;
    const k = `${d.model}\u0000${d.doc_key}`;
    const b = rowBytes(d);
    if (cur.length && (cur.length >= maxRows || bytes + b > maxBytes || keys.has(k))) {
      out.push(cur);
      cur = [];
      keys = new Set();
      bytes = 0;
    }
    cur.push(it);
    keys.add(k);
    bytes += b;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * Stores a batch of events: every valid event is stored, every invalid one reported with
 * its field path, nothing of an invalid event written. Idempotent by event id, enforced
 * by the ingest_events primary key: the same id and body again is a 200 duplicate, another
 * body under a used id a 409. Each chunk (one multi-row statement per table) is its own
 * transaction, so a chunk that the database fails is reported 503 as a whole and can be
 * retried with the same ids.
 */
export async function ingestBatch(db: Db, events: unknown[], opts: BatchOptions): Promise<BatchOutcome> {
  const now = (opts.now ?? new Date()).getTime();
  const successes: (IngestSuccess & { index: number })[] = [];
  const errors: (IngestFailure & { index: number })[] = [];
  const pendingEmbeddings: number[] = [];
  const firstById = new Map<string, Valid>();
  const groups = new Map<EventType, Valid[]>();
  events.forEach((raw, index) => {
    const v = validate(raw, index, now, opts.scrub);
    if (!('hash' in v)) {
      errors.push({ ...v, index });
      return;
    }
    const first = firstById.get(v.id);
    if (first) {
      // The same id twice in one batch: as if the second were a retry of the first.
      if (first.hash === v.hash) successes.push({ index, id: v.id, status: 200, duplicate: true });
      else errors.push({ index, id: v.id, status: 409, message: `batch[${index}].id: "${v.id}" is used by batch[${first.index}] with a different event; give each event its own id` });
      return;
    }
    firstById.set(v.id, v);
    const g = groups.get(v.type) ?? [];
    g.push(v);
    groups.set(v.type, g);
  });

  const maxRows = opts.chunkRows ?? 200;
  const maxBytes = opts.chunkBytes ?? 600_000;
  for (const type of ORDER) {
    const items = groups.get(type);
    if (!items) continue;
    const chunks = type === 'document' ? docChunks(items, maxRows, maxBytes) : chunked(items, maxRows, maxBytes, (v) => rowBytes(v.row));
    for (const chunk of chunks) {
      try {
        const r = await db.transaction((tx) => writeChunk(tx, type, chunk, now, opts));
        successes.push(...r.successes);
        errors.push(...r.errors);
        pendingEmbeddings.push(...r.pending);
      } catch (err) {
        opts.onStorageError?.(err);
        for (const v of chunk) errors.push({ index: v.index, id: v.id, status: 503, message: `batch[${v.index}]: not stored (the database failed: ${(err as Error).message.slice(0, 200)}); nothing of it was written, retry with the same id` });
      }
    }
  }
  const byIndex = <T extends { index: number }>(a: T, b: T) => a.index - b.index;
  return {
    successes: successes.sort(byIndex).map(({ index: _i, ...s }) => s),
    errors: errors.sort(byIndex).map(({ index: _i, ...e }) => e),
    pendingEmbeddings,
  };
}

async function writeChunk(tx: Tx, type: EventType, chunk: Valid[], now: number, opts: BatchOptions) {
  const successes: (IngestSuccess & { index: number })[] = [];
  const errors: (IngestFailure & { index: number })[] = [];
  const pending: number[] = [];
  // 1. Dimensions first: a rejected event claims no id.
  let items = chunk;
  const withDims = items.filter((v) => v.dims);
  if (withDims.length) {
    const problems = await checkDimensions(tx, withDims.map((v) => v.dims!));
    const bad = new Set<Valid>();
    withDims.forEach((v, k) => {
      if (problems[k]) {
        bad.add(v);
        errors.push({ index: v.index, id: v.id, status: 400, message: `batch[${v.index}].body.embedding: ${problems[k]}` });
      }
    });
    items = items.filter((v) => !bad.has(v));
  }
  if (items.length === 0) return { successes, errors, pending };
  // 2. Claim the ids; the ones already claimed are duplicates or conflicts.
  const params = items.flatMap((v) => [v.id, v.type, v.hash]);
  const tuples = items.map((_, k) => `($${3 * k + 1},$${3 * k + 2},$${3 * k + 3})`).join(',');
  const claimed = new Set(
    (await tx.query<{ event_id: string }>(`INSERT INTO ingest_events (event_id, type, body_hash) VALUES ${tuples} ON CONFLICT (event_id) DO NOTHING RETURNING event_id`, params)).rows.map((r) => r.event_id),
  );
  const taken = items.filter((v) => !claimed.has(v.id));
  if (taken.length) {
    const { rows } = await tx.query<{ event_id: string; type: string; body_hash: string }>(
      `SELECT event_id, type, body_hash FROM ingest_events WHERE event_id IN (${taken.map((_, k) => `$${k + 1}`).join(',')})`,
      taken.map((v) => v.id),
    );
    const prior = new Map(rows.map((r) => [r.event_id, r]));
    for (const v of taken) {
      const p = prior.get(v.id);
      if (p && p.body_hash === v.hash) successes.push({ index: v.index, id: v.id, status: 200, duplicate: true });
      else errors.push({ index: v.index, id: v.id, status: 409, message: `batch[${v.index}].id: "${v.id}" was already used for a different ${p?.type ?? ''} event; a retry must send the same event, a new event needs a new id` });
    }
  }
  const fresh = items.filter((v) => claimed.has(v.id));
  if (fresh.length === 0) return { successes, errors, pending };
  // 3. Write: one multi-row statement per table.
  let ids: (number | 'held' | 'full')[];
  if (type === 'interaction') {
    const computeEmbeddings = opts.computeEmbeddings ?? true;
    ids = await insertInteractionRows(tx, fresh.map((v) => v.row as InteractionRow), { computeEmbeddings });
    if (computeEmbeddings) fresh.forEach((v, k) => (v.row as InteractionRow).embedding === null && pending.push(ids[k] as number));
  } else if (type === 'embedding') ids = await insertEmbeddingRows(tx, fresh.map((v) => v.row as EmbeddingRow));
  else if (type === 'evaluation') ids = await insertEvaluationRows(tx, fresh.map((v) => v.row as EvaluationRow));
  else if (type === 'document') ids = await upsertDocumentRows(tx, fresh.map((v) => v.row as DocumentRow));
  else {
    ids = await writeFeedbackRows(tx, fresh.map((v) => v.row as FeedbackRow), new Date(now + (opts.feedbackHoldMs ?? DAY)), opts.feedbackHoldMax ?? 100_000);
    const full = fresh.filter((_, k) => ids[k] === 'full');
    if (full.length) await tx.query(`DELETE FROM ingest_events WHERE event_id IN (${full.map((_, k) => `$${k + 1}`).join(',')})`, full.map((v) => v.id));
  }
  fresh.forEach((v, k) => {
    const r = ids[k];
    if (r === 'held') successes.push({ index: v.index, id: v.id, status: 202, held: true });
    else if (r === 'full') errors.push({ index: v.index, id: v.id, status: 503, message: `batch[${v.index}].body.interaction_id: interaction not stored yet and the feedback hold is full; send the interaction first or retry later` });
    else successes.push({ index: v.index, id: v.id, status: 201, row_id: r });
  });
  return { successes, errors, pending };
}

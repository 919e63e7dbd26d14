import type { z } from 'zod';
import { PermanentError } from '../../errors.js';
import { createScrubber, type Scrubber } from '../../privacy/index.js';
import { embeddingBody, evaluationBody, interactionBody } from '../../ingest/schemas.js';
import { findNul, firstProblem, timeOf } from '../../ingest/validate.js';
import { chunked, insertEmbeddingRows, insertEvaluationRows, insertInteractionRows, rowBytes, checkDimensions } from '../../ingest/write.js';
import type { Db } from '../types.js';

/**
 * The shortcut ingest paths (POST /v1/interactions, /v1/embeddings, /v1/evaluations, the
 * gateway, SQL-free imports): items without event ids, all or nothing. POST /v1/ingest
 * (ingest/batch.ts) is the idempotent batch path with per-event results.
 */

/** An interaction as the application sends it (HTTP ingest, SDK). */
export const interactionInput = interactionBody;
export const embeddingInput = embeddingBody;
export const evaluationInput = evaluationBody;

export type InteractionInput = z.input<typeof interactionInput>;
export type EmbeddingInput = z.input<typeof embeddingInput>;
export type EvaluationInput = z.input<typeof evaluationInput>;

/** An item of a batch is invalid; `field` is its key path inside the item ('' for the item itself). Nothing was written. */
export class IngestError extends PermanentError {
  override name = 'IngestError';
  constructor(
    readonly index: number,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`[${index}]${field ? `.${field}` : ''}: ${problem}`);
  }
}

/** How the shortcuts write: the scrubber (default: redact every kind) and whether to queue embeddings. */
export interface ShortcutOptions {
  scrub?: Scrubber;
  /** Mark interactions without an embedding for the embed queue. Default true. */
  computeEmbeddings?: boolean;
  /** Rows per multi-row statement. Default 200. */
  chunkRows?: number;
}

let defaultScrub: Scrubber | undefined;
const scrubberOf = (o: ShortcutOptions) => o.scrub ?? (defaultScrub ??= createScrubber());

function parseAll<S extends z.ZodType>(schema: S, items: unknown[]): z.infer<S>[] {
  return items.map((item, index) => {
    const r = schema.safeParse(item);
    if (r.success) {
      const nul = findNul(r.data, '');
      if (nul !== null) throw new IngestError(index, nul.replace(/^\./, ''), 'contains a NUL character (\\u0000), which cannot be stored; remove it');
      for (const t of ['ts']) {
        const v = (r.data as Record<string, unknown>)[t];
        const ms = timeOf(v);
        if (v !== undefined && (ms === null || !Number.isFinite(ms) || ms < 0)) throw new IngestError(index, t, 'not a valid time since 1970; send ISO 8601 (2024-05-01T12:00:00Z) or epoch milliseconds');
        if (ms !== null && ms > Date.now() + 86_400_000) throw new IngestError(index, t, `${new Date(ms).toISOString()} is more than a day in the future; send when it happened (UTC), or leave it out`);
      }
      return r.data as z.infer<S>;
    }
    const p = firstProblem(r.error, item);
    throw new IngestError(index, p.field === '(event)' ? '' : p.field, p.message);
  });
}

const iso = (v: unknown) => {
  const t = timeOf(v);
  return t === null ? null : new Date(t).toISOString();
};

/** Rejects embeddings whose dimension differs from their model's (checked in the transaction). */
async function assertDims(tx: Parameters<Parameters<Db['transaction']>[0]>[0], items: { index: number; model: string; source: string; dim: number }[]) {
  const problems = await checkDimensions(tx, items);
  const k = problems.findIndex((p) => p);
  if (k >= 0) throw new IngestError(items[k].index, 'embedding', problems[k]!);
}

/** Inserts interactions (and their query embeddings), scrubbed, in multi-row statements. Returns the new ids. */
export async function ingestInteractions(db: Db, items: InteractionInput[], opts: ShortcutOptions = {}): Promise<number[]> {
  const scrub = scrubberOf(opts);
  const rows = parseAll(interactionInput, items).map((i) => ({
    event_id: null, model: i.model, model_version: i.model_version ?? null, ts: iso(i.ts), query: scrub(i.query), response: scrub(i.response),
    error: scrub(i.error ?? null) ?? null, latency_ms: i.latency_ms ?? null, prompt_tokens: i.prompt_tokens ?? null, completion_tokens: i.completion_tokens ?? null,
    cost_usd: i.cost_usd ?? null, feedback_score: i.feedback_score ?? null, task_success: i.task_success ?? null, embedding: i.embedding ?? null,
  }));
  return db.transaction(async (tx) => {
    await assertDims(tx, rows.flatMap((r, index) => (r.embedding ? [{ index, model: r.model, source: 'query', dim: r.embedding.length }] : [])));
    const ids: number[] = [];
    for (const c of chunked(rows, opts.chunkRows ?? 200, 1_000_000, rowBytes)) ids.push(...(await insertInteractionRows(tx, c, { computeEmbeddings: opts.computeEmbeddings ?? true })));
    return ids;
  });
}

export async function ingestEmbeddings(db: Db, items: EmbeddingInput[], opts: ShortcutOptions = {}): Promise<number[]> {
  const rows = parseAll(embeddingInput, items).map((e) => ({ model: e.model, ts: iso(e.ts), source: e.source, embedding: e.embedding }));
  return db.transaction(async (tx) => {
    await assertDims(tx, rows.map((r, index) => ({ index, model: r.model, source: r.source, dim: r.embedding.length })));
    const ids: number[] = [];
    for (const c of chunked(rows, opts.chunkRows ?? 200, 1_000_000, rowBytes)) ids.push(...(await insertEmbeddingRows(tx, c)));
    return ids;
  });
}

export async function ingestEvaluations(db: Db, items: EvaluationInput[], opts: ShortcutOptions = {}): Promise<number[]> {
  const scrub = scrubberOf(opts);
  const rows = parseAll(evaluationInput, items).map((e) => ({
    model: e.model, model_version: e.model_version ?? null, ts: iso(e.ts), eval_set: e.eval_set, item_id: e.item_id ?? null,
    input: scrub(e.input ?? null) ?? null, expected: scrub(e.expected ?? null) ?? null, predicted: scrub(e.predicted ?? null) ?? null, correct: e.correct ?? null, score: e.score ?? null,
  }));
  return db.transaction(async (tx) => {
    const ids: number[] = [];
    for (const c of chunked(rows, opts.chunkRows ?? 200, 1_000_000, rowBytes)) ids.push(...(await insertEvaluationRows(tx, c)));
    return ids;
  });
}

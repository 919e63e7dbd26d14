import { z } from 'zod';
import { keyPath } from '../../config/errors.js';
import { PermanentError } from '../../errors.js';
import type { Db, Queryable } from '../types.js';
import { toVectorText } from '../vector.js';

const ts = z.coerce.date().optional();
const embedding = z.array(z.number().refine(Number.isFinite, 'expected finite numbers')).min(1, 'expected a non-empty array of numbers');

/** An interaction as the application sends it (HTTP ingest, SDK). */
export const interactionInput = z
  .object({
    model: z.string().min(1),
    model_version: z.string().optional(),
    ts,
    query: z.string(),
    response: z.string().default(''),
    error: z.string().nullable().optional(),
    latency_ms: z.number().int().nonnegative().optional(),
    prompt_tokens: z.number().int().nonnegative().optional(),
    completion_tokens: z.number().int().nonnegative().optional(),
    cost_usd: z.number().nonnegative().optional(),
    feedback_score: z.number().int().min(1).max(5).optional(),
    task_success: z.boolean().optional(),
    /** The query's embedding, stored in embeddings_log linked to the interaction. */
    embedding: embedding.optional(),
  })
  .strict();

export const embeddingInput = z
  .object({ model: z.string().min(1), ts, source: z.enum(['query', 'response', 'document']).default('query'), embedding })
  .strict();

export const evaluationInput = z
  .object({
    model: z.string().min(1),
    model_version: z.string().optional(),
    ts,
    eval_set: z.string().default('default'),
    item_id: z.string().optional(),
    /** The question asked; the fine-tune evaluation gate asks it of each candidate. */
    input: z.string().optional(),
    expected: z.string().optional(),
    predicted: z.string().optional(),
    correct: z.boolean().optional(),
    score: z.number().optional(),
  })
  .strict()
  .refine((e) => e.correct !== undefined || (e.expected !== undefined && e.predicted !== undefined), {
    message: 'give "correct", or both "expected" and "predicted"',
  });

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

/** Validates every item first, then inserts them all in one transaction: all or nothing. Returns the new ids. */
async function insertAll<S extends z.ZodType>(db: Db, schema: S, items: unknown[], insert: (tx: Queryable, item: z.infer<S>) => Promise<number>): Promise<number[]> {
  const parsed = items.map((item, index) => {
    const r = schema.safeParse(item);
    if (r.success) return r.data as z.infer<S>;
    const first = r.error.issues[0];
    const field = first.path.length ? keyPath(first.path) : '';
    throw new IngestError(index, first.code === 'unrecognized_keys' ? keyPath([...first.path, first.keys[0]]) : field, first.code === 'unrecognized_keys' ? 'unknown field; remove it or check the spelling' : first.message);
  });
  return db.transaction(async (tx) => {
    const ids: number[] = [];
    for (const item of parsed) ids.push(await insert(tx, item));
    return ids;
  });
}

const newId = (r: { rows: { id: number }[] }) => r.rows[0].id;

/** Inserts interactions (and their query embeddings). */
export function ingestInteractions(db: Db, items: InteractionInput[]): Promise<number[]> {
  return insertAll(db, interactionInput, items, async (tx, i) => {
    const id = newId(
      await tx.query<{ id: number }>(
        `INSERT INTO interaction_log (model, model_version, ts, query, response, error, latency_ms, prompt_tokens, completion_tokens, cost_usd, feedback_score, task_success)
         VALUES ($1, $2, coalesce($3, now()), $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
        [i.model, i.model_version ?? null, i.ts ?? null, i.query, i.response, i.error ?? null, i.latency_ms ?? null, i.prompt_tokens ?? null,
          i.completion_tokens ?? null, i.cost_usd ?? null, i.feedback_score ?? null, i.task_success ?? null],
      ),
    );
    if (i.embedding) {
      await tx.query(
        `INSERT INTO embeddings_log (model, ts, source, interaction_id, embedding, dim) VALUES ($1, coalesce($2, now()), 'query', $3, $4::vector, $5)`,
        [i.model, i.ts ?? null, id, toVectorText(i.embedding), i.embedding.length],
      );
    }
    return id;
  });
}

export function ingestEmbeddings(db: Db, items: EmbeddingInput[]): Promise<number[]> {
  return insertAll(db, embeddingInput, items, async (tx, e) =>
    newId(
      await tx.query<{ id: number }>(
        `INSERT INTO embeddings_log (model, ts, source, embedding, dim) VALUES ($1, coalesce($2, now()), $3, $4::vector, $5) RETURNING id`,
        [e.model, e.ts ?? null, e.source, toVectorText(e.embedding), e.embedding.length],
      ),
    ),
  );
}

export function ingestEvaluations(db: Db, items: EvaluationInput[]): Promise<number[]> {
  return insertAll(db, evaluationInput, items, async (tx, e) =>
    newId(
      await tx.query<{ id: number }>(
        `INSERT INTO evaluation_log (model, model_version, ts, eval_set, item_id, input, expected, predicted, correct, score)
         VALUES ($1, $2, coalesce($3, now()), $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
        [e.model, e.model_version ?? null, e.ts ?? null, e.eval_set, e.item_id ?? null, e.input ?? null, e.expected ?? null, e.predicted ?? null, e.correct ?? null, e.score ?? null],
      ),
    ),
  );
}

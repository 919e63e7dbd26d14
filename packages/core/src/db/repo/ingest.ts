import { z } from 'zod';
import type { Db } from '../types.js';
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

/** Inserts interactions (and their embeddings) in one transaction: all or nothing. */
export async function ingestInteractions(db: Db, items: InteractionInput[]): Promise<number[]> {
  const parsed = items.map((i) => interactionInput.parse(i));
  return db.transaction(async (tx) => {
    const ids: number[] = [];
    for (const i of parsed) {
      const r = await tx.query<{ id: number }>(
        `INSERT INTO interaction_log (model, model_version, ts, query, response, error, latency_ms, prompt_tokens, completion_tokens, cost_usd, feedback_score, task_success)
         VALUES ($1, $2, coalesce($3, now()), $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
        [i.model, i.model_version ?? null, i.ts ?? null, i.query, i.response, i.error ?? null, i.latency_ms ?? null, i.prompt_tokens ?? null,
          i.completion_tokens ?? null, i.cost_usd ?? null, i.feedback_score ?? null, i.task_success ?? null],
      );
      const id = r.rows[0].id;
      if (i.embedding) {
        await tx.query(
          `INSERT INTO embeddings_log (model, ts, source, interaction_id, embedding, dim) VALUES ($1, coalesce($2, now()), 'query', $3, $4::vector, $5)`,
          [i.model, i.ts ?? null, id, toVectorText(i.embedding), i.embedding.length],
        );
      }
      ids.push(id);
    }
    return ids;
  });
}

export async function ingestEmbeddings(db: Db, items: EmbeddingInput[]): Promise<number[]> {
  const parsed = items.map((i) => embeddingInput.parse(i));
  return db.transaction(async (tx) => {
    const ids: number[] = [];
    for (const e of parsed) {
      const r = await tx.query<{ id: number }>(
        `INSERT INTO embeddings_log (model, ts, source, embedding, dim) VALUES ($1, coalesce($2, now()), $3, $4::vector, $5) RETURNING id`,
        [e.model, e.ts ?? null, e.source, toVectorText(e.embedding), e.embedding.length],
      );
      ids.push(r.rows[0].id);
    }
    return ids;
  });
}

export async function ingestEvaluations(db: Db, items: EvaluationInput[]): Promise<number[]> {
  const parsed = items.map((i) => evaluationInput.parse(i));
  return db.transaction(async (tx) => {
    const ids: number[] = [];
    for (const e of parsed) {
      const r = await tx.query<{ id: number }>(
        `INSERT INTO evaluation_log (model, model_version, ts, eval_set, item_id, input, expected, predicted, correct, score)
         VALUES ($1, $2, coalesce($3, now()), $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
        [e.model, e.model_version ?? null, e.ts ?? null, e.eval_set, e.item_id ?? null, e.input ?? null, e.expected ?? null, e.predicted ?? null, e.correct ?? null, e.score ?? null],
      );
      ids.push(r.rows[0].id);
    }
    return ids;
  });
}

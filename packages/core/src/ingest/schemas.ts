import { z } from 'zod';

/**
 * The wire format of ingestion: one zod schema per event body, the batch envelope and
 * the per-event result. The server validates with these, /openapi.json is generated
 * from them and @driftwatch/sdk takes its types from them.
 */

/** A timestamp: ISO 8601 string or epoch milliseconds. At most a day in the future (checked at ingest). */
export const timestamp = z.union([z.iso.datetime({ offset: true }), z.iso.date(), z.number().int().nonnegative().max(8.64e15), z.date()]);
const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const FLOAT32_MAX = 3.4e38;
const float32 = finite.refine((v) => Math.abs(v) <= FLOAT32_MAX, 'out of the range of a 32-bit float (|x| <= 3.4e38)');
/**
 * A vector: checked in one loop (zod per element costs microseconds each, and a batch of
 * 100 x 1,536-d embeddings has 153,600 of them); the error names the first bad index.
 */
export const embeddingVector = z
  .array(z.unknown())
  .min(1, 'expected a non-empty array of numbers')
  .max(16_000, 'at most 16000 dimensions')
  .superRefine((v, ctx) => {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x !== 'number') return void ctx.addIssue({ code: 'custom', path: [i], message: `expected a number, got ${x === null ? 'null' : typeof x}` });
      if (!Number.isFinite(x)) return void ctx.addIssue({ code: 'custom', path: [i], message: 'expected a finite number, got ' + x });
      if (x > FLOAT32_MAX || x < -FLOAT32_MAX) return void ctx.addIssue({ code: 'custom', path: [i], message: 'out of the range of a 32-bit float (|x| <= 3.4e38)' });
    }
  })
  .transform((v) => v as number[]);

export const interactionBody = z
  .object({
    model: z.string().min(1).max(200),
    model_version: z.string().max(200).optional(),
    ts: timestamp.optional(),
    query: z.string().max(1_000_000),
    response: z.string().max(1_000_000).default(''),
    error: z.string().max(100_000).nullable().optional(),
    latency_ms: z.number().int().nonnegative().max(2_147_483_647).optional(),
    prompt_tokens: z.number().int().nonnegative().max(2_147_483_647).optional(),
    completion_tokens: z.number().int().nonnegative().max(2_147_483_647).optional(),
    cost_usd: z.number().nonnegative().optional(),
    feedback_score: z.number().int().min(1).max(5).optional(),
    task_success: z.boolean().optional(),
    /** The query's embedding; without one (and ingest.compute_embeddings on) it is computed by the embed queue. */
    embedding: embeddingVector.optional(),
  })
  .strict();

export const embeddingBody = z
  .object({
    model: z.string().min(1).max(200),
    ts: timestamp.optional(),
    source: z.enum(['query', 'response', 'document']).default('query'),
    embedding: embeddingVector,
  })
  .strict();

export const evaluationBody = z
  .object({
    model: z.string().min(1).max(200),
    model_version: z.string().max(200).optional(),
    ts: timestamp.optional(),
    eval_set: z.string().max(200).default('default'),
    item_id: z.string().max(200).optional(),
    input: z.string().max(1_000_000).optional(),
    expected: z.string().max(1_000_000).optional(),
    predicted: z.string().max(1_000_000).optional(),
    correct: z.boolean().optional(),
    score: float32.optional(),
  })
  .strict()
  .refine((e) => e.correct !== undefined || (e.expected !== undefined && e.predicted !== undefined), {
    message: 'give "correct", or both "expected" and "predicted"',
  });

/** Feedback on an interaction: by its Driftwatch id (number or digits) or by the client's event id. */
export const feedbackBody = z
  .object({
    interaction_id: z.union([z.string().min(1).max(128), z.number().int().positive()]),
    score: z.number().int().min(1).max(5).optional(),
    task_success: z.boolean().optional(),
  })
  .strict()
  .refine((f) => f.score !== undefined || f.task_success !== undefined, { message: 'give "score" (1-5), "task_success" (boolean) or both' });

/** A document of a model's retrieval corpus; re-indexing embeds it unless an embedding is given. */
export const documentBody = z
  .object({
    model: z.string().min(1).max(200),
    /** The document's key within the model's corpus; defaults to the event id. Same key again replaces the document. */
    doc_key: z.string().min(1).max(500).optional(),
    text: z.string().max(5_000_000),
    metadata: z.record(z.string(), z.unknown()).optional(),
    embedding: embeddingVector.optional(),
    /** Which model produced `embedding`. */
    embedding_model: z.string().max(200).optional(),
  })
  .strict();

export const EVENT_TYPES = ['interaction', 'embedding', 'evaluation', 'feedback', 'document'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const bodySchemas = {
  interaction: interactionBody,
  embedding: embeddingBody,
  evaluation: evaluationBody,
  feedback: feedbackBody,
  document: documentBody,
} as const;

/** One event of a batch. `id` is chosen by the client and makes retries harmless. */
export const ingestEvent = z
  .object({
    id: z.string().min(1).max(128),
    type: z.enum(EVENT_TYPES),
    /** When the event happened; the body's own ts wins. */
    timestamp: timestamp.optional(),
    body: z.record(z.string(), z.unknown()),
  })
  .strict();

export const ingestRequest = z.object({ batch: z.array(z.unknown()) }).strict();

export const ingestSuccess = z.object({ id: z.string(), status: z.union([z.literal(200), z.literal(201), z.literal(202)]), duplicate: z.boolean().optional(), held: z.boolean().optional(), row_id: z.number().optional() });
export const ingestFailure = z.object({ id: z.string().nullable(), status: z.number().int(), message: z.string() });
export const ingestResponse = z.object({ successes: z.array(ingestSuccess), errors: z.array(ingestFailure) });

export type InteractionBody = z.input<typeof interactionBody>;
export type EmbeddingBody = z.input<typeof embeddingBody>;
export type EvaluationBody = z.input<typeof evaluationBody>;
export type FeedbackBody = z.input<typeof feedbackBody>;
export type DocumentBody = z.input<typeof documentBody>;
export type IngestEvent = z.input<typeof ingestEvent>;
export type IngestSuccess = z.infer<typeof ingestSuccess>;
export type IngestFailure = z.infer<typeof ingestFailure>;
export type IngestResponse = z.infer<typeof ingestResponse>;

import OpenAI, { toFile } from 'openai';
import { MODERATION_CATEGORIES, type ModerationCategory, type ModerationProvider, type ModerationResult } from '../monitors/moderation.js';
import { callOpenAI } from './openai-errors.js';
import { chatCost, embeddingCost, fineTuneCost } from './prices.js';
import type { AnswerProvider, EmbeddingProvider, FineTuneProvider, FineTuneRequest, FineTuneStatus } from './types.js';

/**
 * Providers backed by the OpenAI API (or any OpenAI-compatible server at baseURL),
 * through the official SDK. The SDK's own retries are off (maxRetries 0): the queue
 * retries, pauses on 429 and backs off, and counts attempts (see queues/worker.ts).
 * Every SDK error goes through mapOpenAIError (openai-errors.ts).
 */
export interface OpenAIOptions {
  apiKey: string;
  /** OPENAI_BASE_URL; unset: https://api.openai.com/v1. */
  baseURL?: string;
  /** Per-request timeout. Default 60 s. */
  timeoutMs?: number;
}

export function openAIClient(o: OpenAIOptions): OpenAI {
  return new OpenAI({ apiKey: o.apiKey, baseURL: o.baseURL, maxRetries: 0, timeout: o.timeoutMs ?? 60_000 });
}

export class OpenAIEmbeddingProvider implements EmbeddingProvider {
  readonly name = 'openai';
  constructor(
    private readonly client: OpenAI,
    /** Default embedding model. */
    readonly model = 'text-embedding-3-small',
    /** Inputs per request (the API accepts up to 2048). */
    readonly batchSize = 100,
  ) {}

  async embed(texts: string[], model = this.model): Promise<{ vectors: Float32Array[]; cost_usd: number; model: string }> {
    if (texts.length === 0) return { vectors: [], cost_usd: 0, model };
    const res = await callOpenAI('embeddings', () => this.client.embeddings.create({ model, input: texts, encoding_format: 'float' }));
    if (res.data.length !== texts.length) throw new Error(`OpenAI embeddings: asked for ${texts.length} vectors, got ${res.data.length}`);
    const vectors: Float32Array[] = new Array(texts.length);
    for (const d of res.data) vectors[d.index] = Float32Array.from(d.embedding);
    return { vectors, cost_usd: embeddingCost(model, res.usage?.prompt_tokens ?? 0), model };
  }
}

/**
 * Moderation endpoint. Each result keeps OpenAI's own `flagged`, `categories` and
 * `category_scores` (every category of MODERATION_CATEGORIES; one the model does not
 * report is false / 0) plus score = the highest category score: the same shape as the
 * offline provider's. The endpoint is free.
 */
export class OpenAIModerationProvider implements ModerationProvider {
  readonly name = 'openai';
  constructor(
    private readonly client: OpenAI,
    readonly model = 'omni-moderation-latest',
  ) {}

  async moderate(texts: string[]): Promise<Required<ModerationResult>[]> {
    if (texts.length === 0) return [];
    const res = await callOpenAI('moderations', () => this.client.moderations.create({ model: this.model, input: texts }));
    if (res.results.length !== texts.length) throw new Error(`OpenAI moderations: asked about ${texts.length} texts, got ${res.results.length} results`);
    return res.results.map((r) => {
      const flags = (r.categories ?? {}) as unknown as Record<string, unknown>;
      const scores = (r.category_scores ?? {}) as unknown as Record<string, unknown>;
      const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
      const category_scores = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, num(scores[c])])) as Record<ModerationCategory, number>;
      const categories = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, flags[c] === true])) as Record<ModerationCategory, boolean>;
      return { flagged: r.flagged, score: Math.max(0, ...Object.values(scores).map(num)), categories, category_scores };
    });
  }
}

/** Metadata key of a fine-tuning job that holds the idempotency key of the start() that created it. */
export const IDEMPOTENCY_METADATA_KEY = 'driftwatch_start';

/** Supervised fine-tuning: uploads a JSONL training file, creates a job, reports its status. */
export class OpenAIFineTuneProvider implements FineTuneProvider {
  readonly name = 'openai';
  constructor(private readonly client: OpenAI) {}

  async start(req: FineTuneRequest): Promise<{ job_id: string; file_id: string }> {
    const jsonl = req.examples.map((e) => JSON.stringify(e)).join('\n') + '\n';
    const file = await callOpenAI('file upload', async () =>
      this.client.files.create({ file: await toFile(Buffer.from(jsonl, 'utf8'), `${req.suffix}.jsonl`, { type: 'application/jsonl' }), purpose: 'fine-tune' }),
    );
    const job = await callOpenAI('fine-tuning job creation', () =>
      this.client.fineTuning.jobs.create({
        model: req.base_model,
        training_file: file.id,
        suffix: req.suffix,
        metadata: { driftwatch_model: req.model, ...(req.idempotency_key ? { [IDEMPOTENCY_METADATA_KEY]: req.idempotency_key } : {}) },
      }),
    );
    return { job_id: job.id, file_id: file.id };
  }

  /** Finds a job by the idempotency key start() put in its metadata. */
  async findJob(idempotencyKey: string): Promise<{ job_id: string; file_id: string } | null> {
    const page = await callOpenAI('fine-tuning job lookup', () => this.client.fineTuning.jobs.list({ metadata: { [IDEMPOTENCY_METADATA_KEY]: idempotencyKey }, limit: 10 }));
    const job = page.data.find((j) => j.metadata?.[IDEMPOTENCY_METADATA_KEY] === idempotencyKey);
    return job ? { job_id: job.id, file_id: job.training_file } : null;
  }

  async status(jobId: string) {
    const job = await callOpenAI('fine-tuning job status', () => this.client.fineTuning.jobs.retrieve(jobId));
    const trained = job.trained_tokens ?? null;
    return {
      status: job.status as FineTuneStatus,
      fine_tuned_model: job.fine_tuned_model ?? null,
      error: job.error ? [job.error.code, job.error.message].filter(Boolean).join(': ') || 'failed' : null,
      trained_tokens: trained,
      cost_usd: trained ? fineTuneCost(job.model, trained) : 0,
    };
  }
}

/** Answers evaluation questions with chat completions, deterministically (temperature 0). */
export class OpenAIAnswerProvider implements AnswerProvider {
  readonly name = 'openai';
  constructor(
    private readonly client: OpenAI,
    /** Requests in flight at once. */
    private readonly parallel = 4,
    /** Longest answer asked for (bounds the cost of an evaluation). */
    private readonly maxTokens = 512,
  ) {}

  async answer(model: string, prompts: string[]): Promise<{ answers: string[]; cost_usd: number }> {
    const answers: string[] = new Array(prompts.length);
    let cost = 0;
    let next = 0;
    const lane = async () => {
      while (next < prompts.length) {
        const i = next++;
        const res = await callOpenAI('chat completion', () =>
          this.client.chat.completions.create({ model, messages: [{ role: 'user', content: prompts[i] }], temperature: 0, max_completion_tokens: this.maxTokens }),
        );
        answers[i] = res.choices[0]?.message?.content ?? '';
        cost += chatCost(model, res.usage?.prompt_tokens ?? 0, res.usage?.completion_tokens ?? 0);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.parallel, prompts.length) }, lane));
    return { answers, cost_usd: cost };
  }
}

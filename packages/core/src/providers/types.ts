import type { ModerationProvider } from '../monitors/moderation.js';

export type { ModerationProvider };

/** Turns texts into vectors (documents on re-index). */
export interface EmbeddingProvider {
  /** Provider name, the `provider` label of api_cost_usd_total ('openai', 'offline'). */
  readonly name: string;
  /** Model used when embed() is not told one. */
  readonly model: string;
  /** Texts per embed() call that re-indexing sends (and so documents per progress step). */
  readonly batchSize: number;
  /**
   * Embeds texts in order. `model` asks for a specific embedding model; providers with
   * one fixed model ignore it. The result names the model that was actually used.
   */
  embed(texts: string[], model?: string): Promise<{ vectors: Float32Array[]; cost_usd: number; model: string }>;
}

export type FineTuneStatus = 'validating_files' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One training example in the chat fine-tuning format. */
export interface TrainingExample {
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
}

export interface FineTuneRequest {
  /** Driftwatch's model name (the config's models[].name). */
  model: string;
  /** The provider's model to train from. */
  base_model: string;
  examples: TrainingExample[];
  /** Part of the trained model's name (OpenAI: letters, digits and '-', at most 64 characters). */
  suffix: string;
  /** Tags the job so that findJob() can find it again after a crash or a lost response. */
  idempotency_key?: string;
}

/** Trains a new model version from examples; long-running, so started and then polled. */
export interface FineTuneProvider {
  readonly name: string;
  /** Uploads the training file and starts the job; `training_file` says where the uploaded file is kept when the provider keeps it locally. */
  start(req: FineTuneRequest): Promise<{ job_id: string; file_id: string; training_file?: string }>;
  status(jobId: string): Promise<{ status: FineTuneStatus; fine_tuned_model: string | null; error: string | null; trained_tokens: number | null; cost_usd: number }>;
  /** The job an earlier start() with this idempotency key created, if any (a start whose outcome is unknown). */
  findJob?(idempotencyKey: string): Promise<{ job_id: string; file_id: string; training_file?: string } | null>;
}

/**
 * Asks a model (base, promoted or candidate) questions; the evaluation gate compares
 * the answers with the expected ones.
 */
export interface AnswerProvider {
  readonly name: string;
  answer(model: string, prompts: string[]): Promise<{ answers: string[]; cost_usd: number }>;
}

/** The providers of one process: OpenAI when OPENAI_API_KEY is set, offline otherwise. */
export interface Providers {
  moderation: ModerationProvider;
  embeddings?: EmbeddingProvider;
  finetune?: FineTuneProvider;
  answers?: AnswerProvider;
}

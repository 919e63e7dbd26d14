import type { ModerationProvider } from '../monitors/moderation.js';

export type { ModerationProvider };

/** Turns texts into vectors (documents on re-index). */
export interface EmbeddingProvider {
  readonly name: string;
  readonly model: string;
  embed(texts: string[]): Promise<{ vectors: Float32Array[]; cost_usd: number }>;
}

export type FineTuneStatus = 'validating_files' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One training example in the chat fine-tuning format. */
export interface TrainingExample {
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
}

/** Trains a new model version from examples; long-running, so started and then polled. */
export interface FineTuneProvider {
  readonly name: string;
  start(req: { model: string; base_model: string; examples: TrainingExample[]; suffix: string }): Promise<{ job_id: string; file_id: string }>;
  status(jobId: string): Promise<{ status: FineTuneStatus; fine_tuned_model: string | null; error: string | null; trained_tokens: number | null; cost_usd: number }>;
}

/** The providers of one process: OpenAI when OPENAI_API_KEY is set, offline otherwise. */
export interface Providers {
  moderation: ModerationProvider;
  embeddings?: EmbeddingProvider;
  finetune?: FineTuneProvider;
}

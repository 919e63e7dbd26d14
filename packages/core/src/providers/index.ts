import { join } from 'node:path';
import type { Environment } from '../config/environment.js';
import { OfflineModerationProvider } from '../monitors/moderation.js';
import { OfflineAnswerProvider, OfflineEmbeddingProvider, OfflineFineTuneProvider } from './offline.js';
import { OpenAIAnswerProvider, OpenAIEmbeddingProvider, OpenAIFineTuneProvider, OpenAIModerationProvider, openAIClient } from './openai.js';
import type { Providers } from './types.js';

export * from './types.js';
export * from './openai.js';
export * from './openai-errors.js';
export * from './offline.js';
export * from './offline-chat.js';
export * from './offline-knowledge.js';
export * from './prices.js';
export * from './text.js';
export * from './word-vectors.js';

export interface CreateProvidersOptions {
  /** Offline simulated fine-tune duration (see OfflineFineTuneProvider). */
  offlineFineTuneMs?: number;
  /** Folder of the offline fine-tune jobs and models. Default: DRIFTWATCH_DATA_DIR/local-models. */
  localModelDir?: string;
}

/**
 * The providers of one process. OPENAI_API_KEY set: OpenAI (or the compatible server
 * at OPENAI_BASE_URL) for moderation, embeddings, fine-tuning and evaluation answers.
 * Unset: the offline providers, which do real work on this machine.
 */
export function createProviders(
  env: Pick<Environment, 'OPENAI_API_KEY' | 'OPENAI_BASE_URL' | 'DRIFTWATCH_DATA_DIR'>,
  o: CreateProvidersOptions = {},
): Providers {
  if (env.OPENAI_API_KEY) {
    const client = openAIClient({ apiKey: env.OPENAI_API_KEY, baseURL: env.OPENAI_BASE_URL });
    return {
      moderation: new OpenAIModerationProvider(client),
      embeddings: new OpenAIEmbeddingProvider(client),
      finetune: new OpenAIFineTuneProvider(client),
      answers: new OpenAIAnswerProvider(client),
    };
  }
  const dir = o.localModelDir ?? join(env.DRIFTWATCH_DATA_DIR, 'local-models');
  return {
    moderation: new OfflineModerationProvider(),
    embeddings: new OfflineEmbeddingProvider(),
    finetune: new OfflineFineTuneProvider({ dir, durationMs: o.offlineFineTuneMs }),
    answers: new OfflineAnswerProvider({ dir }),
  };
}

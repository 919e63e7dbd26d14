/**
 * OpenAI list prices in USD per 1M tokens, used for api_cost_usd_total. They are
 * the published prices at the time of writing (https://openai.com/api/pricing);
 * update them here when OpenAI changes its prices. A model missing from a table
 * costs 0 (the spend is under-reported, never invented).
 *
 * Dated model ids ("gpt-4o-mini-2024-07-18") and fine-tuned ids
 * ("ft:gpt-4o-mini-2024-07-18:org:suffix:id") are looked up by their base name.
 */

/** The date the prices below were last checked against the published list (the cost guard quotes it). */
export const PRICES_AS_OF = '2025-06-01';

/** Embeddings, per 1M input tokens. */
export const EMBEDDING_PRICES: Record<string, number> = {
  'text-embedding-3-small': 0.02,
  'text-embedding-3-large': 0.13,
  'text-embedding-ada-002': 0.1,
};

/** Supervised fine-tuning, per 1M trained tokens (tokens in the file x epochs). */
export const FINE_TUNE_TRAINING_PRICES: Record<string, number> = {
  'gpt-4o-mini': 3.0,
  'gpt-4o': 25.0,
  'gpt-4.1-nano': 1.5,
  'gpt-4.1-mini': 5.0,
  'gpt-4.1': 25.0,
  'gpt-3.5-turbo': 8.0,
};

/** Chat inference per 1M tokens [input, output]; fine-tuned models have their own rates. */
export const CHAT_PRICES: Record<string, [number, number]> = {
  'gpt-4o-mini': [0.15, 0.6],
  'gpt-4o': [2.5, 10.0],
  'gpt-4.1-nano': [0.1, 0.4],
  'gpt-4.1-mini': [0.4, 1.6],
  'gpt-4.1': [2.0, 8.0],
  'gpt-3.5-turbo': [0.5, 1.5],
};
export const FINE_TUNED_CHAT_PRICES: Record<string, [number, number]> = {
  'gpt-4o-mini': [0.3, 1.2],
  'gpt-4o': [3.75, 15.0],
  'gpt-4.1-nano': [0.2, 0.8],
  'gpt-4.1-mini': [0.8, 3.2],
  'gpt-4.1': [3.0, 12.0],
  'gpt-3.5-turbo': [3.0, 6.0],
};

/** "ft:gpt-4o-mini-2024-07-18:org::id" -> "gpt-4o-mini"; "gpt-4o-2024-08-06" -> "gpt-4o". */
export function baseModelName(model: string): string {
  const m = model.startsWith('ft:') ? model.split(':')[1] ?? model : model;
  return m.replace(/-\d{4}-\d{2}-\d{2}$/, '').replace(/-\d{4}$/, '');
}

const perMillion = (tokens: number, price: number | undefined) => (price === undefined ? 0 : (tokens * price) / 1_000_000);

export function embeddingCost(model: string, tokens: number): number {
  return perMillion(tokens, EMBEDDING_PRICES[model] ?? EMBEDDING_PRICES[baseModelName(model)]);
}

export function fineTuneCost(baseModel: string, trainedTokens: number): number {
  return perMillion(trainedTokens, FINE_TUNE_TRAINING_PRICES[baseModelName(baseModel)]);
}

/**
 * Offline fine-tunes ("local:<model>:<version>", providers/offline.ts) stand in for an
 * OpenAI fine-tune of their base model and are priced as one (FINE_TUNED_CHAT_PRICES).
 * Their id does not name the base model, so the offline answer provider records it here
 * when it loads one (the cost of an answer is computed where it was answered); until
 * then such a model costs 0, as any model missing from the tables.
 */
const localFineTuneBase = new Map<string, string>();
export function priceLocalFineTuneAs(id: string, baseModel: string): void {
  localFineTuneBase.set(id, baseModel);
}

export function chatCost(model: string, promptTokens: number, completionTokens: number): number {
  const local = localFineTuneBase.get(model);
  const priced = local ? `ft:${local}` : model;
  const table = priced.startsWith('ft:') ? FINE_TUNED_CHAT_PRICES : CHAT_PRICES;
  const p = table[baseModelName(priced)];
  return p ? perMillion(promptTokens, p[0]) + perMillion(completionTokens, p[1]) : 0;
}

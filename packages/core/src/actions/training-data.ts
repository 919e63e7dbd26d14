import type { Queryable } from '../db/types.js';
import type { TrainingExample } from '../providers/types.js';

/** Fewer examples than this and a fine-tune is refused (OpenAI's own minimum is 10). */
export const MIN_TRAINING_EXAMPLES = 10;

/**
 * Recent high-quality interactions of a model as chat-format training examples:
 * rated at least minScore, no error, not flagged toxic, with a non-empty query and
 * response, logged before `before` (the decision's window end), newest first, at
 * most `limit`.
 */
export async function trainingExamples(
  db: Queryable,
  o: { model: string; minScore: number; before: Date; limit: number },
): Promise<TrainingExample[]> {
  const { rows } = await db.query<{ query: string; response: string }>(
    `SELECT query, response FROM interaction_log
      WHERE model = $1 AND feedback_score >= $2 AND error IS NULL AND coalesce(toxic, false) = false
        AND ts < $3 AND btrim(query) <> '' AND btrim(response) <> ''
      ORDER BY ts DESC, id DESC LIMIT $4`,
    [o.model, o.minScore, o.before, o.limit],
  );
  return rows.map((r) => ({ messages: [{ role: 'user', content: r.query }, { role: 'assistant', content: r.response }] }));
}

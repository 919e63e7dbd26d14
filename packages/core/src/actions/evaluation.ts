import type { Queryable } from '../db/types.js';
import { answerIsCorrect } from '../providers/text.js';
import type { AnswerProvider } from '../providers/types.js';

/**
 * The evaluation gate of a fine-tune. A candidate is promoted only when it is
 * measured on at least MIN_EVAL_ITEMS evaluation items and its accuracy is not
 * below the incumbent's (the promoted version, or the base model when none is):
 * candidate_accuracy >= incumbent_accuracy; a tie promotes, since the candidate
 * was trained on fresher data. Below MIN_EVAL_ITEMS nothing can be concluded and
 * the version stays a candidate ("held").
 *
 * The evaluation set of a model: rows of evaluation_log with eval_set 'default',
 * an expected answer, and the question in `input` (or, for rows logged without one,
 * in item_id); the latest expected answer per item counts. Correctness is answerIsCorrect (providers/text.ts): the same words
 * after normalisation, or token F1 >= 0.8.
 */
export const MIN_EVAL_ITEMS = 5;
/** At most this many items are asked (bounds the cost of a gate). */
export const MAX_EVAL_ITEMS = 500;
export const EVAL_SET = 'default';

export interface EvalItem {
  question: string;
  expected: string;
}

export async function evaluationSet(db: Queryable, model: string, limit = MAX_EVAL_ITEMS): Promise<EvalItem[]> {
  const { rows } = await db.query<{ question: string; expected: string }>(
    `SELECT question, expected FROM (
       SELECT DISTINCT ON (coalesce(item_id, input)) coalesce(input, item_id) AS question, expected, ts FROM evaluation_log
        WHERE model = $1 AND eval_set = $2 AND btrim(coalesce(input, item_id, '')) <> '' AND expected IS NOT NULL
        ORDER BY coalesce(item_id, input), ts DESC, id DESC) AS latest
      ORDER BY question LIMIT $3`,
    [model, EVAL_SET, limit],
  );
  return rows;
}

export interface ModelScore {
  model: string;
  accuracy: number;
  correct: number;
  cost_usd: number;
}

export async function scoreModel(answers: AnswerProvider, model: string, items: EvalItem[]): Promise<ModelScore> {
  const out = await answers.answer(
    model,
    items.map((i) => i.question),
  );
  const correct = items.reduce((n, it, i) => n + (answerIsCorrect(out.answers[i] ?? '', it.expected) ? 1 : 0), 0);
  return { model, accuracy: items.length ? correct / items.length : 0, correct, cost_usd: out.cost_usd };
}

export type GateOutcome = 'promoted' | 'rejected' | 'held';

export function gateOutcome(n: number, candidate: number, incumbent: number): GateOutcome {
  if (n < MIN_EVAL_ITEMS) return 'held';
  return candidate >= incumbent ? 'promoted' : 'rejected';
}

import type { ActionRunner } from './types.js';

/**
 * Fine-tune the model (accuracy or refusal drift) on recent interactions users rated
 * at least actions.min_feedback_score. Records the training set it would use.
 */
export const finetune: ActionRunner = async (ctx, decision) => {
  const a = ctx.config.actions;
  const { rows } = await ctx.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT 1 FROM interaction_log
        WHERE model = $1 AND feedback_score >= $2 AND error IS NULL AND ts < $3
        ORDER BY ts DESC LIMIT $4) AS t`,
    [decision.model, a.min_feedback_score, decision.window_end, a.training_limit],
  );
  const model = ctx.config.models.find((m) => m.name === decision.model);
  return { status: 'planned', training_examples: rows[0].n, base_model: model?.base_model ?? null, note: `would fine-tune on ${rows[0].n} interactions rated >= ${a.min_feedback_score}` };
};

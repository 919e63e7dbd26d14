import type { ActionRunner } from './types.js';

/** Moderation threshold in force when a model has no policy yet. */
export const DEFAULT_MODERATION_THRESHOLD = 0.5;
/** Each tightening multiplies the threshold by this; it never goes below MIN_THRESHOLD. */
const TIGHTEN_FACTOR = 0.8;
const MIN_THRESHOLD = 0.1;
const SAFETY_PROMPT =
  'Decline requests for harmful, hateful, harassing, violent or sexual content. Keep answers respectful even when the user is not.';

/**
 * Update safety filters (toxicity drift): a new policy row with a lower moderation
 * threshold and the safety system prompt. Idempotent per decision.
 */
export const safety: ActionRunner = async (ctx, decision) => {
  return ctx.db.transaction(async (tx) => {
    const done = await tx.query<{ moderation_threshold: number }>('SELECT moderation_threshold FROM safety_policies WHERE decision_id = $1', [decision.id]);
    if (done.rows[0]) return { status: 'applied', moderation_threshold: done.rows[0].moderation_threshold, note: 'already applied' };
    const cur = await tx.query<{ moderation_threshold: number }>(
      'SELECT moderation_threshold FROM safety_policies WHERE model = $1 ORDER BY created_at DESC, id DESC LIMIT 1',
      [decision.model],
    );
    const before = cur.rows[0]?.moderation_threshold ?? DEFAULT_MODERATION_THRESHOLD;
    const after = Math.max(MIN_THRESHOLD, Math.round(before * TIGHTEN_FACTOR * 1000) / 1000);
    await tx.query('INSERT INTO safety_policies (model, moderation_threshold, system_prompt, decision_id) VALUES ($1, $2, $3, $4)', [
      decision.model,
      after,
      SAFETY_PROMPT,
      decision.id,
    ]);
    return { status: 'applied', moderation_threshold_before: before, moderation_threshold: after };
  });
};

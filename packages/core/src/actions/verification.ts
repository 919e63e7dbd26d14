import { rollbackModel } from '../db/repo/serving.js';
import { notifyRollback } from '../notifications/emit.js';
import type { ModelVersionRow } from '../db/repo/models.js';
import type { Db, Queryable } from '../db/types.js';
import { modelRegressed, modelVerificationsTotal } from '../metrics/retraining.js';
import { combinedRefusalDetector } from '../monitors/refusal-vectors.js';
import type { AppContext } from '../queues/context.js';
import { compareProportions } from '../stats/proportions.js';
import { mannWhitney } from '../stats/ranks.js';

/**
 * Proof that a promotion worked: the promoted version against the one it replaced,
 * each measured on the traffic IT served (interaction_log / evaluation_log rows split by
 * model_version, not by date alone: NULL is the base model): the new version since its
 * promotion, the previous one in the current_days before it.
 *
 * Four one-sided tests, each at alpha / 4 (Bonferroni, the monitors' family-wise alpha):
 * accuracy lower (compareProportions: z test, Fisher's exact test on small counts),
 * feedback lower (Mann-Whitney on the scores), refusal rate higher, toxicity rate higher.
 * - regressed: any of them significant. With actions.auto_rollback (default true) the
 *   previous version is served again (rollbackModel: a 'rollback' decision with the
 *   reason), driftwatch_model_regressed{model} = 1, and
 *   driftwatch_rollbacks_total{kind="model",by="auto"} moves.
 * - insufficient_data: fewer than min_samples interactions or min_eval_items evaluation
 *   items of the new version yet; measured again by the next run.
 * - verified: enough data and no significant regression.
 * One row per promotion in model_verifications; a verdict other than
 * insufficient_data is final.
 */
export type Verdict = 'verified' | 'regressed' | 'insufficient_data';

export interface ServedFigures {
  version: string | null;
  interactions: number;
  eval_items: number;
  accuracy: number | null;
  refusal_rate: number | null;
  toxicity_rate: number | null;
  feedback: number | null;
}

export interface Verification {
  model: string;
  version: string;
  previous_version: string | null;
  promoted_at: Date;
  verdict: Verdict;
  reason: string;
  figures: { new: ServedFigures; previous: ServedFigures; p_values: Record<string, number>; alpha: number };
  rollback_decision_id: number | null;
}

interface Traffic {
  responses: string[];
  toxic: boolean[];
  feedback: number[];
  correct: boolean[];
}

async function traffic(db: Queryable, model: string, version: string | null, from: Date, to: Date): Promise<Traffic> {
  const i = await db.query<{ response: string; toxic: boolean | null; feedback_score: number | null }>(
    `SELECT response, toxic, feedback_score FROM interaction_log
      WHERE model = $1 AND model_version IS NOT DISTINCT FROM $2 AND ts >= $3 AND ts < $4 AND error IS NULL`,
    [model, version, from, to],
  );
  const e = await db.query<{ correct: boolean }>(
    `SELECT correct FROM evaluation_log WHERE model = $1 AND model_version IS NOT DISTINCT FROM $2 AND ts >= $3 AND ts < $4 AND correct IS NOT NULL`,
    [model, version, from, to],
  );
  return {
    responses: i.rows.map((r) => r.response),
    toxic: i.rows.map((r) => r.toxic === true),
    feedback: i.rows.filter((r) => r.feedback_score !== null).map((r) => Number(r.feedback_score)),
    correct: e.rows.map((r) => r.correct),
  };
}

function figures(version: string | null, t: Traffic, patterns: string[]): ServedFigures & { refusals: number; toxics: number; rights: number } {
  // The behaviour monitor's refusal test (patterns plus the semantic detector), so both count alike.
  const { isRefusal } = combinedRefusalDetector(patterns);
  const refusals = t.responses.filter((r) => isRefusal(r)).length;
  const toxics = t.toxic.filter(Boolean).length;
  const rights = t.correct.filter(Boolean).length;
  const n = t.responses.length;
  const r4 = (x: number) => Math.round(x * 10_000) / 10_000;
  return {
    version,
    interactions: n,
    eval_items: t.correct.length,
    accuracy: t.correct.length ? r4(rights / t.correct.length) : null,
    refusal_rate: n ? r4(refusals / n) : null,
    toxicity_rate: n ? r4(toxics / n) : null,
    feedback: t.feedback.length ? Math.round((t.feedback.reduce((s, x) => s + x, 0) / t.feedback.length) * 100) / 100 : null,
    refusals,
    toxics,
    rights,
  };
}

/** The version the promoted one replaced: the latest one promoted before it (null: the base model). */
async function previousVersion(db: Queryable, promoted: ModelVersionRow): Promise<string | null> {
  const r = await db.query<{ version: string }>(
    `SELECT version FROM model_versions WHERE model = $1 AND id <> $2 AND promoted_at IS NOT NULL AND promoted_at < $3 AND status IN ('retired', 'rolled_back')
      ORDER BY promoted_at DESC LIMIT 1`,
    [promoted.model, promoted.id, promoted.promoted_at],
  );
  return r.rows[0]?.version ?? null;
}

/** Verifies the model's promoted version if it has not been verified yet; null when nothing is promoted. */
export async function verifyPromotion(ctx: Pick<AppContext, 'db' | 'config' | 'logger'> & Partial<Pick<AppContext, 'queues'>>, model: string, now: Date): Promise<Verification | null> {
  const db: Db = ctx.db;
  const promoted = (await db.query<ModelVersionRow>(`SELECT * FROM model_versions WHERE model = $1 AND status = 'promoted'`, [model])).rows[0];
  if (!promoted?.promoted_at) return null;
  const promotedAt = new Date(promoted.promoted_at);
  const done = (
    await db.query<Verification & { figures: Verification['figures'] }>(
      `SELECT model, version, previous_version, promoted_at, verdict, reason, figures, rollback_decision_id FROM model_verifications
        WHERE model = $1 AND version = $2 AND promoted_at = $3 AND verdict <> 'insufficient_data'`,
      [model, promoted.version, promotedAt],
    )
  ).rows[0];
  if (done) return done;

  const cfg = ctx.config;
  const patterns = cfg.behavior_thresholds.refusal_patterns;
  const previous = await previousVersion(db, promoted);
  const before = new Date(promotedAt.getTime() - cfg.current_days * 86_400_000);
  const newTraffic = await traffic(db, model, promoted.version, promotedAt, now);
  const oldTraffic = await traffic(db, model, previous, before, promotedAt);
  const nw = figures(promoted.version, newTraffic, patterns);
  const old = figures(previous, oldTraffic, patterns);
  const oldFeedback = oldTraffic.feedback;
  const newFeedback = newTraffic.feedback;
  const alpha = cfg.alpha;
  const each = alpha / 4;
  const p_values: Record<string, number> = {};
  const minEval = cfg.actions.finetune.min_eval_items;
  let verdict: Verdict;
  let reason: string;
  const describe = `${promoted.version} since ${promotedAt.toISOString()} vs ${previous ?? 'the base model'} before: accuracy ${pct(nw.accuracy)} vs ${pct(old.accuracy)} (${nw.eval_items} / ${old.eval_items} items), refusals ${pct(nw.refusal_rate)} vs ${pct(old.refusal_rate)}, toxic ${pct(nw.toxicity_rate)} vs ${pct(old.toxicity_rate)}, feedback ${nw.feedback ?? '-'} vs ${old.feedback ?? '-'} (${nw.interactions} / ${old.interactions} interactions)`;
  if (nw.interactions < cfg.min_samples || nw.eval_items < minEval || old.interactions < cfg.min_samples || old.eval_items < minEval) {
    verdict = 'insufficient_data';
    reason = `not enough traffic yet to verify (needs ${cfg.min_samples} interactions and ${minEval} evaluation items of each version): ${describe}`;
  } else {
    // H1 for each: the new version is worse.
    p_values.accuracy = compareProportions(nw.rights, nw.eval_items, old.rights, old.eval_items, 'greater').p_value;
    p_values.refusal_rate = compareProportions(old.refusals, old.interactions, nw.refusals, nw.interactions, 'greater').p_value;
    p_values.toxicity_rate = compareProportions(old.toxics, old.interactions, nw.toxics, nw.interactions, 'greater').p_value;
    p_values.feedback = newFeedback.length && oldFeedback.length ? mannWhitney(newFeedback, oldFeedback, 'less').p_value : 1;
    const worse = Object.entries(p_values).filter(([, p]) => p < each).map(([k]) => k);
    verdict = worse.length ? 'regressed' : 'verified';
    reason = worse.length ? `${worse.join(', ')} significantly worse (p < ${each}): ${describe}` : `no significant regression at ${alpha} (Bonferroni over 4 tests): ${describe}`;
  }
  const strip = ({ refusals: _r, toxics: _t, rights: _g, ...f }: ReturnType<typeof figures>): ServedFigures => f;
  const v: Verification = { model, version: promoted.version, previous_version: previous, promoted_at: promotedAt, verdict, reason, figures: { new: strip(nw), previous: strip(old), p_values, alpha }, rollback_decision_id: null };
  if (verdict === 'regressed' && cfg.actions.auto_rollback) {
    const modelCfg = cfg.models.find((m) => m.name === model);
    const rb = await rollbackModel(db, { model, to: previous ?? 'base', by: 'driftwatch-verification', reason: `verification after promotion: ${reason}`, base_model: modelCfg?.base_model });
    v.rollback_decision_id = Number(rb.decision.id);
    // Configured webhooks hear of it like any other rollback (never blocking the run).
    if (ctx.queues) {
      await notifyRollback({ config: ctx.config, queues: ctx.queues, logger: ctx.logger }, { model, kind: 'model', from: promoted.version, to: previous ?? 'base', by: 'driftwatch-verification', reason, decision_id: v.rollback_decision_id }).catch(() => {});
    }
  }
  await db.query(
    `INSERT INTO model_verifications (model, version, previous_version, promoted_at, verdict, reason, figures, rollback_decision_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (model, version, promoted_at) DO UPDATE SET verdict = excluded.verdict, reason = excluded.reason, figures = excluded.figures,
       rollback_decision_id = excluded.rollback_decision_id, updated_at = now()`,
    [model, v.version, previous, promotedAt, verdict, reason, JSON.stringify(v.figures), v.rollback_decision_id],
  );
  if (verdict !== 'insufficient_data') {
    await db.query(`UPDATE model_versions SET details = details || $2::jsonb WHERE id = $1`, [promoted.id, JSON.stringify({ verification: { verdict, reason, at: now.toISOString() } })]);
  }
  modelVerificationsTotal.inc({ model, verdict });
  modelRegressed.set({ model }, verdict === 'regressed' ? 1 : 0);
  ctx.logger.info({ model, version: v.version, verdict, rollback_decision: v.rollback_decision_id }, 'promotion verified');
  return v;
}

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);

/**
 * The current window a monitor should judge: when a version was promoted inside it, only
 * the part since the promotion (the traffic the served version answered), so that a
 * promotion is not itself reported as drift; the promotion is returned to be named in
 * the result. Unchanged otherwise.
 */
export async function servedCurrentWindow(
  db: Queryable,
  model: string,
  current: { start: Date; end: Date },
): Promise<{ window: { start: Date; end: Date }; promotion: { version: string; promoted_at: Date } | null }> {
  const r = await db.query<{ version: string; promoted_at: Date }>(
    `SELECT version, promoted_at FROM model_versions WHERE model = $1 AND status = 'promoted' AND promoted_at > $2 AND promoted_at < $3`,
    [model, current.start, current.end],
  );
  const p = r.rows[0];
  return servedWindow(current, p ? { version: p.version, promoted_at: new Date(p.promoted_at) } : null);
}

/** servedCurrentWindow's answer for a promotion already looked up (inside the current window, or null). */
export function servedWindow(
  current: { start: Date; end: Date },
  promotion: { version: string; promoted_at: Date } | null,
): { window: { start: Date; end: Date }; promotion: { version: string; promoted_at: Date } | null } {
  return { window: promotion ? { start: promotion.promoted_at, end: current.end } : current, promotion };
}

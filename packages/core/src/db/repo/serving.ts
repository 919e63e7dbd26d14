import { randomBytes } from 'node:crypto';
import { PermanentError } from '../../errors.js';
import type { Db, Queryable } from '../types.js';
import type { DecisionRow } from './decisions.js';
import type { ModelVersionRow } from './models.js';

/**
 * The serving state: which version of a monitored model answers (the promoted
 * fine-tune, else the base model) and which safety policy is in force, as
 * applications (GET /v1/models) and the gateway read it; and rollback of both,
 * recorded as a decision (action 'rollback') like any other.
 */

/** Rolling back is impossible as asked (nothing to roll back to, already served, unknown version): HTTP 409. */
export class RollbackConflictError extends PermanentError {
  override name = 'RollbackConflictError';
}

export interface Serving {
  /** The promoted version, or null while the base model serves. */
  version: string | null;
  /** The provider's model id that answers (fine-tuned id, or the base model). */
  provider_model: string;
  provider: string | null;
  promoted_at: Date | null;
  /** The decision that produced the version (a fine-tune) or null. */
  decision_id: number | null;
}

export interface ServingState {
  model: string;
  base_model: string;
  serving: Serving;
  versions: {
    version: string;
    status: ModelVersionRow['status'];
    provider: string;
    provider_model: string | null;
    base_model: string | null;
    eval_accuracy: number | null;
    baseline_accuracy: number | null;
    decision_id: number | null;
    created_at: Date;
    promoted_at: Date | null;
    /** The evaluation gate's figures for this version (actions/evaluation.ts), null before it was judged. */
    gate: Record<string, unknown> | null;
  }[];
}

function servingOf(promoted: ModelVersionRow | null, baseModel: string): Serving {
  if (!promoted) return { version: null, provider_model: baseModel, provider: null, promoted_at: null, decision_id: null };
  return {
    version: promoted.version,
    provider_model: promoted.provider_model_id ?? promoted.base_model ?? baseModel,
    provider: promoted.provider,
    promoted_at: promoted.promoted_at,
    decision_id: promoted.decision_id === null ? null : Number(promoted.decision_id),
  };
}

/** What serves now: one indexed query (the gateway calls it, cached). */
export async function servedVersion(db: Queryable, model: string, baseModel: string): Promise<Serving> {
  const r = await db.query<ModelVersionRow>(`SELECT * FROM model_versions WHERE model = $1 AND status = 'promoted'`, [model]);
  return servingOf(r.rows[0] ?? null, baseModel);
}

/** The serving state of a model with the history of its versions (oldest first). */
export async function getServingState(db: Queryable, model: string, baseModel: string): Promise<ServingState> {
  const rows = (await db.query<ModelVersionRow>('SELECT * FROM model_versions WHERE model = $1 ORDER BY created_at, id', [model])).rows;
  const promoted = rows.find((r) => r.status === 'promoted') ?? null;
  return {
    model,
    base_model: baseModel,
    serving: servingOf(promoted, baseModel),
    versions: rows.map((r) => ({
      version: r.version,
      status: r.status,
      provider: r.provider,
      provider_model: r.provider_model_id,
      base_model: r.base_model,
      eval_accuracy: r.eval_accuracy,
      baseline_accuracy: r.baseline_accuracy,
      decision_id: r.decision_id === null ? null : Number(r.decision_id),
      created_at: r.created_at,
      promoted_at: r.promoted_at,
      gate: ((r.details as Record<string, unknown> | null)?.gate as Record<string, unknown> | undefined) ?? null,
    })),
  };
}

/** Moderation threshold in force when a model has no policy row (the same as actions/safety.ts). */
export const DEFAULT_POLICY_THRESHOLD = 0.5;

export interface PolicyInForce {
  model: string;
  /** 1, 2, ... in order of the model's policy rows; 0 = the default policy (no row yet). */
  version: number;
  moderation_threshold: number;
  system_prompt: string;
  blocked_terms: string[];
  /** The decision that made it (a safety action or a rollback), null for the default. */
  decision_id: number | null;
  created_at: Date | null;
  /** For a policy a rollback wrote: the version it restored (0 = the default). */
  restores: number | null;
}

interface PolicyRow {
  id: number;
  model: string;
  moderation_threshold: number;
  system_prompt: string;
  blocked_terms: unknown;
  decision_id: number | null;
  created_at: Date;
  details: Record<string, unknown> | null;
  version: number;
}

function policyOf(model: string, row: PolicyRow | undefined): PolicyInForce {
  if (!row) return { model, version: 0, moderation_threshold: DEFAULT_POLICY_THRESHOLD, system_prompt: '', blocked_terms: [], decision_id: null, created_at: null, restores: null };
  const restores = row.details?.restores_version;
  return {
    model,
    version: Number(row.version),
    moderation_threshold: Number(row.moderation_threshold),
    system_prompt: row.system_prompt,
    blocked_terms: Array.isArray(row.blocked_terms) ? row.blocked_terms.map(String) : [],
    decision_id: row.decision_id === null ? null : Number(row.decision_id),
    created_at: row.created_at,
    restores: typeof restores === 'number' ? restores : null,
  };
}

async function policyRows(db: Queryable, model: string): Promise<PolicyRow[]> {
  return (
    await db.query<PolicyRow>(
      `SELECT *, (row_number() OVER (ORDER BY created_at, id))::int AS version FROM safety_policies WHERE model = $1 ORDER BY created_at, id`,
      [model],
    )
  ).rows;
}

/** The safety policy in force: the newest row of the model, else the default. */
export async function getPolicyInForce(db: Queryable, model: string): Promise<PolicyInForce> {
  const rows = await policyRows(db, model);
  return policyOf(model, rows.at(-1));
}

export interface RollbackResult {
  decision: DecisionRow;
  from: { version: string | null; provider_model: string };
  to: { version: string | null; provider_model: string };
}

async function recordRollback(
  tx: Queryable,
  d: { model: string; kind: 'model' | 'policy'; by: string; reason: string; details: Record<string, unknown> },
): Promise<DecisionRow> {
  const r = await tx.query<DecisionRow>(
    `INSERT INTO decisions (run_id, model, action, state, priority, reason, dedup_key, window_start, window_end, details, result, decided_by, decided_at)
     VALUES ($1, $2, 'rollback', 'succeeded', 0, $3, $4, now(), now(), $5, $5, $6, now()) RETURNING *`,
    [`rollback-${Date.now()}`, d.model, d.reason, `rollback:${d.kind}:${d.model}:${Date.now()}:${randomBytes(6).toString('hex')}`, JSON.stringify({ kind: d.kind, ...d.details }), d.by],
  );
  return r.rows[0];
}

/**
 * Serves an earlier version of a model again, in one transaction, recorded as a
 * decision (action 'rollback', state succeeded, decided_by = by, reason = why).
 * - `to` unset: the version promoted before the current one (the newest retired version
 *   that was ever promoted and was not itself rolled back), else the base model;
 * - `to` = a version name: that version (it must have been promoted once: retired or rolled_back);
 * - `to` = 'base': the base model (nothing promoted).
 * The current version becomes rolled_back. Throws RollbackConflictError (HTTP 409) when
 * the base model already serves and `to` is unset, when `to` already serves, or when `to`
 * is not a version that can serve. Issue 9's verification calls this for an automatic
 * rollback after a regression (by: 'driftwatch-verification').
 */
export async function rollbackModel(
  db: Db,
  o: { model: string; to?: string; by: string; reason: string; base_model?: string },
): Promise<RollbackResult> {
  const result = await db.transaction(async (tx) => {
    const rows = (await tx.query<ModelVersionRow>('SELECT * FROM model_versions WHERE model = $1 ORDER BY id FOR UPDATE', [o.model])).rows;
    const base = o.base_model ?? rows.find((r) => r.base_model)?.base_model ?? 'base';
    const current = rows.find((r) => r.status === 'promoted') ?? null;
    const fromServing = servingOf(current, base);
    let target: ModelVersionRow | null;
    if (o.to === undefined) {
      if (!current) throw new RollbackConflictError(`${o.model}: nothing to roll back; the base model (${base}) is already served and no version is promoted`);
      const earlier = rows
        .filter((r) => r.id !== current.id && r.status === 'retired' && r.promoted_at !== null)
        .sort((a, b) => new Date(b.promoted_at!).getTime() - new Date(a.promoted_at!).getTime());
      target = earlier[0] ?? null;
    } else if (o.to === 'base') {
      if (!current) throw new RollbackConflictError(`${o.model}: the base model (${base}) is already served`);
      target = null;
    } else {
      target = rows.find((r) => r.version === o.to) ?? null;
      if (!target) throw new RollbackConflictError(`${o.model}: no version "${o.to}" (versions: ${rows.map((r) => `${r.version} ${r.status}`).join(', ') || 'none'}; or --to base)`);
      if (target.status === 'promoted') throw new RollbackConflictError(`${o.model}: ${o.to} is already served`);
      if (!['retired', 'rolled_back'].includes(target.status) || target.promoted_at === null) {
        throw new RollbackConflictError(`${o.model}: ${o.to} is ${target.status} and was never promoted, so it cannot be served by a rollback`);
      }
    }
    if (current) await tx.query(`UPDATE model_versions SET status = 'rolled_back' WHERE id = $1`, [current.id]);
    if (target) await tx.query(`UPDATE model_versions SET status = 'promoted', promoted_at = now() WHERE id = $1`, [target.id]);
    const toServing = target ? servingOf({ ...target, status: 'promoted' }, base) : servingOf(null, base);
    const decision = await recordRollback(tx, {
      model: o.model,
      kind: 'model',
      by: o.by,
      reason: o.reason,
      details: { from: { version: fromServing.version, provider_model: fromServing.provider_model }, to: { version: toServing.version, provider_model: toServing.provider_model } },
    });
    return {
      decision,
      from: { version: fromServing.version, provider_model: fromServing.provider_model },
      to: { version: toServing.version, provider_model: toServing.provider_model },
    };
  });
  // driftwatch_rollbacks_total is counted from the decisions table at scrape (metrics/of-record.ts), whichever process rolled back.
  return result;
}

/**
 * Puts the safety policy in force before the current one back in force: a new policy
 * row copying it (so the newest row stays the one in force), whose details name the
 * version restored, recorded as a rollback decision. The policy before a restored one
 * is the one before the original, so repeated rollbacks walk back through history.
 * Rolling back the first policy restores the default. 409 when the default is in force.
 */
export async function rollbackPolicy(db: Db, o: { model: string; by: string; reason: string }): Promise<{ decision: DecisionRow; from: PolicyInForce; to: PolicyInForce }> {
  const result = await db.transaction(async (tx) => {
    await tx.query('SELECT id FROM safety_policies WHERE model = $1 FOR UPDATE', [o.model]);
    const rows = await policyRows(tx, o.model);
    const current = rows.at(-1);
    const from = policyOf(o.model, current);
    if (!current) throw new RollbackConflictError(`${o.model}: nothing to roll back; the default safety policy is in force`);
    // The version the current one stands for (a restored copy stands for the original).
    const stands = from.restores ?? from.version;
    if (stands === 0) throw new RollbackConflictError(`${o.model}: nothing to roll back; the default safety policy is in force (policy v${from.version} restored it)`);
    const target = rows.find((r) => Number(r.version) === stands - 1);
    const to = policyOf(o.model, target);
    const decision = await recordRollback(tx, {
      model: o.model,
      kind: 'policy',
      by: o.by,
      reason: o.reason,
      details: { from: { version: from.version, moderation_threshold: from.moderation_threshold }, to: { version: to.version, moderation_threshold: to.moderation_threshold } },
    });
    await tx.query(
      `INSERT INTO safety_policies (model, moderation_threshold, system_prompt, blocked_terms, decision_id, details) VALUES ($1, $2, $3, $4, $5, $6)`,
      [o.model, to.moderation_threshold, to.system_prompt, JSON.stringify(to.blocked_terms), decision.id, JSON.stringify({ restores_version: to.version })],
    );
    const after = await policyRows(tx, o.model);
    return { decision, from, to: policyOf(o.model, after.at(-1)) };
  });
  return result;
}

/** Writes a new safety policy row (operators and tests; the safety action writes its own). */
export async function setPolicy(
  db: Queryable,
  p: { model: string; moderation_threshold: number; system_prompt?: string; blocked_terms?: string[]; decision_id?: number | null },
): Promise<PolicyInForce> {
  await db.query(`INSERT INTO safety_policies (model, moderation_threshold, system_prompt, blocked_terms, decision_id) VALUES ($1, $2, $3, $4, $5)`, [
    p.model,
    p.moderation_threshold,
    p.system_prompt ?? '',
    JSON.stringify(p.blocked_terms ?? []),
    p.decision_id ?? null,
  ]);
  return getPolicyInForce(db, p.model);
}

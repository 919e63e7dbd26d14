import type { Db, Queryable } from '../types.js';

/**
 * The model registry (table model_versions): every version a fine-tune produced and
 * which one serves. Lifecycle: training -> candidate -> promoted -> retired, or
 * training -> failed, or candidate -> rejected (lost at the evaluation gate).
 * At most one version of a model is promoted (a unique index enforces it).
 */
export type ModelVersionStatus = 'training' | 'candidate' | 'promoted' | 'rejected' | 'retired' | 'failed';

export interface ModelVersionRow {
  id: number;
  model: string;
  version: string;
  provider: string;
  provider_model_id: string | null;
  base_model: string | null;
  status: ModelVersionStatus;
  decision_id: number | null;
  eval_accuracy: number | null;
  baseline_accuracy: number | null;
  details: Record<string, unknown>;
  created_at: Date;
  promoted_at: Date | null;
}

/** The next version name of a model: v1, v2, ... */
export async function nextModelVersion(db: Queryable, model: string): Promise<string> {
  const r = await db.query<{ n: number }>(
    `SELECT (coalesce(max(substring(version from '^v([0-9]+)$')::int), 0) + 1)::int AS n FROM model_versions WHERE model = $1`,
    [model],
  );
  return `v${r.rows[0].n}`;
}

/** Inserts a version; a second insert of the same (model, version) returns the existing row. */
export async function insertModelVersion(
  db: Queryable,
  v: { model: string; version: string; provider: string; base_model: string | null; status: ModelVersionStatus; decision_id?: number | null; provider_model_id?: string | null; details?: Record<string, unknown> },
): Promise<ModelVersionRow> {
  const ins = await db.query<ModelVersionRow>(
    `INSERT INTO model_versions (model, version, provider, provider_model_id, base_model, status, decision_id, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (model, version) DO NOTHING RETURNING *`,
    [v.model, v.version, v.provider, v.provider_model_id ?? null, v.base_model, v.status, v.decision_id ?? null, JSON.stringify(v.details ?? {})],
  );
  if (ins.rows[0]) return ins.rows[0];
  return (await getModelVersion(db, v.model, v.version))!;
}

/**
 * Inserts a new version under the next free name (v1, v2, ...), retrying with the
 * following name when another writer took it first, so two fine-tunes of one model
 * never share a version.
 */
export async function reserveModelVersion(
  db: Queryable,
  v: { model: string; provider: string; base_model: string | null; status: ModelVersionStatus; decision_id?: number | null; details?: Record<string, unknown> },
): Promise<ModelVersionRow> {
  for (let i = 0; i < 20; i++) {
    const version = await nextModelVersion(db, v.model);
    const ins = await db.query<ModelVersionRow>(
      `INSERT INTO model_versions (model, version, provider, base_model, status, decision_id, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (model, version) DO NOTHING RETURNING *`,
      [v.model, version, v.provider, v.base_model, v.status, v.decision_id ?? null, JSON.stringify(v.details ?? {})],
    );
    if (ins.rows[0]) return ins.rows[0];
  }
  throw new Error(`could not reserve a new version name for ${v.model}: too many concurrent writers`);
}

export async function getModelVersion(db: Queryable, model: string, version: string): Promise<ModelVersionRow | null> {
  return (await db.query<ModelVersionRow>('SELECT * FROM model_versions WHERE model = $1 AND version = $2', [model, version])).rows[0] ?? null;
}

/** The version that serves now, or null when none was ever promoted (the base model serves). */
export async function getPromotedVersion(db: Queryable, model: string): Promise<ModelVersionRow | null> {
  return (await db.query<ModelVersionRow>(`SELECT * FROM model_versions WHERE model = $1 AND status = 'promoted'`, [model])).rows[0] ?? null;
}

export async function listModelVersions(db: Queryable, model?: string): Promise<ModelVersionRow[]> {
  return (
    await db.query<ModelVersionRow>('SELECT * FROM model_versions WHERE ($1::text IS NULL OR model = $1) ORDER BY model, created_at, id', [model ?? null])
  ).rows;
}

/** Updates a version; `details` is merged into the stored details. */
export async function updateModelVersion(
  db: Queryable,
  id: number,
  patch: { status?: ModelVersionStatus; provider_model_id?: string | null; eval_accuracy?: number | null; baseline_accuracy?: number | null; details?: Record<string, unknown> },
): Promise<ModelVersionRow | null> {
  const r = await db.query<ModelVersionRow>(
    `UPDATE model_versions SET
        status = coalesce($2, status),
        provider_model_id = coalesce($3, provider_model_id),
        eval_accuracy = coalesce($4, eval_accuracy),
        baseline_accuracy = coalesce($5, baseline_accuracy),
        details = details || $6::jsonb
      WHERE id = $1 RETURNING *`,
    [id, patch.status ?? null, patch.provider_model_id ?? null, patch.eval_accuracy ?? null, patch.baseline_accuracy ?? null, JSON.stringify(patch.details ?? {})],
  );
  return r.rows[0] ?? null;
}

/**
 * Promotes a version in one transaction: the version promoted so far becomes
 * retired, this one promoted with promoted_at = now(). Returns the retired row, if any.
 */
export async function promoteModelVersion(
  db: Db,
  id: number,
  accuracies: { eval_accuracy: number | null; baseline_accuracy: number | null; details?: Record<string, unknown> },
): Promise<{ promoted: ModelVersionRow; retired: ModelVersionRow | null }> {
  return db.transaction(async (tx) => {
    const me = (await tx.query<ModelVersionRow>('SELECT * FROM model_versions WHERE id = $1 FOR UPDATE', [id])).rows[0];
    if (!me) throw new Error(`model version ${id} does not exist`);
    if (me.status === 'promoted') return { promoted: me, retired: null };
    const retired = (
      await tx.query<ModelVersionRow>(`UPDATE model_versions SET status = 'retired' WHERE model = $1 AND status = 'promoted' AND id <> $2 RETURNING *`, [me.model, id])
    ).rows[0] ?? null;
    const promoted = (
      await tx.query<ModelVersionRow>(
        `UPDATE model_versions SET status = 'promoted', promoted_at = now(), eval_accuracy = $2, baseline_accuracy = $3, details = details || $4::jsonb
          WHERE id = $1 RETURNING *`,
        [id, accuracies.eval_accuracy, accuracies.baseline_accuracy, JSON.stringify(accuracies.details ?? {})],
      )
    ).rows[0];
    return { promoted, retired };
  });
}

// Serving state, rollback and API keys (issue 8) are exported with the registry.
export * from './serving.js';
export * from './keys.js';
export * from '../../metrics/serving.js';

import type { ActionKind } from '../../policy/types.js';
import type { Queryable } from '../types.js';

export type DecisionState = 'queued' | 'awaiting_approval' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'rejected';

export interface DecisionRow {
  id: number;
  run_id: string;
  model: string;
  action: ActionKind;
  state: DecisionState;
  priority: number;
  reason: string;
  dedup_key: string;
  window_start: Date;
  window_end: Date;
  details: Record<string, unknown>;
  result: Record<string, unknown> | null;
  decided_by: string | null;
  decided_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** What the trigger stores; the database fills in the rest. */
export type NewDecision = Pick<DecisionRow, 'run_id' | 'model' | 'action' | 'state' | 'priority' | 'reason' | 'dedup_key' | 'window_start' | 'window_end' | 'details'>;

/**
 * Inserts a decision unless one with the same dedup_key exists (a replayed trigger);
 * returns the row and whether this call created it.
 */
export async function insertDecision(db: Queryable, d: NewDecision): Promise<{ row: DecisionRow; created: boolean }> {
  const ins = await db.query<DecisionRow>(
    `INSERT INTO decisions (run_id, model, action, state, priority, reason, dedup_key, window_start, window_end, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (dedup_key) DO NOTHING RETURNING *`,
    [d.run_id, d.model, d.action, d.state, d.priority, d.reason, d.dedup_key, d.window_start, d.window_end, JSON.stringify(d.details)],
  );
  if (ins.rows[0]) return { row: ins.rows[0], created: true };
  const existing = await db.query<DecisionRow>('SELECT * FROM decisions WHERE dedup_key = $1', [d.dedup_key]);
  return { row: existing.rows[0], created: false };
}

/**
 * For each action of a model, in one query:
 * - last_acted: when the latest run whose decision went ahead (queued, awaiting approval,
 *   running or succeeded; not skipped, rejected or failed) took place: the run's time
 *   (window_end), the same clock as a run's `now`, so a cooldown compares run times and a
 *   replayed trigger decides as the first one did;
 * - in_flight: whether a decision is queued or running (inFlightDecision finds it; the
 *   trigger confirms it against its queue job with actionInFlight).
 */
export async function decisionHistory(db: Queryable, model: string, actions: readonly ActionKind[]): Promise<Record<string, { last_acted: Date | null; in_flight: boolean }>> {
  const r = await db.query<{ action: ActionKind; last_acted: Date | null; in_flight: boolean }>(
    `SELECT a AS action,
            (SELECT max(window_end) FROM decisions
              WHERE model = $1 AND action = a AND state NOT IN ('skipped', 'rejected', 'failed')) AS last_acted,
            EXISTS (SELECT 1 FROM decisions WHERE model = $1 AND action = a AND state IN ('queued', 'running')) AS in_flight
       FROM unnest($2::text[]) AS a`,
    [model, actions],
  );
  const out: Record<string, { last_acted: Date | null; in_flight: boolean }> = {};
  for (const row of r.rows) out[row.action] = { last_acted: row.last_acted, in_flight: row.in_flight };
  return out;
}

/**
 * The decision of this model and action that is queued or running now, if any (the
 * oldest; `except` leaves one out). At most one action of a kind runs per model at a
 * time: a fine-tune that waits hours on the provider is still running here, even while
 * its queue job waits in delayed and holds no worker slot.
 */
export async function inFlightDecision(db: Queryable, model: string, action: ActionKind, except?: number): Promise<DecisionRow | null> {
  const r = await db.query<DecisionRow>(
    `SELECT * FROM decisions
      WHERE model = $1 AND action = $2 AND state IN ('queued', 'running') AND id <> $3
      ORDER BY id LIMIT 1`,
    [model, action, except ?? 0],
  );
  return r.rows[0] ?? null;
}

export async function getDecision(db: Queryable, id: number): Promise<DecisionRow | null> {
  return (await db.query<DecisionRow>('SELECT * FROM decisions WHERE id = $1', [id])).rows[0] ?? null;
}

/**
 * Moves a decision from one of `from` to `to`; returns null when it was not in one of
 * those states (someone else moved it first), so two approvers cannot both act.
 */
export async function transitionDecision(
  db: Queryable,
  id: number,
  from: DecisionState[],
  to: DecisionState,
  patch: { decided_by?: string; result?: Record<string, unknown> } = {},
): Promise<DecisionRow | null> {
  const r = await db.query<DecisionRow>(
    `UPDATE decisions SET state = $3, updated_at = now(),
            decided_by = coalesce($4, decided_by),
            decided_at = CASE WHEN $4::text IS NULL THEN decided_at ELSE now() END,
            result = coalesce($5::jsonb, result)
      WHERE id = $1 AND state = ANY($2::text[]) RETURNING *`,
    [id, from, to, patch.decided_by ?? null, patch.result ? JSON.stringify(patch.result) : null],
  );
  return r.rows[0] ?? null;
}

export async function listDecisions(db: Queryable, opts: { limit?: number; state?: DecisionState; model?: string } = {}): Promise<DecisionRow[]> {
  const r = await db.query<DecisionRow>(
    `SELECT * FROM decisions
      WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR model = $2)
      ORDER BY created_at DESC, id DESC LIMIT $3`,
    [opts.state ?? null, opts.model ?? null, opts.limit ?? 50],
  );
  return r.rows;
}

import type { Queryable } from '../types.js';

/** A run the pipeline started (a scheduler tick, or a retry of one the reconciler made). */
export interface PipelineRunRow {
  run_id: string;
  model: string;
  tick: Date;
  dry_run: boolean;
  state: 'started' | 'finished' | 'incomplete' | 'abandoned';
  attempt: number;
  retry_of: string | null;
  failures: Record<string, string> | null;
  created_at: Date;
  updated_at: Date;
}

/** Records that a run started; a replayed tick (same run id) changes nothing. */
export async function recordRunStarted(db: Queryable, r: { run_id: string; model: string; tick: Date; dry_run: boolean; attempt?: number; retry_of?: string }): Promise<void> {
  await db.query(
    `INSERT INTO pipeline_runs (run_id, model, tick, dry_run, state, attempt, retry_of) VALUES ($1, $2, $3, $4, 'started', $5, $6)
     ON CONFLICT (run_id) DO NOTHING`,
    [r.run_id, r.model, r.tick, r.dry_run, r.attempt ?? 1, r.retry_of ?? null],
  );
}

/** The trigger's word on a run: finished, or incomplete with the monitors that failed. Runs not recorded (run-once) are left alone. */
export async function recordRunOutcome(db: Queryable, runId: string, failures: Record<string, string>): Promise<void> {
  const incomplete = Object.keys(failures).length > 0;
  await db.query(
    `UPDATE pipeline_runs SET state = $2, failures = $3::jsonb, updated_at = now() WHERE run_id = $1 AND state IN ('started', 'incomplete')`,
    [runId, incomplete ? 'incomplete' : 'finished', incomplete ? JSON.stringify(failures) : null],
  );
}

/** Runs that may need another attempt: incomplete ones, and started ones older than stuckMs. */
export async function runsToRetry(db: Queryable, stuckMs: number): Promise<PipelineRunRow[]> {
  const r = await db.query<PipelineRunRow>(
    `SELECT * FROM pipeline_runs
      WHERE state = 'incomplete'
         OR (state = 'started' AND updated_at < now() - ($1::double precision * interval '1 millisecond'))
      ORDER BY created_at LIMIT 100`,
    [stuckMs],
  );
  return r.rows;
}

/** Marks a run as replaced by a retry (or given up); false when someone else did first. */
export async function closeRun(db: Queryable, runId: string, state: 'abandoned' | 'incomplete', note: Record<string, unknown>): Promise<boolean> {
  const r = await db.query(
    `UPDATE pipeline_runs SET state = $2, failures = coalesce(failures, '{}'::jsonb) || $3::jsonb, updated_at = now()
      WHERE run_id = $1 AND state IN ('started', 'incomplete')`,
    [runId, state, JSON.stringify(note)],
  );
  return r.rowCount > 0;
}

import type { MonitorResult } from '../../monitors/types.js';
import type { Queryable } from '../types.js';
import type { TimeWindow } from './windows.js';

export interface StoredRun {
  id: number;
  run_id: string;
  model: string;
  monitor: MonitorResult['kind'];
  status: MonitorResult['status'];
  score: number;
  severity: MonitorResult['severity'];
  p_value: number | null;
  n_baseline: number;
  n_current: number;
  /** The frozen baseline this run compared with; null or absent: the rolling baseline window. */
  baseline_id?: number | null;
  result: MonitorResult;
  created_at: Date;
}

/**
 * Stores a monitor result once per (run, monitor). A retried monitor job finds the
 * first stored result and returns it, so a run's figures never change after the fact.
 */
export async function storeDriftRun(
  db: Queryable,
  runId: string,
  model: string,
  windows: { baseline: TimeWindow; current: TimeWindow },
  r: MonitorResult,
  /** The frozen baseline compared with (migration 000006's drift_runs.baseline_id); null: the rolling window. */
  baselineId: number | null = null,
): Promise<StoredRun> {
  const withBaseline = baselineId !== null;
  const inserted = await db.query<StoredRun>(
    `INSERT INTO drift_runs (run_id, model, monitor, status, score, severity, p_value, n_baseline, n_current,
                             baseline_start, baseline_end, current_start, current_end, result${withBaseline ? ', baseline_id' : ''})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14${withBaseline ? ', $15' : ''})
     ON CONFLICT (run_id, monitor) DO NOTHING
     RETURNING *`,
    [runId, model, r.kind, r.status, r.score, r.severity, r.p_value, r.n_baseline, r.n_current,
      windows.baseline.start, windows.baseline.end, windows.current.start, windows.current.end, JSON.stringify(r), ...(withBaseline ? [baselineId] : [])],
  );
  if (inserted.rows[0]) return inserted.rows[0];
  const existing = await db.query<StoredRun>('SELECT * FROM drift_runs WHERE run_id = $1 AND monitor = $2', [runId, r.kind]);
  return existing.rows[0];
}

export async function runsOf(db: Queryable, runId: string): Promise<StoredRun[]> {
  return (await db.query<StoredRun>('SELECT * FROM drift_runs WHERE run_id = $1 ORDER BY id', [runId])).rows;
}

/** Recent monitor results, newest first. */
export async function listDriftRuns(db: Queryable, opts: { limit?: number; model?: string } = {}): Promise<StoredRun[]> {
  const r = await db.query<StoredRun>(
    `SELECT * FROM drift_runs WHERE ($1::text IS NULL OR model = $1) ORDER BY created_at DESC, id DESC LIMIT $2`,
    [opts.model ?? null, opts.limit ?? 50],
  );
  return r.rows;
}

import type { AccuracyWindow, InteractionRecord, Matrix, MonitorKind } from '../../monitors/types.js';
import type { Queryable } from '../types.js';
import type { TimeWindow } from './windows.js';

/**
 * Frozen baselines: a monitor's reference sample and figures, taken once from a window and
 * reused by every run until replaced, so a month of history is not re-read every day
 * (alibi-detect's and Evidently's "reference data"). Sampled with the same seeded, uniform
 * sampler as a rolling baseline (windows.ts), so a frozen baseline is exactly the sample a
 * run on the freezing day would have drawn.
 */
export interface FrozenBaseline {
  id: number;
  model: string;
  monitor: MonitorKind;
  window_start: Date;
  window_end: Date;
  /** Rows in the sample (embedding, behavior) or figures aggregated (accuracy: its largest count). */
  n: number;
  seed: number;
  created_at: Date;
  /** embedding: the sampled vectors. */
  embeddings?: Matrix;
  /** behavior: the sampled interactions (moderated at freezing). */
  interactions?: InteractionRecord[];
  /** accuracy: the window's aggregated figures. */
  accuracy?: AccuracyWindow;
}

type Row = {
  id: number;
  model: string;
  monitor: MonitorKind;
  window_start: Date;
  window_end: Date;
  n: number;
  dim: number | null;
  vectors: Uint8Array | null;
  data: unknown;
  seed: number;
  created_at: Date;
};

function fromRow(r: Row, withSample: boolean): FrozenBaseline {
  const out: FrozenBaseline = { id: r.id, model: r.model, monitor: r.monitor, window_start: new Date(r.window_start), window_end: new Date(r.window_end), n: r.n, seed: r.seed, created_at: new Date(r.created_at) };
  if (!withSample) return out;
  const data = typeof r.data === 'string' ? JSON.parse(r.data) : r.data;
  if (r.monitor === 'embedding') {
    // Copy into an aligned buffer (a Buffer from pg may start at any offset). Float4, little-endian.
    const bytes = r.vectors ? new Uint8Array(r.vectors) : new Uint8Array(0);
    out.embeddings = { rows: r.n, cols: r.dim ?? 0, data: new Float32Array(bytes.buffer, 0, bytes.byteLength / 4) };
  } else if (r.monitor === 'behavior') out.interactions = data as InteractionRecord[];
  else out.accuracy = data as AccuracyWindow;
  return out;
}

/** What a freeze stores for one monitor. */
export type BaselineSample =
  | { monitor: 'embedding'; sample: Matrix }
  | { monitor: 'behavior'; sample: InteractionRecord[] }
  | { monitor: 'accuracy'; sample: AccuracyWindow };

/**
 * Stores a baseline for (model, monitor) and puts it in force; the one it replaces keeps
 * its row (runs that used it still name it) with replaced_at set. Run inside a transaction
 * so that replacing is atomic.
 */
export async function storeBaseline(db: Queryable, model: string, w: TimeWindow, seed: number, b: BaselineSample): Promise<FrozenBaseline> {
  await db.query(`UPDATE baselines SET replaced_at = now() WHERE model = $1 AND monitor = $2 AND replaced_at IS NULL`, [model, b.monitor]);
  let n: number;
  let dim: number | null = null;
  let vectors: Uint8Array | null = null;
  let data: unknown = {};
  if (b.monitor === 'embedding') {
    n = b.sample.rows;
    dim = b.sample.cols;
    const f32 = b.sample.data instanceof Float32Array ? b.sample.data : Float32Array.from(b.sample.data);
    vectors = new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength);
  } else if (b.monitor === 'behavior') {
    n = b.sample.length;
    data = b.sample.map((r) => ({ response: r.response, error: r.error ?? null, latency_ms: r.latency_ms ?? null, toxic: r.toxic ?? null, query: r.query }));
  } else {
    n = Math.max(b.sample.eval_total, b.sample.task_total, b.sample.feedback_counts.reduce((a, x) => a + x, 0));
    data = b.sample;
  }
  const { rows } = await db.query<Row>(
    `INSERT INTO baselines (model, monitor, window_start, window_end, n, dim, vectors, data, seed)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
    [model, b.monitor, w.start, w.end, n, dim, vectors, JSON.stringify(data), seed],
  );
  return fromRow(rows[0], false);
}

/**
 * What a monitor run reads before it samples, in one query: the baseline in force for
 * (model, monitor) with its sample (null: the run uses the rolling baseline window), and
 * the version promoted inside the current window, if any (as servedCurrentWindow asks: a
 * run then judges only the traffic that version served; servedWindow gives that window).
 */
export async function runReferences(
  db: Queryable,
  model: string,
  monitor: MonitorKind,
  current: TimeWindow,
): Promise<{ baseline: FrozenBaseline | null; promotion: { version: string; promoted_at: Date } | null }> {
  const { rows } = await db.query<Partial<Row> & { promoted_version: string | null; promoted_at: Date | null }>(
    `SELECT b.*, v.version AS promoted_version, v.promoted_at
       FROM (SELECT 1) AS one
       LEFT JOIN baselines b ON b.model = $1 AND b.monitor = $2 AND b.replaced_at IS NULL
       LEFT JOIN LATERAL (SELECT version, promoted_at FROM model_versions
                           WHERE model = $1 AND status = 'promoted' AND promoted_at > $3 AND promoted_at < $4 LIMIT 1) AS v ON true`,
    [model, monitor, current.start, current.end],
  );
  const r = rows[0];
  return {
    baseline: r?.id != null ? fromRow(r as Row, true) : null,
    promotion: r?.promoted_version != null && r.promoted_at != null ? { version: r.promoted_version, promoted_at: new Date(r.promoted_at) } : null,
  };
}

/** Baselines of a model (all monitors), newest first, without their samples. */
export async function listBaselines(db: Queryable, model?: string): Promise<(FrozenBaseline & { replaced_at: Date | null })[]> {
  const { rows } = await db.query<Row & { replaced_at: Date | null }>(
    `SELECT id, model, monitor, window_start, window_end, n, dim, NULL::bytea AS vectors, '{}'::jsonb AS data, seed, created_at, replaced_at
       FROM baselines WHERE ($1::text IS NULL OR model = $1) ORDER BY created_at DESC, id DESC`,
    [model ?? null],
  );
  return rows.map((r) => ({ ...fromRow(r, false), replaced_at: r.replaced_at ? new Date(r.replaced_at) : null }));
}

/** Takes a model's baselines out of force: runs go back to the rolling baseline window. Returns how many. */
export async function releaseBaselines(db: Queryable, model: string): Promise<number> {
  const r = await db.query(`UPDATE baselines SET replaced_at = now() WHERE model = $1 AND replaced_at IS NULL`, [model]);
  return r.rowCount;
}

/** Whether the database has the baselines table (migration 000006). */
export async function hasBaselines(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ t: string | null }>(`SELECT to_regclass('baselines')::text AS t`);
  return Boolean(rows[0]?.t);
}

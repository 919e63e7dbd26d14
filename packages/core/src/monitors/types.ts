/**
 * What every monitor returns. A monitor is a pure function: data and config in,
 * a MonitorResult out. Workers store it in drift_runs and set gauges from it;
 * `driftwatch compare --json` prints it.
 */
export type MonitorKind = 'embedding' | 'behavior' | 'accuracy';
export const MONITOR_KINDS: readonly MonitorKind[] = ['embedding', 'behavior', 'accuracy'];

/** drift: calibrated evidence is significant AND the effect is large enough to matter. */
export type MonitorStatus = 'drift' | 'no_drift' | 'insufficient_data';
export type Severity = 'none' | 'moderate' | 'significant';

/** One method's figures. `baseline`/`current` are present where the figure exists on both sides. */
export interface MethodResult {
  baseline?: number | null;
  current?: number | null;
  /** The method's statistic or distance (e.g. MMD^2, PSI, centroid distance). */
  value?: number | null;
  /** Calibrated p-value where the method is a test. */
  p_value?: number | null;
  threshold?: number | null;
  /** True when the method on its own flags drift (significant and over its minimum effect). */
  flagged?: boolean;
  [extra: string]: unknown;
}

export interface MonitorResult {
  kind: MonitorKind;
  status: MonitorStatus;
  /** 0..1, documented per monitor. 0 when insufficient_data. */
  score: number;
  severity: Severity;
  /** Combined (family-wise corrected) p-value; null when insufficient_data. */
  p_value: number | null;
  n_baseline: number;
  n_current: number;
  methods: Record<string, MethodResult>;
  /** Current-window figures that feed the model_* gauges (model_accuracy, model_refusal_rate, model_toxicity_rate). */
  gauges: Partial<Record<'model_accuracy' | 'model_refusal_rate' | 'model_toxicity_rate', number>>;
  /** One human sentence: why this status. */
  reason: string;
  /**
   * Wall-clock milliseconds per method and `total`, where the monitor measures them
   * (embedding). Informational only: the one field that differs between two runs
   * with the same seed.
   */
  timings_ms?: Record<string, number>;
}

/** Row-major dense matrix; embeddings travel as one Float32Array, never as arrays of arrays. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array | Float64Array;
}

/** One logged interaction as the behaviour monitor sees it. `toxic` is filled by a moderation provider before the monitor runs. */
export interface InteractionRecord {
  query?: string;
  response: string;
  error?: boolean | string | null;
  latency_ms?: number | null;
  toxic?: boolean | null;
  /** What the application paid for this interaction (logged cost_usd, or tokens x the price table). */
  cost_usd?: number | null;
}

/**
 * Accuracy data of one window, aggregated (SQL can compute every field with COUNT/SUM,
 * so a window costs the same whatever its size).
 */
export interface AccuracyWindow {
  /** Evaluation-set results. */
  eval_total: number;
  eval_correct: number;
  /** Counts of user feedback scores 1..5, index 0 = score 1. */
  feedback_counts: [number, number, number, number, number];
  task_total: number;
  task_success: number;
  /** Per-label confusion counts where expected/predicted labels exist. */
  labels: Record<string, { tp: number; fp: number; fn: number }>;
}

/** Deterministic randomness, injected (same seed, same result). */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

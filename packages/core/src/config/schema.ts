import { z } from 'zod';
import { notificationsSchema } from '../notifications/events.js';
import { PII_KINDS } from '../privacy/scrub.js';

/**
 * drift_config.yaml. Every key of the original design's example is here with its
 * meaning and default; unknown keys are rejected so that a typo is an error, not a
 * silently ignored setting.
 */

const fraction = z.number().min(0).max(1);
const positiveInt = z.number().int().positive();

export const embeddingThresholdsSchema = z
  .object({
    /** Descriptive: cosine distance between baseline and current centroids above which the original design called drift. Reported, not used alone to alarm. */
    distance_threshold: z.number().nonnegative().default(0.15),
    /** Descriptive: absolute change of the KMeans silhouette score that counts as a structural change. */
    silhouette_threshold: z.number().nonnegative().default(0.2),
    /** Descriptive: relative change of the total variance (trace of the covariance) that counts as a spread change. */
    variance_threshold: z.number().nonnegative().default(0.3),
    /** Descriptive: PSI above this is "significant" (0.1..0.2 moderate). */
    psi_threshold: z.number().nonnegative().default(0.2),
    /**
     * Minimum effect for an alarm, measured out of fold by the domain classifier: the
     * larger of AUC - 0.5 and (true-positive rate at 10% false-positive rate) - 0.1,
     * the latter about 0.9 x the share of the current window that is new. 0.02 ignores
     * shifts that touch less than about 2% of traffic however large the sample.
     */
    min_effect: z.number().nonnegative().default(0.02),
    /**
     * Relabellings shared by the embedding monitor's tests (min-p combination of three
     * statistics). Its p-value is a count of relabellings over B + 1, and when the
     * tests disagree about which relabelling is most extreme it can be no smaller than
     * about 3/(B+1): B must be at least 4/alpha - 1 (79 at alpha 0.05, 399 at 0.01);
     * more gives finer p-values and a little more power.
     */
    permutations: positiveInt.default(200),
    /** Rows sampled per window (uniformly, in SQL) before any computation. */
    max_sample: positiveInt.default(2000),
    /** KMeans cluster count. */
    clusters: positiveInt.default(8),
    /** Dimension of the random projection that KS, PSI and KMeans work on. */
    projection_dim: positiveInt.default(64),
    /**
     * Dimension the domain classifier and the MMD see: the embeddings themselves when they have
     * at most this many dimensions, else a sparse random projection to it. A small mean
     * shift lives in the low-variance directions a 64-d projection averages away; the
     * classifier's cost grows with rows x classifier_dim^2.
     */
    classifier_dim: positiveInt.default(384),
  })
  .strict();

export const behaviorThresholdsSchema = z
  .object({
    /** Current refusal rate above which the rate is out of bounds (original design: 0.10). */
    refusal_rate_threshold: fraction.default(0.1),
    /** Current toxicity rate above which the rate is out of bounds (original design: 0.05). */
    toxicity_rate_threshold: fraction.default(0.05),
    /** Current error rate above which the rate is out of bounds. */
    error_rate_threshold: fraction.default(0.05),
    /** Relative change of the median response length that counts as an anomaly. */
    length_change_threshold: z.number().nonnegative().default(0.5),
    /** Relative rise of the mean cost per interaction (the application's cost_usd) that counts as drift: 0.2 = 20 % dearer. */
    cost_change_threshold: z.number().nonnegative().default(0.2),
    /** Extra refusal patterns (case-insensitive regular expressions) added to the defaults. */
    refusal_patterns: z
      .array(
        z.string().refine((p) => {
          try {
            new RegExp(p, 'i');
            return true;
          } catch {
            return false;
          }
        }, 'not a valid regular expression; check brackets and escape special characters with \\'),
      )
      .default([]),
    /** Rows sampled per window. */
    max_sample: positiveInt.default(5000),
  })
  .strict();

export const accuracyThresholdsSchema = z
  .object({
    /** Relative drop of evaluation accuracy that counts as drift (0.05 = 5% drop). */
    accuracy_threshold: fraction.default(0.05),
    /** Relative drop of mean user feedback that counts as drift (0.30 = 30% drop). */
    feedback_threshold: fraction.default(0.3),
    /** Relative drop of task success rate that counts as drift. */
    task_success_threshold: fraction.default(0.05),
  })
  .strict();

export const modelSchema = z
  .object({
    /** Name the application logs under (model column of the log tables). */
    name: z.string().min(1),
    /** Cron (5 or 6 fields) for the monitor run of this model. */
    schedule: z.string().min(1).default('0 0 * * *'),
    /** IANA time zone for the cron. */
    timezone: z.string().default('UTC'),
    /** Base model to fine-tune from when a fine-tune is decided. */
    base_model: z.string().default('gpt-4o-mini-2024-07-18'),
    /** Embedding model used for documents and queries of this model. */
    embedding_model: z.string().default('text-embedding-3-small'),
  })
  .strict();

/** actions.finetune: what a fine-tune may learn from, what it must beat, and what it may cost. */
export const finetuneSchema = z
  .object({
    /** Only interactions rated at least this become training examples (overrides actions.min_feedback_score when set). */
    min_feedback: z.number().int().min(1).max(5).optional(),
    /** Fewer clean training examples than this fails the decision with the reason (OpenAI's own minimum is 10). */
    min_examples: z.number().int().min(10).default(10),
    /** Two training questions with word-set Jaccard similarity at least this are near-duplicates; one is kept. */
    near_duplicate_jaccard: z.number().gt(0).max(1).default(0.9),
    /** Longest training example, in approximate tokens; longer ones are dropped (OpenAI: 65536 for gpt-4o-mini). */
    max_example_tokens: positiveInt.default(16384),
    /** Share of the evaluation set held out for the gate (hash of the normalised question); the rest is never trained on either. */
    holdout_share: z.number().gt(0).max(1).default(0.5),
    /** The gate needs at least this many held-out items; below it the version is held with the reason. */
    min_eval_items: positiveInt.default(30),
    /** The challenger must beat the champion's held-out accuracy by at least this (absolute). */
    min_improvement: z.number().min(0).max(1).default(0.02),
    /** Significance level of the gate's exact McNemar tests (accuracy up; refusals and toxicity not up). */
    gate_alpha: z.number().gt(0).lt(1).default(0.05),
    /** Training epochs (cost estimate; OpenAI's n_epochs). */
    epochs: positiveInt.default(3),
    /** Estimated training cost above this (USD) waits for approval with the estimate as its reason. */
    max_cost_usd: z.number().nonnegative().default(50),
  })
  .strict();

export const actionsSchema = z
  .object({
    /** Decide and record, but call nothing external: every decision is stored as skipped with the reason. */
    dry_run: z.boolean().default(false),
    /** Decisions wait in awaiting_approval until `driftwatch approve ID`. */
    require_approval: z.boolean().default(false),
    /** No second action of the same kind for the same model within this many hours. */
    cooldown_hours: z.number().nonnegative().default(24),
    /** Only interactions with feedback score >= this become fine-tuning examples. */
    min_feedback_score: z.number().int().min(1).max(5).default(4),
    /** At most this many training examples per fine-tune. */
    training_limit: positiveInt.default(1000),
    /** Fine-tune data, evaluation gate and cost guard (packages/core/src/actions/). */
    finetune: finetuneSchema.default(() => finetuneSchema.parse({})),
    /** After a promotion, a version whose served traffic regressed is rolled back to the previous one (a decision with its reason). */
    auto_rollback: z.boolean().default(true),
  })
  .strict();

/** Personal data handling: the scrubber runs on every write path before anything is stored. */
export const privacySchema = z
  .object({
    /** redact: replace with [EMAIL], [PHONE], ...; hash: [EMAIL:<12 hex of HMAC-SHA256>] (same value, same token, so counts still join); off: store as sent. Default redact. */
    mode: z.enum(['redact', 'hash', 'off']).default('redact'),
    /** Kinds scrubbed (the others are stored as sent). Default: all of secret, email, iban, card, ipv6, ipv4, phone. */
    redact: z.array(z.enum(PII_KINDS)).default([...PII_KINDS]),
    /** HMAC key of the hash mode; set your own so tokens cannot be reversed by guessing values. */
    hash_salt: z.string().min(1).default('driftwatch'),
  })
  .strict();

/** The ingest API (POST /v1/ingest and the shortcuts), feedback and computed embeddings. */
export const ingestSchema = z
  .object({
    /** Largest request body in bytes; a larger one is a 413 naming this limit. Default 5 MB. */
    body_limit_bytes: positiveInt.default(5 * 1024 * 1024),
    /** Most events in one POST /v1/ingest batch. Default 1000. */
    max_batch: positiveInt.default(1000),
    /** Requests per key (or client address without keys) per rate_limit_window_ms; more is a 429 with retry-after. Default 600. */
    rate_limit: positiveInt.default(600),
    /** Window of the per-key rate limit, ms. Default 60000. */
    rate_limit_window_ms: positiveInt.default(60_000),
    /** Rows per multi-row INSERT statement, so no single statement holds the embedded database long. Default 200. */
    chunk_rows: positiveInt.default(200),
    /** How long feedback for an interaction not yet stored is held, then reported as orphaned. Default 24 hours. */
    feedback_hold_hours: z.number().positive().default(24),
    /** At most this many held feedback events; more are rejected (per event, 409-style) until some are applied or expire. Default 100000. */
    feedback_hold_max: positiveInt.default(100_000),
    /** Compute query embeddings for interactions stored without one (embed queue). Default true. */
    compute_embeddings: z.boolean().default(true),
    /** Interactions per embed job. Default 64. */
    embed_batch: positiveInt.default(64),
  })
  .strict();

export const driftConfigSchema = z
  .object({
    /** Days of history before the current window used as the baseline. */
    baseline_days: positiveInt.default(30),
    /** Days ending now that form the current window. */
    current_days: positiveInt.default(7),
    /** Below this many rows on either side a monitor reports insufficient_data, never drift. */
    min_samples: positiveInt.default(100),
    /** Family-wise false-alarm rate of each monitor's calibrated test. */
    alpha: z.number().gt(0).lt(1).default(0.05),
    /** Seed for sampling and permutation tests: same seed, same result. */
    seed: z.number().int().nonnegative().default(42),
    embedding_thresholds: embeddingThresholdsSchema.default(() => embeddingThresholdsSchema.parse({})),
    behavior_thresholds: behaviorThresholdsSchema.default(() => behaviorThresholdsSchema.parse({})),
    accuracy_thresholds: accuracyThresholdsSchema.default(() => accuracyThresholdsSchema.parse({})),
    /** Port of /metrics on every process. */
    prometheus_port: z.number().int().min(0).max(65535).default(8000),
    actions: actionsSchema.default(() => actionsSchema.parse({})),
    privacy: privacySchema.default(() => privacySchema.parse({})),
    ingest: ingestSchema.default(() => ingestSchema.parse({})),
    /** Webhooks Driftwatch posts to on drift, approvals, action outcomes, gate verdicts and rollbacks (issue 11). */
    notifications: notificationsSchema.default(() => notificationsSchema.parse({})),
    /** The models Driftwatch monitors; one job scheduler each. */
    models: z.array(modelSchema).min(1),
  })
  .strict()
  .superRefine((c, ctx) => {
    const needed = Math.ceil(4 / c.alpha - 1);
    if (c.embedding_thresholds.permutations < needed) {
      ctx.addIssue({
        code: 'custom',
        path: ['embedding_thresholds', 'permutations'],
        message: `${c.embedding_thresholds.permutations} permutations are too few for the embedding tests' combined p-value to fall below alpha ${c.alpha}; use at least ${needed} (or raise alpha)`,
      });
    }
    const seen = new Set<string>();
    c.models.forEach((m, i) => {
      if (seen.has(m.name)) ctx.addIssue({ code: 'custom', path: ['models', i, 'name'], message: `duplicate model name "${m.name}"; each model must be listed once` });
      seen.add(m.name);
    });
  });

export type DriftConfig = z.infer<typeof driftConfigSchema>;
export type EmbeddingThresholds = z.infer<typeof embeddingThresholdsSchema>;
export type BehaviorThresholds = z.infer<typeof behaviorThresholdsSchema>;
export type AccuracyThresholds = z.infer<typeof accuracyThresholdsSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type PrivacyConfig = z.infer<typeof privacySchema>;
export type IngestConfig = z.infer<typeof ingestSchema>;

/** What each monitor function receives: its thresholds plus the shared statistical settings. */
export interface MonitorSettings {
  min_samples: number;
  alpha: number;
  seed: number;
}

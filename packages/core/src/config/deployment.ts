import { z } from 'zod';

const positiveInt = z.number().int().positive();

/** How long finished jobs are kept in Redis (and so visible in Bull Board). */
const retentionSchema = z
  .object({
    /** Keep at most this many jobs. */
    count: z.number().int().nonnegative(),
    /** Keep jobs at most this many seconds. */
    age_seconds: z.number().int().nonnegative(),
  })
  .strict();

export const queueSettingsSchema = z
  .object({
    /** Jobs one worker process runs at once on this queue. Default 1. Scale further by adding processes. */
    concurrency: positiveInt.default(1),
    /**
     * Jobs all worker processes together run at once on this queue (BullMQ global
     * concurrency, kept in Redis; removed when unset). Default: unset, no fleet-wide cap.
     * Independently of it, at most one action of a kind runs per model at a time (the
     * trigger and approvals check the decisions table), which also covers a fine-tune
     * that waits on its provider in delayed.
     */
    global_concurrency: positiveInt.optional(),
    /**
     * At most `max` jobs start per `duration_ms` across the fleet (BullMQ limiter, counted
     * in Redis). Default: unset, no limit. A provider's 429 pauses the queue for its
     * retry-after whatever this says.
     */
    limiter: z.object({ max: positiveInt, duration_ms: positiveInt }).strict().optional(),
    /**
     * Attempts before a job fails for good (permanent errors fail at once whatever this says;
     * rate limits and waits use none). Default 8: with the default backoff the retries span
     * 2 to 4 minutes, so a job outlives a 2-minute database or Redis outage.
     */
    attempts: positiveInt.default(8),
    /**
     * Delay before retry n: exponential: delay_ms * 2^(n-1); fixed: delay_ms. With jitter j
     * (0..1) the delay is drawn uniformly from [(1-j) * delay, delay], so a fleet that failed
     * together does not retry together. Default: exponential, 2000 ms, 0.5.
     */
    backoff: z
      .object({
        type: z.enum(['exponential', 'fixed']).default('exponential'),
        delay_ms: z.number().int().nonnegative().default(2000),
        jitter: z.number().min(0).max(1).default(0.5),
      })
      .strict()
      .default({ type: 'exponential', delay_ms: 2000, jitter: 0.5 }),
    /** Completed jobs kept for the board. Default: 1000 jobs, 7 days. */
    remove_on_complete: retentionSchema.default({ count: 1000, age_seconds: 7 * 86400 }),
    /** Failed jobs kept for inspection and manual retry. Default: 5000 jobs, 30 days. */
    remove_on_fail: retentionSchema.default({ count: 5000, age_seconds: 30 * 86400 }),
    /** Interval between polls of a long external job (fine-tune status) that waits in delayed without holding a worker slot. Default 60000. */
    poll_interval_ms: positiveInt.default(60_000),
  })
  .strict();

const queueDefaults = () => queueSettingsSchema.parse({});
const notifyDefaults = () => queueSettingsSchema.parse({ concurrency: 4, attempts: 8, backoff: { type: 'exponential', delay_ms: 5000 } });
const embedDefaults = () => queueSettingsSchema.parse({ concurrency: 2, limiter: { max: 20, duration_ms: 1000 }, attempts: 5 });

export const deploymentConfigSchema = z
  .object({
    http: z
      .object({
        /** Port of the scheduler's HTTP server (ingest, approvals, Bull Board, /healthz). */
        port: z.number().int().min(0).max(65535).default(3000),
        /** Interface to bind. */
        host: z.string().default('0.0.0.0'),
      })
      .strict()
      .default({ port: 3000, host: '0.0.0.0' }),
    gateway: z
      .object({
        /** Port of `driftwatch gateway` (the OpenAI-compatible routes only; `start` and `scheduler` also serve them under /openai/v1 on http.port). */
        port: z.number().int().min(0).max(65535).default(3001),
        /** Interface to bind (loopback only while no API key or admin token exists). */
        host: z.string().default('0.0.0.0'),
      })
      .strict()
      .default({ port: 3001, host: '0.0.0.0' }),
    worker: z
      .object({
        /** A job's lock lasts this long and is renewed at half of it; a worker that dies stops renewing it. */
        lock_duration_ms: positiveInt.default(30_000),
        /** How often workers look for jobs whose lock expired (stalled) and hand them back. */
        stalled_interval_ms: positiveInt.default(30_000),
        /** A job stalled more than this many times fails instead of being handed back again. */
        max_stalled_count: z.number().int().nonnegative().default(2),
        /** On SIGTERM, running jobs get this long to finish before the process exits and their locks lapse. */
        shutdown_timeout_ms: positiveInt.default(30_000),
      })
      .strict()
      .default({ lock_duration_ms: 30_000, stalled_interval_ms: 30_000, max_stalled_count: 2, shutdown_timeout_ms: 30_000 }),
    reconciler: z
      .object({
        /** How often the scheduler role repairs what Redis or an outage lost (job schedulers, action jobs, unfinished runs); it also runs at start. Default 30000. */
        interval_ms: positiveInt.default(30_000),
        /** A run with no outcome this long after it started (its trigger failed or vanished) is started again. Default 600000 (10 min). */
        run_stuck_after_ms: positiveInt.default(600_000),
        /** Attempts of one tick's run (the first included) before it is recorded as abandoned. Default 3. */
        max_run_attempts: positiveInt.default(3),
      })
      .strict()
      .default({ interval_ms: 30_000, run_stuck_after_ms: 600_000, max_run_attempts: 3 }),
    queues: z
      .object({
        pipeline: queueSettingsSchema.default(queueDefaults),
        monitor: queueSettingsSchema.default(queueDefaults),
        trigger: queueSettingsSchema.default(queueDefaults),
        reindex: queueSettingsSchema.default(queueDefaults),
        finetune: queueSettingsSchema.default(queueDefaults),
        safety: queueSettingsSchema.default(queueDefaults),
        /** Computed query embeddings (issue 10). Default: 2 jobs per process, at most 20 provider calls a second fleet-wide, 5 attempts. */
        embed: queueSettingsSchema.default(embedDefaults),
        /** Webhook deliveries (issue 11). Default: 4 at once per process, 8 attempts with exponential backoff from 5 s (about 10 min in all). */
        notify: queueSettingsSchema.default(notifyDefaults),
      })
      .strict()
      .default(() => ({ pipeline: queueDefaults(), monitor: queueDefaults(), trigger: queueDefaults(), reindex: queueDefaults(), finetune: queueDefaults(), safety: queueDefaults(), embed: embedDefaults(), notify: notifyDefaults() })),
  })
  .strict();

export type DeploymentConfig = z.infer<typeof deploymentConfigSchema>;
export type QueueSettings = z.infer<typeof queueSettingsSchema>;

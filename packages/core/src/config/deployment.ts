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
    /** Jobs one worker process runs at once on this queue. Default 1. */
    concurrency: positiveInt.default(1),
    /** Jobs all workers together run at once on this queue (BullMQ global concurrency); unset: no fleet-wide cap. */
    global_concurrency: positiveInt.optional(),
    /** At most `max` jobs start per `duration_ms` across the fleet (BullMQ limiter). */
    limiter: z.object({ max: positiveInt, duration_ms: positiveInt }).strict().optional(),
    /** Attempts before a job fails for good (permanent errors fail at once whatever this says). Default 3. */
    attempts: positiveInt.default(3),
    /** Retry delay: exponential from delay_ms, doubled each attempt, with +-jitter (0..1) spread. */
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
    /** Interval between polls of a long external job (fine-tune status) that waits in delayed without holding a worker slot. */
    poll_interval_ms: positiveInt.default(60_000),
  })
  .strict();

const queueDefaults = () => queueSettingsSchema.parse({});

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
    queues: z
      .object({
        pipeline: queueSettingsSchema.default(queueDefaults),
        monitor: queueSettingsSchema.default(queueDefaults),
        trigger: queueSettingsSchema.default(queueDefaults),
        reindex: queueSettingsSchema.default(queueDefaults),
        finetune: queueSettingsSchema.default(queueDefaults),
        safety: queueSettingsSchema.default(queueDefaults),
      })
      .strict()
      .default(() => ({ pipeline: queueDefaults(), monitor: queueDefaults(), trigger: queueDefaults(), reindex: queueDefaults(), finetune: queueDefaults(), safety: queueDefaults() })),
  })
  .strict();

export type DeploymentConfig = z.infer<typeof deploymentConfigSchema>;
export type QueueSettings = z.infer<typeof queueSettingsSchema>;

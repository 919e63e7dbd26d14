import { DelayedError, Job, UnrecoverableError, Worker, type Queue } from 'bullmq';
import { ZodError } from 'zod';
import type { RedisClient as Redis } from './redis.js';
import type { Logger } from 'pino';
import type { DeploymentConfig, QueueSettings } from '../config/deployment.js';
import { PermanentError, RateLimitedError, WaitForExternalError } from '../errors.js';
import * as m from '../metrics/registry.js';
import { parsePayload, type Payload, type QueueName } from './catalog.js';
import { MONITOR_KINDS } from '../monitors/types.js';

/**
 * The limiter of a queue with no `limiter` setting: never reached in practice. It is
 * there because BullMQ honours a manual rate limit (a provider's 429, see
 * RateLimitedError) only in workers that have a limiter; without one, the other
 * workers of the queue would keep calling the provider that just asked us to stop.
 */
const UNLIMITED = { max: 1_000_000_000, duration: 1000 };

/** How long a job of another deployment waits before it is offered again (to that deployment's workers, if any run). */
const FOREIGN_RETRY_MS = 5_000;

export interface ProcessorHelpers {
  token: string | undefined;
  worker: Worker;
  log: Logger;
}

/**
 * The settings of a queue that live in Redis and bind the whole fleet: global
 * concurrency is set to the configured value, or removed when the config has none (a
 * value left over from an older config would otherwise stay in force). Every process
 * serving the queue applies it at start; in a rolling deploy the last one started wins.
 */
export async function applyFleetSettings(queue: Queue, settings: QueueSettings): Promise<void> {
  if (settings.global_concurrency) await queue.setGlobalConcurrency(settings.global_concurrency);
  else await queue.removeGlobalConcurrency();
}

/** Whether a 'failed' event is the job's last word (no retry follows): attempts used up, unrecoverable, or stalled too often. */
export function isFinalFailure(job: Job, err: Error): boolean {
  return job.finishedOn !== undefined || job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError || err.name === 'UnrecoverableError';
}

/** Jobs each worker of this process is running now, with their lock tokens (see handBackRunningJobs). */
const running = new WeakMap<Worker, Map<string, { job: Job; token: string | undefined }>>();

/**
 * Puts the jobs a worker is still running back in the queue's wait list at once, so
 * another worker takes them now instead of after their lock expires. For a shutdown
 * that ran out of time (apps/cli/src/serve.ts); the processors are abandoned, and
 * processors are written so that running a job again is safe. Returns the job ids.
 */
export async function handBackRunningJobs(worker: Worker): Promise<string[]> {
  const jobs = [...(running.get(worker)?.values() ?? [])];
  const handed: string[] = [];
  for (const { job, token } of jobs) {
    try {
      await job.moveToWait(token);
      handed.push(job.id!);
    } catch {
      // The lock is gone already (the job finished or stalled meanwhile): nothing to hand back.
    }
  }
  running.get(worker)?.clear();
  return handed;
}

/**
 * When a job became runnable (ms since the epoch). A job scheduler's job is created at the
 * previous tick (job.timestamp) and runs at its own tick (opts.prevMillis); BullMQ resets
 * job.delay to 0 when it promotes a delayed job, so the delay is read from the options.
 */
export function runnableAt(job: Pick<Job, 'timestamp' | 'delay' | 'opts'>): number {
  const tick = (job.opts as { prevMillis?: number }).prevMillis;
  if (typeof tick === 'number' && Number.isFinite(tick)) return tick;
  return job.timestamp + (job.opts.delay ?? job.delay ?? 0);
}

/** The job names a queue's jobs carry: a scheduler's ticks, a flow's monitor kinds, else the queue's own name (Queues.add). */
export function jobNamesOf(queue: QueueName): readonly string[] {
  if (queue === 'pipeline') return ['tick'];
  if (queue === 'monitor') return MONITOR_KINDS;
  return [queue];
}

export type Processor<Q extends QueueName, R = unknown> = (job: Job, data: Payload<Q>, helpers: ProcessorHelpers) => Promise<R>;

/**
 * The one place where a processor becomes a BullMQ worker: payload validation,
 * metrics, logging and error mapping happen here, not in every processor.
 *
 * Error mapping:
 * - PermanentError, invalid payloads (ZodError): UnrecoverableError, no retries;
 * - RateLimitedError: the queue pauses for retryAfterMs, for every worker of it in
 *   the fleet (worker.rateLimit; see UNLIMITED), and the job goes back to waiting
 *   without using up an attempt;
 * - WaitForExternalError: the job moves to delayed and is picked up again later,
 *   holding no worker slot meanwhile;
 * - anything else: retried with the queue's backoff until attempts run out.
 */
export function registerProcessor<Q extends QueueName>(
  queue: Q,
  processor: Processor<Q>,
  opts: { connection: Redis; prefix: string; deployment: DeploymentConfig; logger: Logger; autorun?: boolean; owner?: string },
): Worker {
  const settings = opts.deployment.queues[queue];
  const w = opts.deployment.worker;
  const log = opts.logger.child({ queue });
  let worker: Worker;
  const mine = new Map<string, { job: Job; token: string | undefined }>();

  const wrapped = async (job: Job, token?: string) => {
    mine.set(job.id!, { job, token });
    const name = job.name;
    const readyAt = runnableAt(job);
    // Wait is measured once, at a job's first start: not again when it comes back from a
    // retry, a rate-limit pause or a wait on an external job (that time is not queueing).
    if ((job.attemptsStarted ?? 1) <= 1 && job.attemptsMade === 0 && job.processedOn) m.jobWaitSeconds.observe({ queue, name }, Math.max(0, (job.processedOn - readyAt) / 1000));
    const end = m.jobDurationSeconds.startTimer({ queue, name });
    const jobLog = log.child({ jobId: job.id, name, attempt: job.attemptsMade + 1 });
    try {
      const owner = (job.data as { owner?: unknown } | undefined)?.owner;
      if (opts.owner && typeof owner === 'string' && owner !== opts.owner) {
        // Another database's job on a shared Redis and prefix: leave it to that deployment's workers.
        m.jobsForeignTotal.inc({ queue });
        throw new WaitForExternalError(`job ${job.id} belongs to deployment ${owner}, not to this database's (${opts.owner}): two deployments share Redis prefix "${opts.prefix}"; give each its own DRIFTWATCH_QUEUE_PREFIX`, FOREIGN_RETRY_MS);
      }
      const data = parsePayload(queue, job.data);
      return await processor(job, data, { token, worker, log: jobLog });
    } catch (e) {
      if (e instanceof RateLimitedError) {
        m.jobsRateLimitedTotal.inc({ queue, name });
        jobLog.warn({ retryAfterMs: e.retryAfterMs }, `rate limited: ${e.message}`);
        await worker.rateLimit(e.retryAfterMs);
        throw Worker.RateLimitError();
      }
      if (e instanceof WaitForExternalError) {
        jobLog.info({ delayMs: e.delayMs }, `waiting: ${e.message}`);
        await job.moveToDelayed(Date.now() + e.delayMs, token);
        throw new DelayedError();
      }
      if (e instanceof PermanentError || e instanceof ZodError) {
        const msg = e instanceof ZodError ? `invalid ${queue} job data: ${e.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` : e.message;
        throw new UnrecoverableError(msg);
      }
      throw e;
    } finally {
      end();
      mine.delete(job.id!);
    }
  };

  // Every counter of this queue's known job names exists at 0 from the start, so increase() sees the first event.
  for (const name of jobNamesOf(queue)) {
    for (const c of [m.jobsCompletedTotal, m.jobsRetriedTotal, m.jobsStalledTotal, m.jobsRateLimitedTotal]) c.inc({ queue, name }, 0);
    for (const final of ['true', 'false']) m.jobsFailedTotal.inc({ queue, name, final }, 0);
  }

  worker = new Worker(queue, wrapped, {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: settings.concurrency,
    limiter: settings.limiter ? { max: settings.limiter.max, duration: settings.limiter.duration_ms } : UNLIMITED,
    lockDuration: w.lock_duration_ms,
    stalledInterval: w.stalled_interval_ms,
    maxStalledCount: w.max_stalled_count,
    autorun: opts.autorun ?? true,
  });
  running.set(worker, mine);

  worker.on('completed', (job) => m.jobsCompletedTotal.inc({ queue, name: job.name }));
  worker.on('failed', (job, err) => {
    if (!job) return;
    if (err instanceof Error && err.name === 'RateLimitError') return;
    const final = isFinalFailure(job, err);
    m.jobsFailedTotal.inc({ queue, name: job.name, final: String(final) });
    if (!final) m.jobsRetriedTotal.inc({ queue, name: job.name });
    log[final ? 'error' : 'warn']({ jobId: job.id, name: job.name, attempt: job.attemptsMade, err: err.message }, final ? 'job failed' : 'job failed, will retry');
  });
  worker.on('stalled', (jobId) => {
    // The event carries the id only; the name keeps the label set the same as the other job metrics.
    void Job.fromId(worker, jobId)
      .catch(() => undefined)
      .then((job) => {
        m.jobsStalledTotal.inc({ queue, name: job?.name ?? 'unknown' });
        log.warn({ jobId, name: job?.name }, 'job stalled: the worker running it stopped renewing its lock (crashed or blocked); handed back to the queue');
      });
  });
  worker.on('error', (err) => log.error({ err: err.message }, 'worker error'));
  return worker;
}

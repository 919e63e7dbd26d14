import { describe, it, expect } from 'vitest';
import type { Job, Worker } from 'bullmq';
import { PermanentError, RateLimitedError, WaitForExternalError } from '../../packages/core/src/errors.js';
import { registerProcessor, type Processor } from '../../packages/core/src/queues/worker.js';
import { registry } from '../../packages/core/src/metrics/registry.js';
import { uniquePrefix } from '../helpers/env.js';
import { deployment, quietLogger, redisFixture, waitFor } from '../helpers/fleet.js';

/**
 * The error mapping of registerProcessor against real BullMQ workers on real Redis:
 * what each error a processor throws does to the job.
 */

type Calls = { id: string; at: number; attempt: number }[];

async function withWorker(
  queueSettings: Record<string, unknown>,
  processor: Processor<'safety'>,
  body: (f: ReturnType<typeof redisFixture>, w: Worker[]) => Promise<void>,
  workers = 1,
) {
  const prefix = uniquePrefix('errors');
  const dep = deployment({ queues: { safety: queueSettings } });
  const f = redisFixture(prefix, dep);
  const ws = Array.from({ length: workers }, () => registerProcessor('safety', processor, { connection: f.worker, prefix, deployment: dep, logger: quietLogger }));
  try {
    await Promise.all(ws.map((w) => w.waitUntilReady()));
    await body(f, ws);
  } finally {
    await f.cleanup(ws);
  }
}

const finished = (job: Job | undefined) => job && (job.finishedOn ? job : undefined);

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const m = await registry.getSingleMetric(name)!.get();
  // Histograms: the number of observations.
  const values = String(m.type) === 'histogram' ? m.values.filter((v) => (v as { metricName?: string }).metricName === `${name}_count`) : m.values;
  return values.filter((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x)).reduce((a, v) => a + v.value, 0);
}

describe('registerProcessor maps errors to BullMQ', () => {
  it('PermanentError fails the job at once, without using its other attempts', async () => {
    const calls: Calls = [];
    await withWorker(
      { attempts: 5, backoff: { delay_ms: 10 } },
      async (job) => {
        calls.push({ id: job.id!, at: Date.now(), attempt: job.attemptsMade });
        throw new PermanentError('decision 1 does not exist');
      },
      async (f) => {
        const job = await f.queues.add('safety', { decision_id: 1 }, { jobId: 'perm' });
        const done = await waitFor(async () => finished(await f.queues.get('safety').getJob(job.id!)), 'the job to fail');
        expect(await done.getState()).toBe('failed');
        expect(done.failedReason).toBe('decision 1 does not exist');
        expect(done.attemptsMade).toBe(1);
        await new Promise((r) => setTimeout(r, 300));
        expect(calls).toHaveLength(1);
      },
    );
  });

  it('a payload that does not match the catalog fails at once and names the field', async () => {
    let called = 0;
    await withWorker(
      { attempts: 5, backoff: { delay_ms: 10 } },
      async () => {
        called++;
        return 'ran';
      },
      async (f) => {
        const job = await f.queues.get('safety').add('safety', { decision_id: 'seven' }, { jobId: 'bad-payload' });
        const done = await waitFor(async () => finished(await f.queues.get('safety').getJob(job.id!)), 'the job to fail');
        expect(await done.getState()).toBe('failed');
        expect(done.failedReason).toMatch(/invalid safety job data: decision_id: /);
        expect(done.attemptsMade).toBe(1);
        expect(called).toBe(0);
      },
    );
  });

  it('a transient error is retried with exponential backoff until it succeeds, and counted as a retry', async () => {
    const calls: Calls = [];
    const retriedBefore = await metricValue('driftwatch_jobs_retried_total', { queue: 'safety' });
    await withWorker(
      { attempts: 4, backoff: { type: 'exponential', delay_ms: 200, jitter: 0.5 } },
      async (job) => {
        calls.push({ id: job.id!, at: Date.now(), attempt: job.attemptsMade });
        if (calls.length < 3) throw new Error('ECONNRESET talking to the provider');
        return { ok: true };
      },
      async (f) => {
        const job = await f.queues.add('safety', { decision_id: 2 }, { jobId: 'transient' });
        const done = await waitFor(async () => finished(await f.queues.get('safety').getJob(job.id!)), 'the job to complete');
        expect(await done.getState()).toBe('completed');
        expect(done.returnvalue).toEqual({ ok: true });
        expect(calls.map((c) => c.attempt)).toEqual([0, 1, 2]);
        // Exponential with 50% jitter: the first retry waits 100..200 ms, the second 200..400 ms.
        const gap1 = calls[1].at - calls[0].at;
        const gap2 = calls[2].at - calls[1].at;
        expect(gap1).toBeGreaterThanOrEqual(95);
        expect(gap2).toBeGreaterThanOrEqual(195);
        expect(await metricValue('driftwatch_jobs_retried_total', { queue: 'safety' })).toBe(retriedBefore + 2);
      },
    );
  });

  it('a transient error fails the job for good once its attempts are used up', async () => {
    let called = 0;
    await withWorker(
      { attempts: 3, backoff: { type: 'fixed', delay_ms: 20, jitter: 0 } },
      async () => {
        called++;
        throw new Error('provider returned 503');
      },
      async (f) => {
        const job = await f.queues.add('safety', { decision_id: 3 }, { jobId: 'exhausted' });
        const done = await waitFor(async () => finished(await f.queues.get('safety').getJob(job.id!)), 'the job to fail');
        expect(await done.getState()).toBe('failed');
        expect(done.attemptsMade).toBe(3);
        expect(called).toBe(3);
      },
    );
  });

  it('RateLimitedError pauses the queue for every worker for retryAfterMs and costs no attempt', async () => {
    const calls: Calls = [];
    let limited = false;
    const limitedBefore = await metricValue('driftwatch_jobs_rate_limited_total', { queue: 'safety' });
    await withWorker(
      // One attempt only: if the rate limit used one up, the job would fail.
      { attempts: 1, concurrency: 1 },
      async (job) => {
        calls.push({ id: job.id!, at: Date.now(), attempt: job.attemptsMade });
        if (job.id === 'limited' && !limited) {
          limited = true;
          throw new RateLimitedError('429 from the provider', 1500);
        }
        return 'done';
      },
      async (f) => {
        const q = f.queues.get('safety');
        await f.queues.add('safety', { decision_id: 4 }, { jobId: 'limited' });
        await waitFor(() => limited, 'the rate limit');
        // Added while the queue is paused: must not start before the pause ends.
        await f.queues.add('safety', { decision_id: 5 }, { jobId: 'other' });
        const a = await waitFor(async () => finished(await q.getJob('limited')), 'the limited job to finish');
        const b = await waitFor(async () => finished(await q.getJob('other')), 'the other job to finish');
        expect(await a.getState()).toBe('completed');
        expect(await b.getState()).toBe('completed');
        expect(a.attemptsMade).toBe(1);
        const first = calls[0].at;
        const later = calls.slice(1);
        expect(later.map((c) => c.id).sort()).toEqual(['limited', 'other']);
        for (const c of later) expect(c.at - first).toBeGreaterThanOrEqual(1400);
        expect(await metricValue('driftwatch_jobs_rate_limited_total', { queue: 'safety' })).toBe(limitedBefore + 1);
      },
      2, // two workers: the idle one must respect the pause too
    );
  });

  it('WaitForExternalError parks the job in delayed without holding the worker slot, then resumes it', async () => {
    const calls: Calls = [];
    const waitsBefore = await metricValue('driftwatch_job_wait_seconds', { queue: 'safety' });
    // Long enough that nothing but the test ends the wait: every check below follows events and
    // states, none a duration, so a loaded machine cannot make it pass or fail by timing.
    const PARK_MS = 10 * 60_000;
    await withWorker(
      { attempts: 1, concurrency: 1 },
      async (job) => {
        calls.push({ id: job.id!, at: Date.now(), attempt: job.attemptsMade });
        if (job.id === 'external' && calls.filter((c) => c.id === 'external').length === 1) throw new WaitForExternalError('fine-tune ft-1 is still running', PARK_MS);
        return 'done';
      },
      async (f) => {
        const q = f.queues.get('safety');
        await f.queues.add('safety', { decision_id: 6 }, { jobId: 'external' });
        await waitFor(async () => (await q.getJobState('external')) === 'delayed', 'the job to wait in delayed');
        // It waits as long as the error says: BullMQ's delayed score is the due time x 0x1000 (+ an order counter).
        const score = Number(await f.producer.zscore(q.toKey('delayed'), 'external'));
        expect(Math.floor(score / 0x1000)).toBeGreaterThanOrEqual(calls[0].at + PARK_MS);
        expect(await q.getActiveCount()).toBe(0);
        // The only slot is free: another job runs and finishes while the first one still waits.
        await f.queues.add('safety', { decision_id: 7 }, { jobId: 'meanwhile' });
        const m = await waitFor(async () => finished(await q.getJob('meanwhile')), 'the other job');
        expect(await m.getState()).toBe('completed');
        expect(await q.getJobState('external')).toBe('delayed');
        expect(calls.map((c) => c.id)).toEqual(['external', 'meanwhile']);
        // The external work is done: the wait ends (promote() moves it to waiting, as its due time would).
        await (await q.getJob('external'))!.promote();
        const e = await waitFor(async () => finished(await q.getJob('external')), 'the waiting job to resume and finish');
        // attempts is 1: the wait used none, or the job could not have completed.
        expect(await e.getState()).toBe('completed');
        expect(e.returnvalue).toBe('done');
        expect(calls.map((c) => c.id)).toEqual(['external', 'meanwhile', 'external']);
        // Queue wait is observed once per job (two jobs), not again when the waiting job resumes.
        expect(await metricValue('driftwatch_job_wait_seconds', { queue: 'safety' })).toBe(waitsBefore + 2);
      },
    );
  });
});

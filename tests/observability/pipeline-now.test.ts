import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Job } from 'bullmq';
import { registerProcessor } from '../../packages/core/src/queues/worker.js';
import { jobWaitSeconds } from '../../packages/core/src/metrics/registry.js';
import { PgliteDb, migrate } from '@driftwatch/core';
import { pipelineProcessor } from '../../apps/scheduler/src/pipeline.js';
import { syncJobSchedulers } from '../../apps/scheduler/src/schedules.js';
import { testContext } from '../helpers/context.js';
import { uniquePrefix } from '../helpers/env.js';
import { deployment, redisFixture } from '../helpers/fleet.js';

/** Real-time polling that does not read the (faked) Date. */
async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const start = performance.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitSum(): Promise<{ count: number; sum: number }> {
  const values = (await jobWaitSeconds.get()).values.filter((v) => v.labels.queue === 'pipeline');
  return {
    count: values.filter((v) => v.metricName?.endsWith('_count')).reduce((a, v) => a + v.value, 0),
    sum: values.filter((v) => v.metricName?.endsWith('_sum')).reduce((a, v) => a + v.value, 0),
  };
}

describe('a scheduled run judges the windows ending at its tick', () => {
  afterEach(() => vi.useRealTimers());

  it('with a real daily job scheduler and an injected clock, each run\'s now is its own tick, and wait is measured from the tick', async () => {
    const prefix = uniquePrefix('pnow');
    const dep = deployment();
    const fx = redisFixture(prefix, dep);
    // The tick records its run in the database before starting it (pipeline_runs).
    const db = await PgliteDb.open('memory://');
    await migrate(db);
    // The clock of this process (BullMQ's and ours) starts 2 s before a midnight and runs at real speed.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true, now: new Date('2026-03-01T23:59:58.000Z') });
    const ctx = testContext({ db, queues: fx.queues, deployment: dep, config: { models: [{ name: 'support-bot', schedule: '0 0 * * *', timezone: 'UTC' }] } });
    const before = await waitSum();
    const worker = registerProcessor('pipeline', pipelineProcessor(ctx), { connection: fx.worker, prefix, deployment: dep, logger: ctx.logger });
    try {
      await syncJobSchedulers(ctx);
      const triggerNow = async (n: number) =>
        until(async () => {
          const jobs = (await fx.queues.get('trigger').getJobs(['waiting-children', 'waiting'])) as Job[];
          return jobs.length >= n ? jobs.map((j) => j.data.now as string).sort() : undefined;
        }, `${n} run(s)`);

      // First tick: midnight of March 2.
      expect(await triggerNow(1)).toEqual(['2026-03-02T00:00:00.000Z']);
      // The next tick's job was created at this tick; a day later (the clock jumps to 2 s before it) it runs.
      vi.setSystemTime(new Date('2026-03-02T23:59:58.000Z'));
      const nows = await triggerNow(2);
      // Old behaviour: the second run's now would be its job's creation time, 2026-03-02T00:00 (one cron period old).
      expect(nows).toEqual(['2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z']);

      // Two waits observed, each from the tick it became runnable at: seconds, not the cron period (86400 s).
      const after = await until(async () => {
        const s = await waitSum();
        return s.count - before.count >= 2 ? s : undefined;
      }, 'two wait observations');
      expect(after.count - before.count).toBe(2);
      expect(after.sum - before.sum).toBeLessThan(30);
    } finally {
      await fx.cleanup([worker]);
      await db.close();
    }
  }, 120_000);
});

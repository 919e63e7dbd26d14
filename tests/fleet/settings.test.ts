import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import type { Worker } from 'bullmq';
import { loadDeploymentConfig } from '../../packages/core/src/config/load.js';
import { ConfigError } from '../../packages/core/src/config/errors.js';
import { applyFleetSettings, registerProcessor } from '../../packages/core/src/queues/worker.js';
import { ROOT, tempDir, uniquePrefix, writeYaml } from '../helpers/env.js';
import { deployment, quietLogger, redisFixture, sleep, waitFor } from '../helpers/fleet.js';

/**
 * Per-queue settings from config/deployment_config.yaml reach BullMQ: concurrency per
 * process, global concurrency across processes, the fleet-wide limiter, and retention
 * of completed and failed jobs.
 */

/** Runs `jobs` jobs on `workers` workers of the safety queue; returns each job's start and end, and the peak of jobs running at once. */
async function run(settings: Record<string, unknown>, o: { workers: number; jobs: number; ms: number; fail?: boolean }) {
  const prefix = uniquePrefix('settings');
  const dep = deployment({ queues: { safety: settings } });
  const f = redisFixture(prefix, dep);
  let running = 0;
  let peak = 0;
  const spans: { id: string; start: number; end: number }[] = [];
  const ws: Worker[] = [];
  try {
    await applyFleetSettings(f.queues.get('safety'), dep.queues.safety);
    for (let i = 0; i < o.workers; i++) {
      ws.push(
        registerProcessor(
          'safety',
          async (job) => {
            const start = Date.now();
            peak = Math.max(peak, ++running);
            await sleep(o.ms);
            running--;
            spans.push({ id: job.id!, start, end: Date.now() });
            if (o.fail) throw new Error('always fails');
            return 'ok';
          },
          { connection: f.worker, prefix, deployment: dep, logger: quietLogger },
        ),
      );
    }
    await Promise.all(ws.map((w) => w.waitUntilReady()));
    for (let i = 1; i <= o.jobs; i++) await f.queues.add('safety', { decision_id: i }, { jobId: `decision.${i}` });
    await waitFor(async () => {
      const c = await f.queues.get('safety').getJobCounts('waiting', 'prioritized', 'active', 'delayed');
      return spans.length === o.jobs && Object.values(c).every((n) => n === 0);
    }, 'every job to finish', 20_000);
    const counts = await f.queues.get('safety').getJobCounts('completed', 'failed');
    return { spans: spans.sort((a, b) => a.start - b.start), peak, counts };
  } finally {
    await f.cleanup(ws);
  }
}

describe('per-queue settings', () => {
  it('concurrency: one process runs that many jobs at once', async () => {
    const r = await run({ concurrency: 3, attempts: 1 }, { workers: 1, jobs: 6, ms: 300 });
    expect(r.peak).toBe(3);
    expect(r.counts.completed).toBe(6);
  });

  it('global_concurrency caps the fleet: two workers of concurrency 2 run one job at a time', async () => {
    const r = await run({ concurrency: 2, global_concurrency: 1, attempts: 1 }, { workers: 2, jobs: 4, ms: 150 });
    expect(r.peak).toBe(1);
    for (let i = 1; i < r.spans.length; i++) expect(r.spans[i].start).toBeGreaterThanOrEqual(r.spans[i - 1].end - 5);
  });

  it('a global_concurrency removed from the config no longer caps the queue', async () => {
    const prefix = uniquePrefix('settings');
    const f = redisFixture(prefix, deployment());
    try {
      const q = f.queues.get('safety');
      await applyFleetSettings(q, deployment({ queues: { safety: { global_concurrency: 1 } } }).queues.safety);
      expect(await q.getGlobalConcurrency()).toBe(1);
      await applyFleetSettings(q, deployment().queues.safety);
      expect(await q.getGlobalConcurrency()).toBeNull();
    } finally {
      await f.cleanup();
    }
  });

  it('limiter: at most max job starts per duration across the fleet', async () => {
    const r = await run({ concurrency: 4, limiter: { max: 2, duration_ms: 1000 }, attempts: 1 }, { workers: 2, jobs: 5, ms: 10 });
    const t0 = r.spans[0].start;
    // Starts 3..4 wait for the second window, start 5 for the third.
    expect(r.spans[2].start - t0).toBeGreaterThanOrEqual(900);
    expect(r.spans[4].start - t0).toBeGreaterThanOrEqual(1900);
  });

  it('retention: only the configured number of completed and failed jobs is kept', async () => {
    const done = await run({ concurrency: 5, attempts: 1, remove_on_complete: { count: 2, age_seconds: 3600 } }, { workers: 1, jobs: 6, ms: 5 });
    expect(done.counts.completed).toBe(2);
    const failed = await run({ concurrency: 5, attempts: 1, remove_on_fail: { count: 3, age_seconds: 3600 } }, { workers: 1, jobs: 5, ms: 5, fail: true });
    expect(failed.counts.failed).toBe(3);
  });

  it('the shipped config/deployment_config.yaml is valid and says what the docs say', () => {
    const d = loadDeploymentConfig(join(ROOT, 'config/deployment_config.yaml'), true);
    expect(d.queues.finetune).toMatchObject({ global_concurrency: 1, attempts: 5, backoff: { type: 'exponential', delay_ms: 30000, jitter: 0.5 } });
    expect(d.queues.reindex.limiter).toEqual({ max: 10, duration_ms: 60000 });
    expect(d.queues.safety).toMatchObject({ remove_on_complete: { count: 1000, age_seconds: 604800 }, remove_on_fail: { count: 5000, age_seconds: 2592000 } });
    expect(d.worker.shutdown_timeout_ms).toBe(30000);
  });

  it('a misspelt queue setting stops the process with a message naming it', () => {
    const p = writeYaml(tempDir(), 'deployment.yaml', { queues: { finetune: { concurency: 2 } } });
    expect(() => loadDeploymentConfig(p)).toThrow(ConfigError);
    expect(() => loadDeploymentConfig(p)).toThrow(/queues\.finetune.*concurency/);
  });
});

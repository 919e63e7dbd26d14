import { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDb, Queues, WORKER_QUEUES, clusterConnection, hashTaggedPrefix, loadEnvironment, runsOf, startRun } from '@driftwatch/core';
import { startWorkers } from '@driftwatch/workers';
import { testContext } from '../helpers/context.js';
import { runCli, tempDir, testConfig, uniquePrefix, writeYaml } from '../helpers/env.js';
import { deployment } from '../helpers/fleet.js';
import { seedWindows } from '../helpers/seed.js';
import { migrateScale } from './schema.js';
import { startCluster, type TestCluster } from './redis-cluster.js';

/**
 * The fleet on a Redis Cluster of 3 masters and 3 replicas started here: the CLI finds the
 * cluster from REDIS_URL, the queue prefix is hash-tagged, and a run survives its master
 * being killed mid-run (the replica takes over).
 */
describe('Redis Cluster', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 180_000);
  afterAll(async () => cluster?.stop(), 60_000);

  it('reads a cluster from REDIS_URL or REDIS_CLUSTER_NODES and hash-tags the prefix', () => {
    expect(loadEnvironment({ REDIS_URL: cluster.url }).DRIFTWATCH_QUEUE_PREFIX).toBe('{driftwatch}');
    expect(loadEnvironment({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001', DRIFTWATCH_QUEUE_PREFIX: 'a{b}' }).DRIFTWATCH_QUEUE_PREFIX).toBe('a{b}');
    expect(loadEnvironment({ REDIS_URL: 'redis://127.0.0.1:6379' }).DRIFTWATCH_QUEUE_PREFIX).toBe('driftwatch');
    expect(() => loadEnvironment({ REDIS_URL: 'redis://127.0.0.1:7000,??' })).toThrow(/REDIS_URL/);
  });

  it('runs driftwatch run-once unchanged against the cluster', async () => {
    const dir = tempDir();
    const dataDir = `${dir}/data`;
    const db = await PgliteDb.open(dataDir);
    await migrateScale(db);
    await seedWindows(db, { now: new Date(), n: 60, shifted: false });
    await db.close();
    const r = await runCli(['run-once', '--dry-run'], {
      DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig({ embedding_thresholds: { permutations: 100, max_sample: 200 } })),
      DEPLOYMENT_CONFIG: writeYaml(dir, 'deployment.yaml', { http: { port: 0 } }),
      DRIFTWATCH_DATA_DIR: dataDir,
      DRIFTWATCH_QUEUE_PREFIX: uniquePrefix('cluster'),
      REDIS_URL: cluster.url,
    }, { timeoutMs: 600_000 });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.runs[0].results.map((x: { kind: string }) => x.kind).sort()).toEqual(['accuracy', 'behavior', 'embedding']);
  }, 900_000);

  it('finishes a run while the master of its slot fails over to its replica', async () => {
    const prefix = hashTaggedPrefix(uniquePrefix('failover'));
    const db = await PgliteDb.open('memory://');
    await migrateScale(db);
    const now = new Date();
    await seedWindows(db, { now, n: 60, shifted: true });
    const dep = deployment();
    const producer = clusterConnection(cluster.url, { maxRetriesPerRequest: 20 });
    const workerConn = clusterConnection(cluster.url, { maxRetriesPerRequest: null, enableReadyCheck: false });
    const queues = new Queues(producer, prefix, dep);
    const ctx = testContext({ db, queues, deployment: dep, config: { embedding_thresholds: { permutations: 100, max_sample: 200 }, actions: { dry_run: true } } });
    const workers = await startWorkers(ctx, workerConn, [...WORKER_QUEUES]);
    try {
      const { master, replica } = await cluster.ownerOf(prefix);
      const { run_id, trigger_job_id } = await startRun(queues, { model: 'support-bot', now, dry_run: true });
      // Mid-run: the flow is in Redis and the monitors are being worked on when the master dies.
      await waitUntil(async () => (await queues.get('monitor').getJobCounts('active', 'completed')).active + (await queues.get('monitor').getJobCounts('completed')).completed > 0, 300_000);
      await cluster.kill(master);
      await cluster.waitPromoted(replica);
      const state = await waitUntil(async () => {
        const job = await Job.fromId(queues.get('trigger'), trigger_job_id);
        const s = job ? await job.getState() : 'missing';
        return s === 'completed' || s === 'failed' ? s : null;
      }, 600_000);
      expect(state).toBe('completed');
      expect((await runsOf(db, run_id)).map((r) => r.monitor).sort()).toEqual(['accuracy', 'behavior', 'embedding']);
    } finally {
      await Promise.allSettled(workers.map((w) => w.close()));
      await queues.close().catch(() => {});
      producer.disconnect();
      workerConn.disconnect();
      await db.close();
    }
  }, 1_200_000);
});

/** Polls fn (errors while the cluster fails over count as "not yet") until it returns a truthy value. */
async function waitUntil<T>(fn: () => Promise<T>, timeoutMs: number): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}


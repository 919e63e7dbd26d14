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
    }, { timeoutMs: 240_000 });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.runs[0].results.map((x: { kind: string }) => x.kind).sort()).toEqual(['accuracy', 'behavior', 'embedding']);
  }, 300_000);

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
      // The trigger's state is read through a new client each time, so what is checked is the
      // fleet finishing the run, not whether the test's own producer connection recovered.
      const state = await waitUntil(() => withFreshQueue(cluster.url, prefix, dep, async (q) => {
        const job = await Job.fromId(q.get('trigger'), trigger_job_id);
        const s = job ? await job.getState() : 'missing';
        return s === 'completed' || s === 'failed' ? s : null;
      }), 300_000);
      expect(state).toBe('completed');
      expect((await runsOf(db, run_id)).map((r) => r.monitor).sort()).toEqual(['accuracy', 'behavior', 'embedding']);
    } finally {
      // A worker whose blocking connection is mid-reconnect may not close gracefully: force it after a bound.
      await Promise.allSettled(workers.map((w) => within(w.close(), 30_000).catch(() => w.close(true))));
      await within(queues.close(), 30_000).catch(() => {});
      producer.disconnect();
      workerConn.disconnect();
      await db.close();
    }
  }, 600_000);
});

/** Resolves as p does, or rejects after ms. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Runs fn with a Queues on a new cluster client, closed afterwards whatever happens. */
async function withFreshQueue<T>(url: string, prefix: string, dep: ConstructorParameters<typeof Queues>[2], fn: (q: Queues) => Promise<T>): Promise<T> {
  const conn = clusterConnection(url, { maxRetriesPerRequest: 3 });
  conn.on('error', () => {});
  const q = new Queues(conn, prefix, dep);
  try {
    return await fn(q);
  } finally {
    await within(q.close(), 5_000).catch(() => {});
    conn.disconnect();
  }
}

/**
 * Polls fn until it returns a truthy value. Errors while the cluster fails over, and an attempt
 * that gets no answer within 20 s, count as "not yet", so the deadline always holds.
 */
async function waitUntil<T>(fn: () => Promise<T>, timeoutMs: number): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await within(fn(), 20_000);
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}


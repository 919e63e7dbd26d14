import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Worker } from 'bullmq';
import { PgliteDb, Queues, enqueueEmbeddings, getDecision, jobIds, migrate, recordRunStarted, registry } from '@driftwatch/core';
import { actionProcessor } from '@driftwatch/workers';
import { reconcile, syncJobSchedulers } from '@driftwatch/scheduler';
import { registerProcessor } from '../../packages/core/src/queues/worker.js';
import { testContext } from '../helpers/context.js';
import { makeDecision } from '../helpers/decisions.js';
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/env.js';
import { deployment, quietLogger, waitFor } from '../helpers/fleet.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function setup(owner: string, prefix = uniquePrefix('reconcile')) {
  const dep = deployment({ worker: { lock_duration_ms: 2000, stalled_interval_ms: 1000 }, queues: { safety: { attempts: 2, backoff: { delay_ms: 50 } } } });
  const producer = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const workerConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null, enableReadyCheck: false });
  const queues = new Queues(producer, prefix, dep, owner);
  const db = await PgliteDb.open('memory://');
  await migrate(db);
  const ctx = testContext({ db, queues, deployment: dep, config: { models: [{ name: 'support-bot', schedule: '0 0 * * *' }] } });
  const workers: Worker[] = [];
  cleanups.push(async () => {
    await Promise.allSettled(workers.map((w) => w.close()));
    await queues.close();
    producer.disconnect();
    workerConnection.disconnect();
    await db.close();
    await dropPrefix(prefix);
  });
  const startSafetyWorker = async () => {
    const w = registerProcessor('safety', actionProcessor(ctx, 'safety'), { connection: workerConnection, prefix, deployment: dep, logger: quietLogger, owner });
    workers.push(w);
    await w.waitUntilReady();
    return w;
  };
  return { ctx, db, queues, prefix, startSafetyWorker };
}

describe('the reconciler repairs what a Redis that lost its data leaves behind', () => {
  it('re-creates the job schedulers, re-enqueues the job of a running action, which then finishes once', async () => {
    const { ctx, db, queues, prefix, startSafetyWorker } = await setup('aaaaaaaaaaaa');
    await syncJobSchedulers(ctx);
    // A safety action was running (a worker had claimed it) when Redis restarted without persistence.
    const running = await makeDecision(db, { state: 'running' });
    await dropPrefix(prefix);
    expect(await queues.get('pipeline').getJobScheduler('pipeline-aaaaaaaaaaaa-support-bot')).toBeFalsy();

    const report = await reconcile(ctx);
    expect(report.schedulers_recreated).toEqual(['support-bot']);
    expect(report.jobs_reenqueued).toEqual([running.id]);
    expect(await queues.get('pipeline').getJobScheduler('pipeline-aaaaaaaaaaaa-support-bot')).toBeTruthy();
    expect(await queues.get('safety').getJobState(jobIds.action(running.id, 'aaaaaaaaaaaa'))).toMatch(/waiting|prioritized/);

    await startSafetyWorker();
    await waitFor(async () => (await getDecision(db, running.id))?.state === 'succeeded', 'the re-enqueued action to finish', 60_000);
    const policies = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM safety_policies WHERE decision_id = $1', [running.id]);
    expect(policies.rows[0].n).toBe(1);
    // Nothing left to repair: a second pass changes nothing.
    const again = await reconcile(ctx);
    expect(again).toEqual({ schedulers_recreated: [], jobs_reenqueued: [], decisions_failed: [], runs_retried: [], runs_abandoned: [] });
  });

  it('starts an incomplete run again for the same tick, then gives up after max_run_attempts', async () => {
    const { ctx, db, queues } = await setup('bbbbbbbbbbbb');
    const tick = new Date('2026-11-30T00:00:00Z');
    await recordRunStarted(db, { run_id: 'r-1', model: 'support-bot', tick, dry_run: false });
    await db.query(`UPDATE pipeline_runs SET state = 'incomplete', failures = '{"monitor.x.embedding":"database unavailable"}' WHERE run_id = 'r-1'`);

    const first = await reconcile(ctx);
    expect(first.runs_retried).toHaveLength(1);
    const retry = first.runs_retried[0];
    expect(retry).toMatch(/-support-bot-r2$/);
    const trigger = await queues.get('trigger').getJob(jobIds.trigger(retry, 'bbbbbbbbbbbb'));
    expect(trigger?.data).toMatchObject({ run_id: retry, model: 'support-bot', now: tick.toISOString(), owner: 'bbbbbbbbbbbb' });
    const rows = (await db.query<{ run_id: string; state: string; attempt: number }>('SELECT run_id, state, attempt FROM pipeline_runs ORDER BY attempt')).rows;
    expect(rows).toEqual([
      { run_id: 'r-1', state: 'abandoned', attempt: 1 },
      { run_id: retry, state: 'started', attempt: 2 },
    ]);

    // The retry fails too, and so does a third attempt: the run is given up, loudly.
    await db.query(`UPDATE pipeline_runs SET state = 'incomplete', attempt = 3 WHERE run_id = $1`, [retry]);
    const last = await reconcile(ctx);
    expect(last.runs_retried).toEqual([]);
    expect(last.runs_abandoned).toEqual([retry]);
    const metric = await registry.getSingleMetricAsString('driftwatch_reconciled_total');
    expect(metric).toMatch(/what="run_abandoned"\} [1-9]/);
  });
});

describe('two deployments on one Redis and prefix', () => {
  it("never share job ids, and a worker leaves the other database's job alone", async () => {
    const prefix = uniquePrefix('twodeps');
    const a = await setup('aaaaaaaaaaaa', prefix);
    const b = await setup('bbbbbbbbbbbb', prefix);
    // Both databases have a decision 1.
    const da = await makeDecision(a.db, { state: 'queued' });
    const db_ = await makeDecision(b.db, { state: 'queued' });
    expect(jobIds.action(da.id, 'aaaaaaaaaaaa')).not.toBe(jobIds.action(db_.id, 'bbbbbbbbbbbb'));
    // Only deployment A runs workers; B's job must not be done against A's database.
    await a.startSafetyWorker();
    await b.queues.add('safety', { decision_id: db_.id }, { jobId: jobIds.action(db_.id, 'bbbbbbbbbbbb') });
    await waitFor(async () => /driftwatch_jobs_foreign_total\{queue="safety"\} [1-9]/.test(await registry.getSingleMetricAsString('driftwatch_jobs_foreign_total')), "A's worker to see B's job");
    expect(await b.queues.get('safety').getJobState(jobIds.action(db_.id, 'bbbbbbbbbbbb'))).toBe('delayed');
    expect((await getDecision(a.db, da.id))?.state).toBe('queued');
    expect((await getDecision(b.db, db_.id))?.state).toBe('queued');
    // A's own job runs.
    await a.queues.add('safety', { decision_id: da.id }, { jobId: jobIds.action(da.id, 'aaaaaaaaaaaa') });
    await waitFor(async () => (await getDecision(a.db, da.id))?.state === 'succeeded', "A's own action to run", 60_000);
  });

  it("embed jobs of the same interaction ids in two databases are two jobs, neither mistaken for the other's", async () => {
    const prefix = uniquePrefix('twodeps-embed');
    const a = await setup('aaaaaaaaaaaa', prefix);
    const b = await setup('bbbbbbbbbbbb', prefix);
    // Both databases stored interactions 1 to 5 without an embedding, and queue their embedding in batches of 3.
    const ids = [1, 2, 3, 4, 5];
    expect(jobIds.embed(ids, 'aaaaaaaaaaaa')).not.toBe(jobIds.embed(ids, 'bbbbbbbbbbbb'));
    expect(await enqueueEmbeddings(a.queues, ids, 3)).toBe(2);
    expect(await enqueueEmbeddings(b.queues, ids, 3)).toBe(2);
    // Re-queueing the same range (the pending sweep) is still a no-op within one database.
    await enqueueEmbeddings(b.queues, ids, 3);
    const jobs = await a.queues.get('embed').getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed']);
    const seen = jobs.map((j) => [j.id, (j.data as { owner?: string }).owner, (j.data as { interaction_ids: number[] }).interaction_ids.join(',')]).sort();
    expect(seen).toEqual([
      [jobIds.embed([1, 2, 3], 'aaaaaaaaaaaa'), 'aaaaaaaaaaaa', '1,2,3'],
      [jobIds.embed([4, 5], 'aaaaaaaaaaaa'), 'aaaaaaaaaaaa', '4,5'],
      [jobIds.embed([1, 2, 3], 'bbbbbbbbbbbb'), 'bbbbbbbbbbbb', '1,2,3'],
      [jobIds.embed([4, 5], 'bbbbbbbbbbbb'), 'bbbbbbbbbbbb', '4,5'],
    ].sort());
  });
});

import { afterAll, beforeAll, describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { jobIds } from '../../packages/core/src/queues/catalog.js';
import { getDecision } from '../../packages/core/src/db/repo/decisions.js';
import { tempDir, testConfig, uniquePrefix, writeYaml } from '../helpers/env.js';
import { deployment, metricSum, parseMetrics, redisFixture, spawnDriftwatch, waitFor, type FleetProcess } from '../helpers/fleet.js';
import { startSharedPostgres, type SharedPostgres } from '../helpers/pglite-server.js';
import { makeDecision } from '../helpers/decisions.js';

/**
 * Stopping and losing workers: SIGTERM lets a running job finish and takes no new one;
 * a job that outlives worker.shutdown_timeout_ms is handed back at once; a worker
 * killed with SIGKILL mid-job leaves its job to another worker, which finishes it.
 */

const SLOW_ACTIONS = join(import.meta.dirname, '../helpers/slow-actions.ts');
/**
 * Waits for events, with room for a loaded machine (CI_LOAD=1 .ci/run): the bounds below
 * are on what the mechanism under test guarantees, never on how fast this machine is.
 */
const LONG = 90_000;
const until = <T>(fn: () => Promise<T> | T, what: string) => waitFor(fn, what, LONG, 50);
let pg: SharedPostgres;
const started: FleetProcess[] = [];
const fixtures: ReturnType<typeof redisFixture>[] = [];

beforeAll(async () => {
  pg = await startSharedPostgres();
});
afterAll(async () => {
  await Promise.allSettled(started.map((p) => p.stop('SIGKILL')));
  await Promise.allSettled(fixtures.map((f) => f.cleanup()));
  await pg?.close();
});

function setup(name: string, workerSettings: Record<string, unknown>) {
  const prefix = uniquePrefix(name);
  const f = redisFixture(prefix, deployment());
  fixtures.push(f);
  const dir = tempDir();
  const actionLog = join(dir, 'actions.jsonl');
  const baseEnv = {
    DATABASE_URL: pg.url,
    DRIFTWATCH_QUEUE_PREFIX: prefix,
    DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig()),
    DEPLOYMENT_CONFIG: writeYaml(dir, 'deployment.yaml', { worker: workerSettings, queues: { safety: { concurrency: 1, attempts: 3 } } }),
    TEST_ACTION_LOG: actionLog,
  };
  const worker = async (actionMs: number) => {
    const p = await spawnDriftwatch(['worker', '--queues', 'safety'], { ...baseEnv, TEST_ACTION_MS: String(actionMs) }, { preload: SLOW_ACTIONS, readyTimeoutMs: LONG });
    started.push(p);
    return p;
  };
  const events = () => (existsSync(actionLog) ? readFileSync(actionLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; decision: number; pid: number; at: number }) : []);
  const enqueue = async () => {
    const d = await makeDecision(pg.db);
    await f.queues.add('safety', { decision_id: d.id }, { jobId: jobIds.action(d.id) });
    return d;
  };
  const policies = async (decisionId: number) => (await pg.db.query('SELECT 1 FROM safety_policies WHERE decision_id = $1', [decisionId])).rowCount;
  const jobState = (d: { id: number }) => f.queues.get('safety').getJobState(jobIds.action(d.id));
  /**
   * The decision is marked succeeded inside the job, a moment before BullMQ records the job
   * completed: a test that saw the decision must still wait for the job.
   */
  const finished = async (d: { id: number }, what: string) => {
    await until(async () => (await getDecision(pg.db, d.id))!.state === 'succeeded' && (await jobState(d)) === 'completed', what);
  };
  return { f, worker, events, enqueue, policies, jobState, finished };
}

describe('graceful shutdown and stalled jobs', { timeout: 400_000 }, () => {
  it('SIGTERM: the running job finishes, no new job starts, the process exits 0', async () => {
    const t = setup('term', { shutdown_timeout_ms: 15_000 });
    const w = await t.worker(1500);
    const first = await t.enqueue();
    await until(() => t.events().some((e) => e.event === 'start' && e.decision === first.id), 'the job to start');
    w.child.kill('SIGTERM');
    // Added once the worker has begun to shut down (not merely after kill() returned).
    await until(() => w.stderr().includes('shutting down'), 'the shutdown to begin');
    const second = await t.enqueue();
    expect(await w.exited).toBe(0);

    expect((await getDecision(pg.db, first.id))!.state).toBe('succeeded');
    expect(await t.f.queues.get('safety').getJobState(jobIds.action(first.id))).toBe('completed');
    expect(t.events().find((e) => e.event === 'end' && e.decision === first.id)!.pid).toBe(w.child.pid);
    // Added after the signal: left for the next worker.
    expect(await t.f.queues.get('safety').getJobState(jobIds.action(second.id))).toBe('waiting');
    expect((await getDecision(pg.db, second.id))!.state).toBe('queued');
    // Finished within worker.shutdown_timeout_ms, not handed back.
    expect(w.stderr()).toMatch(/"outcome":"done".*"msg":"stopped"/);
  });

  it('a job that outlives worker.shutdown_timeout_ms is handed back at once and another worker finishes it', async () => {
    // Locks of 30 s: the job must come back because it is handed back, not because its lock lapsed.
    const t = setup('handback', { shutdown_timeout_ms: 1000, lock_duration_ms: 30_000 });
    const slow = await t.worker(120_000);
    const d = await t.enqueue();
    await until(() => t.events().some((e) => e.event === 'start' && e.decision === d.id), 'the job to start');
    const t0 = Date.now();
    expect(await slow.stop('SIGTERM')).toBe(0);
    // Well inside the 30 s lock: the job came back because it was handed back.
    expect(Date.now() - t0).toBeLessThan(25_000);
    expect(await t.f.queues.get('safety').getJobState(jobIds.action(d.id))).toBe('waiting');
    expect(slow.stderr()).toMatch(/handed 1 back to their queues/);

    const next = await t.worker(0);
    await t.finished(d, 'the next worker to finish the job');
    expect(t.events().filter((e) => e.event === 'end').map((e) => e.pid)).toEqual([next.child.pid]);
    expect(await t.policies(d.id)).toBe(1);
    expect(await next.stop('SIGTERM')).toBe(0);
  });

  it('a second SIGTERM during the shutdown hands running jobs back at once', async () => {
    const t = setup('again', { shutdown_timeout_ms: 60_000 });
    const w = await t.worker(120_000);
    const d = await t.enqueue();
    await until(() => t.events().some((e) => e.event === 'start' && e.decision === d.id), 'the job to start');
    w.child.kill('SIGTERM');
    await until(() => w.stderr().includes('shutting down'), 'the shutdown to begin');
    const t0 = Date.now();
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    // Well inside the 60 s shutdown bound: the second signal cut it short.
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(w.stderr()).toMatch(/second signal; handed 1 back to their queues/);
    expect(await t.f.queues.get('safety').getJobState(jobIds.action(d.id))).toBe('waiting');
  });

  it('SIGKILL mid-job: another worker finds the stalled job after the lock lapses and finishes it, once', async () => {
    const t = setup('stalled', { lock_duration_ms: 2000, stalled_interval_ms: 1000, max_stalled_count: 2 });
    const doomed = await t.worker(120_000);
    const d = await t.enqueue();
    await until(() => t.events().some((e) => e.event === 'start' && e.decision === d.id), 'the job to start');
    const rescuer = await t.worker(0);
    const t0 = Date.now();
    doomed.child.kill('SIGKILL');
    expect(await doomed.exited).toBe('SIGKILL');
    await t.finished(d, 'the stalled job to be finished by the other worker');
    const recoveredMs = Date.now() - t0;
    console.log(`stalled job recovered ${recoveredMs} ms after SIGKILL (lock_duration_ms 2000, stalled_interval_ms 1000)`);
    // With the default 30 s lock and stalled check it could not come back before 30 s.
    expect(recoveredMs).toBeLessThan(25_000);

    expect(t.events().filter((e) => e.event === 'end').map((e) => e.pid)).toEqual([rescuer.child.pid]);
    expect(await t.policies(d.id)).toBe(1);
    const metrics = parseMetrics(await (await fetch(`http://127.0.0.1:${rescuer.ready.metrics_port}/metrics`)).text());
    expect(metricSum(metrics, 'driftwatch_jobs_stalled_total', { queue: 'safety', name: 'safety' })).toBe(1);
    expect(await rescuer.stop('SIGTERM')).toBe(0);
  });
});

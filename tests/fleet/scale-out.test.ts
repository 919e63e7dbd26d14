import { afterAll, beforeAll, describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { jobIds } from '../../packages/core/src/queues/catalog.js';
import { runCli, tempDir, testConfig, uniquePrefix, writeYaml } from '../helpers/env.js';
import { deployment, metricSum, parseMetrics, redisFixture, spawnDriftwatch, waitFor, type FleetProcess } from '../helpers/fleet.js';
import { startSharedPostgres, type SharedPostgres } from '../helpers/pglite-server.js';
import { makeDecision } from '../helpers/decisions.js';
import { PROMETHEUS, startPrometheus, type TestPrometheus } from '../helpers/prometheus.js';

/**
 * Scaling out: two `driftwatch worker --queues safety` processes on one Redis and one
 * Postgres share a backlog; each job is processed once, by one of them. Each process's
 * /metrics shows its share with bounded labels, and a real Prometheus scraping both
 * sees the total. /readyz turns 503 when the database goes away.
 */

const SLOW_ACTIONS = join(import.meta.dirname, '../helpers/slow-actions.ts');
const JOBS = 24;

let pg: SharedPostgres;
const prefix = uniquePrefix('scale');
const dep = deployment({ queues: { safety: { concurrency: 1, attempts: 3 } } });
const f = redisFixture(prefix, dep);
const dir = tempDir();
const actionLog = join(dir, 'actions.jsonl');
let workers: FleetProcess[] = [];
let prometheus: TestPrometheus | undefined;

beforeAll(async () => {
  pg = await startSharedPostgres();
});
afterAll(async () => {
  await Promise.allSettled(workers.map((w) => w.stop('SIGKILL')));
  await prometheus?.close();
  await f.cleanup();
  await pg?.close();
});

describe('two worker processes on one Redis', () => {
  it('`driftwatch worker --queues` takes any subset of the worker queues and names the valid ones on a typo', async () => {
    const bad = await runCli(['worker', '--queues', 'safety,finetunes'], { DRIFTWATCH_QUEUE_PREFIX: prefix });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('driftwatch: --queues: unknown queue finetunes; choose from monitor, trigger, reindex, finetune, safety, embed, notify\n');
  });

  it('share one backlog: both work, no job runs twice, and each /metrics shows its share', async () => {
    const env = {
      DATABASE_URL: pg.url,
      DRIFTWATCH_QUEUE_PREFIX: prefix,
      DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig()),
      DEPLOYMENT_CONFIG: writeYaml(dir, 'deployment.yaml', { queues: { safety: { concurrency: 1, attempts: 3 } } }),
      TEST_ACTION_MS: '120',
      TEST_ACTION_LOG: actionLog,
    };
    workers = await Promise.all([0, 1].map(() => spawnDriftwatch(['worker', '--queues', 'safety'], env, { preload: SLOW_ACTIONS })));
    for (const w of workers) expect(w.ready.queues).toEqual(['safety']);
    if (existsSync(PROMETHEUS)) prometheus = await startPrometheus(workers.map((w) => `127.0.0.1:${w.ready.metrics_port}`));

    const decisions = [];
    for (let i = 0; i < JOBS; i++) decisions.push(await makeDecision(pg.db, { model: `model-${i % 3}` }));
    await Promise.all(decisions.map((d) => f.queues.add('safety', { decision_id: d.id }, { jobId: jobIds.action(d.id) })));

    await waitFor(async () => (await pg.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM decisions WHERE state = 'succeeded'`)).rows[0].n === JOBS, 'every decision to succeed', 30_000, 200);

    // Each decision's action ran exactly once, and both processes took part.
    const starts = readFileSync(actionLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'start');
    expect(starts.map((e) => e.decision).sort((a, b) => a - b)).toEqual(decisions.map((d) => d.id).sort((a, b) => a - b));
    const pids = new Set(starts.map((e) => e.pid));
    expect(pids).toEqual(new Set(workers.map((w) => w.child.pid)));
    const policies = await pg.db.query<{ decision_id: number }>('SELECT decision_id FROM safety_policies');
    expect(new Set(policies.rows.map((r) => r.decision_id)).size).toBe(JOBS);
    expect(policies.rows).toHaveLength(JOBS);
    const counts = await f.queues.get('safety').getJobCounts('completed', 'failed', 'waiting', 'active');
    expect(counts).toEqual({ completed: JOBS, failed: 0, waiting: 0, active: 0 });

    // /metrics of each worker: its own share, labelled by queue and job name only.
    const scraped = await Promise.all(workers.map(async (w) => parseMetrics(await (await fetch(`http://127.0.0.1:${w.ready.metrics_port}/metrics`)).text())));
    const completed = scraped.map((s) => metricSum(s, 'driftwatch_jobs_completed_total', { queue: 'safety', name: 'safety' }));
    expect(completed[0] + completed[1]).toBe(JOBS);
    for (const [i, s] of scraped.entries()) {
      const pid = workers[i].child.pid;
      expect(completed[i]).toBe(starts.filter((e) => e.pid === pid).length);
      expect(metricSum(s, 'driftwatch_job_duration_seconds_count', { queue: 'safety', name: 'safety' })).toBe(completed[i]);
      // Every job took at least the 120 ms the test action waits.
      expect(metricSum(s, 'driftwatch_job_duration_seconds_bucket', { queue: 'safety', name: 'safety', le: '0.1' })).toBe(0);
      expect(metricSum(s, 'driftwatch_job_wait_seconds_count', { queue: 'safety', name: 'safety' })).toBe(completed[i]);
      // Action events are figures of record: the scheduler exports them from the decisions table; a worker replica exports none.
      expect(s.filter((x) => ['safety_events_total', 'retrain_events_total', 'reindex_events_total', 'drift_overall_score', 'model_accuracy'].includes(x.name))).toEqual([]);
      // Queue depth is the scheduler's to export; a worker replica must not multiply it.
      expect(s.filter((x) => x.name === 'driftwatch_queue_jobs')).toEqual([]);
      for (const sample of s.filter((x) => x.name.startsWith('driftwatch_job'))) {
        expect(Object.keys(sample.labels).every((l) => ['queue', 'name', 'le', 'final'].includes(l))).toBe(true);
        expect(Object.values(sample.labels).join(' ')).not.toMatch(/decision\.\d|^\d+$/);
      }
    }

    // A real Prometheus scraping both workers sees the fleet's total, per instance and job name.
    if (prometheus) {
      const total = await waitFor(async () => {
        const r = await prometheus!.query('sum by (queue, name) (driftwatch_jobs_completed_total{queue="safety"})');
        return r.length === 1 && Number(r[0].value[1]) === JOBS ? r : undefined;
      }, 'Prometheus to scrape both workers', 90_000, 250);
      expect(total[0].metric).toEqual({ queue: 'safety', name: 'safety' });
      const up = await prometheus.query('up{job="driftwatch"}');
      expect(up.map((s) => s.value[1])).toEqual(['1', '1']);
      const p95 = await prometheus.query('histogram_quantile(0.95, sum by (le) (driftwatch_job_duration_seconds_bucket{queue="safety"}))');
      expect(Number(p95[0].value[1])).toBeGreaterThan(0.1);
    }

    // Health of each process, then an orderly stop.
    for (const w of workers) {
      expect((await fetch(`http://127.0.0.1:${w.ready.metrics_port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${w.ready.metrics_port}/readyz`)).status).toBe(200);
    }
    // The database goes away: /readyz says so (load balancers and Kubernetes stop routing), /healthz stays up.
    await pg.close();
    const t0 = Date.now();
    const notReady = await fetch(`http://127.0.0.1:${workers[0].ready.metrics_port}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'not_ready' });
    // Within its 3 s bound plus room for a loaded machine: an answer, not a hang.
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect((await fetch(`http://127.0.0.1:${workers[0].ready.metrics_port}/healthz`)).status).toBe(200);
    // Even without its database, SIGTERM stops a worker cleanly.
    expect(await Promise.all(workers.map((w) => w.stop('SIGTERM')))).toEqual([0, 0]);
    expect(existsSync(actionLog)).toBe(true);
  });
});

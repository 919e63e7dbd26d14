import { afterAll, beforeAll, describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Worker } from 'bullmq';
import { createHttpApp } from '@driftwatch/scheduler';
import { QUEUE_NAMES } from '../../packages/core/src/queues/catalog.js';
import { registerProcessor } from '../../packages/core/src/queues/worker.js';
import { tempDir, testConfig, uniquePrefix, writeYaml } from '../helpers/env.js';
import { deployment, metricSum, parseMetrics, quietLogger, redisFixture, spawnDriftwatch, waitFor, type FleetProcess } from '../helpers/fleet.js';
import { testContext } from '../helpers/context.js';
import { PgliteDb, migrate } from '@driftwatch/core';

/**
 * Bull Board on the scheduler's HTTP server: every queue, retry of failed jobs, behind
 * DRIFTWATCH_ADMIN_TOKEN (bearer or basic); 401 without valid credentials. The
 * scheduler's /metrics exports queue depth by state, read at each scrape.
 */

const TOKEN = 'board-admin-token-0123456789abcdef';
const CHROMIUM = '/usr/bin/chromium';
const prefix = uniquePrefix('board');
const dep = deployment({ queues: { safety: { attempts: 1 } } });
const f = redisFixture(prefix, dep);
let scheduler: FleetProcess;
let worker: Worker;
let base: string;
/** How many times the test's safety worker ran each job. */
const runs = new Map<string, number>();
/** Waits for events, with room for a loaded machine (CI_LOAD=1 .ci/run). */
const LONG = 90_000;
const until = <T>(fn: () => Promise<T> | T, what: string) => waitFor(fn, what, LONG, 50);

beforeAll(async () => {
  const dir = tempDir();
  scheduler = await spawnDriftwatch(['scheduler'], {
    DRIFTWATCH_ADMIN_TOKEN: TOKEN,
    DRIFTWATCH_DATA_DIR: `${dir}/data`,
    DRIFTWATCH_QUEUE_PREFIX: prefix,
    DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig()),
    DEPLOYMENT_CONFIG: writeYaml(dir, 'deployment.yaml', { http: { port: 0, host: '127.0.0.1' } }),
  }, { readyTimeoutMs: 150_000 });
  base = `http://127.0.0.1:${scheduler.ready.http_port}`;
  // A safety worker whose jobs fail on their first run and succeed when retried.
  worker = registerProcessor(
    'safety',
    async (job) => {
      const n = (runs.get(job.id!) ?? 0) + 1;
      runs.set(job.id!, n);
      if (n === 1) throw new Error('provider returned 500');
      return { ok: true };
    },
    { connection: f.worker, prefix, deployment: dep, logger: quietLogger },
  );
}, 180_000);
afterAll(async () => {
  const code = await scheduler?.stop('SIGTERM');
  await f.cleanup(worker ? [worker] : []);
  expect(code).toBe(0);
}, 180_000);

async function failedJob(id: number): Promise<string> {
  const jobId = `decision.${id}`;
  await f.queues.add('safety', { decision_id: id }, { jobId });
  await until(async () => (await f.queues.get('safety').getJobState(jobId)) === 'failed', `${jobId} to fail`);
  return jobId;
}

async function depth(): Promise<ReturnType<typeof parseMetrics>> {
  return parseMetrics(await (await fetch(`http://127.0.0.1:${scheduler.ready.metrics_port}/metrics`)).text());
}

describe('Bull Board and the admin token', { timeout: 300_000 }, () => {
  it('401 without valid credentials; with the token it lists every queue and retries a failed job', async () => {
    const none = await fetch(`${base}/admin/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await fetch(`${base}/admin/queues`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
    expect((await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: `Basic ${Buffer.from(`x:nope`).toString('base64')}` } })).status).toBe(401);

    const bearer = { authorization: `Bearer ${TOKEN}` };
    const page = await fetch(`${base}/admin/queues`, { headers: bearer });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const basic = { authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}` };
    const api = await fetch(`${base}/admin/queues/api/queues`, { headers: basic });
    expect(api.status).toBe(200);
    const names = ((await api.json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    expect(names).toEqual([...QUEUE_NAMES].sort());

    const jobId = await failedJob(101);
    let m = await depth();
    expect(metricSum(m, 'driftwatch_queue_jobs', { queue: 'safety', state: 'failed' })).toBe(1);
    expect(metricSum(m, 'driftwatch_queue_jobs', { queue: 'safety', state: 'completed' })).toBe(0);
    expect(new Set(m.filter((s) => s.name === 'driftwatch_queue_jobs').map((s) => s.labels.state))).toEqual(
      new Set(['waiting', 'active', 'delayed', 'failed', 'completed', 'waiting-children']),
    );

    // Retry through the board's API, as its Retry button does.
    const retry = await fetch(`${base}/admin/queues/api/queues/safety/${jobId}/retry`, { method: 'PUT', headers: bearer });
    expect(retry.status).toBeLessThan(300);
    await until(async () => (await f.queues.get('safety').getJobState(jobId)) === 'completed', 'the retried job to complete');
    expect(runs.get(jobId)).toBe(2);
    m = await depth();
    expect(metricSum(m, 'driftwatch_queue_jobs', { queue: 'safety', state: 'failed' })).toBe(0);
    expect(metricSum(m, 'driftwatch_queue_jobs', { queue: 'safety', state: 'completed' })).toBe(1);

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('with no DRIFTWATCH_ADMIN_TOKEN (and no admin key) the board is off, not open', async () => {
    // An empty database: no API key, so no admin credential at all (admin keys open the board too: tests/serving/board-keys.test.ts).
    const db = await PgliteDb.open('memory://');
    await migrate(db);
    const app = createHttpApp(testContext({ db, queues: f.queues, deployment: dep }), { ready: async () => true });
    const server: Server = await new Promise((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    try {
      const port = (server.address() as { port: number }).port;
      for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/api/queues/safety/decision.1/retry']) {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: path.endsWith('retry') ? 'PUT' : 'GET', headers: { authorization: 'Bearer anything-at-all-here' } });
        expect(res.status).toBe(404);
      }
    } finally {
      await new Promise((r) => server.close(r));
      await db.close();
    }
  });

  it.skipIf(!existsSync(CHROMIUM))('in a browser: the board shows every queue and its Retry reruns a failed job', async () => {
    const { chromium } = await import('playwright-core');
    const jobId = await failedJob(202);
    const browser = await chromium.launch({
      timeout: LONG,
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const ctx = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` } });
      const page = await ctx.newPage();
      page.setDefaultTimeout(LONG);
      page.setDefaultNavigationTimeout(LONG);
      await page.goto(`${base}/admin/queues`);
      await page.getByText('safety', { exact: true }).first().waitFor({ timeout: LONG });
      const text = await page.innerText('body');
      for (const q of QUEUE_NAMES) expect(text).toContain(q);

      await page.goto(`${base}/admin/queues/queue/safety?status=failed`);
      await page.getByText(jobId).first().waitFor({ timeout: LONG });
      await page.getByText(/provider returned 500/).first().waitFor({ timeout: LONG });
      await page.getByRole('button', { name: 'Retry all' }).click();
      await page.getByRole('button', { name: 'Confirm' }).click();
      await until(async () => (await f.queues.get('safety').getJobState(jobId)) === 'completed', 'the job retried from the board to complete');
      expect(runs.get(jobId)).toBe(2);
    } finally {
      await browser.close();
    }
  });
});

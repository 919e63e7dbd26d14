import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, REDIS_URL, runCli, tempDir, testConfig, uniquePrefix, writeYaml } from './helpers/env.js';
import { startCli } from './helpers/process.js';

const prefix = uniquePrefix('start');
afterAll(() => dropPrefix(prefix));

describe('driftwatch start (the embedded default, one process)', () => {
  it('serves metrics, health, ingest, and schedules every model; SIGTERM exits 0', async () => {
    const dir = tempDir();
    const config = testConfig({ models: [{ name: 'support-bot', schedule: '0 0 * * *' }, { name: 'docs-rag', schedule: '*/30 * * * *' }] });
    const env = {
      DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', config),
      DEPLOYMENT_CONFIG: writeYaml(dir, 'deployment.yaml', { http: { port: 0, host: '127.0.0.1' } }),
      DRIFTWATCH_DATA_DIR: `${dir}/data`,
      DRIFTWATCH_QUEUE_PREFIX: prefix,
      REDIS_URL,
    };
    const p = await startCli(['start'], env);
    try {
      // A second process on the same embedded database is refused, not allowed to corrupt it.
      const second = await runCli(['migrate'], env);
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/in use by process \d+.*DATABASE_URL/);

      expect(p.ready.queues).toEqual(['monitor', 'trigger', 'reindex', 'finetune', 'safety', 'embed', 'notify']);
      const metrics = await (await fetch(`http://127.0.0.1:${p.ready.metrics_port}/metrics`)).text();
      for (const name of ['drift_embedding_score', 'drift_behavior_score', 'drift_accuracy_score', 'drift_overall_score', 'model_accuracy', 'model_refusal_rate', 'model_toxicity_rate', 'retrain_events_total', 'reindex_events_total', 'api_cost_usd_total']) {
        expect(metrics).toContain(`# TYPE ${name} `);
      }
      expect(metrics).toMatch(/driftwatch_queue_jobs\{queue="pipeline",state="delayed"\} 2/);
      expect((await fetch(`http://127.0.0.1:${p.ready.metrics_port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${p.ready.metrics_port}/readyz`)).status).toBe(200);

      const http = `http://127.0.0.1:${p.ready.http_port}`;
      const ok = await fetch(`${http}/v1/interactions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ model: 'support-bot', query: 'hi', response: 'hello', embedding: [0.1, 0.2, 0.3] }]),
      });
      expect(ok.status).toBe(201);
      const bad = await fetch(`${http}/v1/interactions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ model: 'support-bot', query: 'a' }, { model: 'support-bot', query: 'b', feedback_score: 9 }]),
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/^\[1\]\.feedback_score:/);
      const single = await fetch(`${http}/v1/interactions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'support-bot', query: 'x', latency_ms: -1 }),
      });
      expect(single.status).toBe(400);
      expect(((await single.json()) as { error: string }).error).toMatch(/^latency_ms: /);
      // The board is off without a token, not open.
      expect((await fetch(`${http}/admin/queues`)).status).toBe(404);
    } finally {
      expect(await p.stop('SIGTERM')).toBe(0);
    }
    expect(p.stderr()).toContain('stopped');
  });
});

describe('the scheduler', () => {
  it('runs each model on its cron: a tick becomes a flow of three monitors and a trigger', async () => {
    const dir = tempDir();
    const token = 'test-admin-token-0123456789';
    const schedPrefix = uniquePrefix('tick');
    const p = await startCli(['start'], {
      DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig({ models: [{ name: 'support-bot', schedule: '*/2 * * * * *' }] })),
      DEPLOYMENT_CONFIG: writeYaml(dir, 'deployment.yaml', { http: { port: 0, host: '127.0.0.1' } }),
      DRIFTWATCH_DATA_DIR: `${dir}/data`,
      DRIFTWATCH_QUEUE_PREFIX: schedPrefix,
      DRIFTWATCH_ADMIN_TOKEN: token,
      REDIS_URL,
    });
    try {
      const http = `http://127.0.0.1:${p.ready.http_port}`;
      let runs: { run_id: string; monitor: string; status: string }[] = [];
      for (let i = 0; i < 100 && runs.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const res = await fetch(`${http}/v1/runs?model=support-bot`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        runs = ((await res.json()) as { runs: typeof runs }).runs;
      }
      const first = runs.filter((r) => r.run_id === runs[runs.length - 1].run_id);
      expect(first.map((r) => r.monitor).sort()).toEqual(['accuracy', 'behavior', 'embedding']);
      // An empty database: every monitor says insufficient_data, never drift.
      expect(first.every((r) => r.status === 'insufficient_data')).toBe(true);
      expect((await fetch(`${http}/v1/runs`)).status).toBe(401);
    } finally {
      expect(await p.stop('SIGTERM')).toBe(0);
      await dropPrefix(schedPrefix);
    }
  });
});

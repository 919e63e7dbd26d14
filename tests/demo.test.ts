import { afterAll, describe, expect, it } from 'vitest';
import { PgliteDb } from '@driftwatch/core';
import { dropPrefix, REDIS_URL, runCli, tempDir, uniquePrefix, writeYaml } from './helpers/env.js';

const prefix = uniquePrefix('demo');
afterAll(() => dropPrefix(prefix));

type Result = { kind: string; status: string; score: number; methods: Record<string, { baseline?: number; current?: number; flagged?: boolean }> };

describe('the demo scenario of the original design (music -> programming)', () => {
  it('is detected on every axis and leads to a fine-tune and a re-index', async () => {
    const dir = tempDir();
    const env = {
      // The shipped config, as a user runs it.
      DRIFT_CONFIG: 'config/drift_config.yaml',
      DEPLOYMENT_CONFIG: writeYaml(dir, 'deployment.yaml', { http: { port: 0 } }),
      DRIFTWATCH_DATA_DIR: `${dir}/data`,
      DRIFTWATCH_QUEUE_PREFIX: prefix,
      DRIFTWATCH_METRICS_PORT: '0',
      REDIS_URL,
    };
    const seeded = await runCli(['demo'], env, { timeoutMs: 300_000 });
    expect(seeded.code).toBe(0);
    const facts = JSON.parse(seeded.stdout);
    // Answers of the offline chat model (it knows music, not programming), measured as seeded.
    expect(facts).toMatchObject({ seeded: true, baseline: { accuracy: expect.closeTo(0.92, 1) }, current: { accuracy: expect.closeTo(0.78, 1) } });
    expect(facts.baseline.refusal_rate).toBeLessThan(0.05);
    expect(facts.current.refusal_rate).toBeGreaterThan(0.1);
    // A second demo keeps the data rather than doubling it.
    expect(JSON.parse((await runCli(['demo'], env, { timeoutMs: 120_000 })).stdout).seeded).toBe(false);

    const r = await runCli(['run-once'], env, { timeoutMs: 300_000 });
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout).runs[0];
    const by = Object.fromEntries((run.results as Result[]).map((x) => [x.kind, x]));
    expect(by.embedding.status).toBe('drift');
    expect(by.accuracy.status).toBe('drift');
    expect(by.accuracy.methods.eval_accuracy).toMatchObject({ baseline: expect.closeTo(facts.baseline.accuracy, 2), current: expect.closeTo(facts.current.accuracy, 2), flagged: true });
    expect(by.behavior.status).toBe('drift');
    expect(by.behavior.methods.refusal_rate).toMatchObject({ flagged: true });
    expect(by.accuracy.score).toBeGreaterThan(0.9);
    expect(run.decisions.map((d: { action: string }) => d.action).sort()).toEqual(['finetune', 'reindex']);
    const reindex = run.actions.find((a: { queue: string }) => a.queue === 'reindex');
    expect(reindex.result.documents_processed).toBe(20);

    const db = await PgliteDb.open(`${dir}/data`);
    try {
      const stale = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM documents WHERE indexed_hash IS DISTINCT FROM content_hash`);
      expect(stale.rows[0].n).toBe(0);
      const training = await db.query<{ status: string }>(`SELECT status FROM model_versions`);
      expect(training.rows.map((v) => v.status)).toEqual(['training']);
    } finally {
      await db.close();
    }
  }, 600_000);
});

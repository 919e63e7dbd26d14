/* eslint-disable @typescript-eslint/no-explicit-any */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REDIS_URL, ROOT, dropPrefix, runCli, tempDir, testConfig, uniquePrefix, writeYaml } from '../helpers/env.js';

describe('the CLI facing a Redis or database that does not answer', () => {
  it('run-once with an unreachable REDIS_URL: one clear line, exit 2, within seconds', async () => {
    const dir = tempDir();
    const started = Date.now();
    const res = await runCli(['run-once', '--dry-run'], { DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig()), DRIFTWATCH_DATA_DIR: `${dir}/data`, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^driftwatch: no Redis answers at 127\.0\.0\.1:1 .*check REDIS_URL/)]);
    // The probe gives up after 5 s; the rest is start-up on a loaded machine.
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('decisions with an unreachable DATABASE_URL: one clear line, exit 2', async () => {
    const dir = tempDir();
    const res = await runCli(['decisions'], { DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig()), DATABASE_URL: 'postgres://postgres@127.0.0.1:1/driftwatch' });
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^driftwatch: cannot reach the database at 127\.0\.0\.1:1\/driftwatch \(ECONNREFUSED/)]);
  });

  it('--help answers without reading configuration or opening anything', async () => {
    const res = await runCli(['run-once', '--help'], { DRIFT_CONFIG: '/nonexistent.yaml', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Usage: driftwatch run-once/);
    expect(res.stderr).toBe('');
  });
});

describe('run-once says when something failed', () => {
  it('exits 1 and names the action that failed (a fine-tune without enough training examples)', async () => {
    const dir = tempDir();
    // The shipped config, with a fine-tune that can never find enough examples.
    const shipped = parse(readFileSync(join(ROOT, 'config/drift_config.yaml'), 'utf8')) as Record<string, any>;
    shipped.actions = { ...shipped.actions, finetune: { ...(shipped.actions?.finetune ?? {}), min_examples: 1_000_000 } };
    const env = {
      DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', shipped),
      DEPLOYMENT_CONFIG: writeYaml(dir, 'deployment.yaml', { http: { port: 0 }, queues: { finetune: { attempts: 2, backoff: { type: 'fixed', delay_ms: 100 } } } }),
      DRIFTWATCH_DATA_DIR: `${dir}/data`,
      DRIFTWATCH_QUEUE_PREFIX: uniquePrefix('fails'),
      DRIFTWATCH_METRICS_PORT: '0',
      REDIS_URL,
    };
    try {
      expect((await runCli(['demo'], env, { timeoutMs: 300_000 })).code).toBe(0);
      const r = await runCli(['run-once', '--wait'], env, { timeoutMs: 600_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/driftwatch: run-once: support-bot: finetune \(decision\.[0-9a-f]+\.\d+\) failed: only \d+ usable training examples/);
      const summary = JSON.parse(r.stdout);
      expect(summary.failures).toHaveLength(1);
      // The other actions of the run still ran.
      expect(summary.runs[0].actions.find((a: { queue: string }) => a.queue === 'reindex')).toMatchObject({ job_state: 'completed' });
    } finally {
      await dropPrefix(env.DRIFTWATCH_QUEUE_PREFIX);
    }
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { PgliteDb, migrate } from '@driftwatch/core';
import { dropPrefix, REDIS_URL, runCli, tempDir, testConfig, uniquePrefix, writeYaml } from './helpers/env.js';
import { seedWindows } from './helpers/seed.js';

const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await dropPrefix(p);
});

/** Seeds an embedded database, runs `driftwatch run-once` on it, returns the summary and the database. */
async function runOnce(seed: { n: number; shifted: boolean } | null, args: string[] = [], config: Record<string, unknown> = {}) {
  const dir = tempDir();
  const dataDir = `${dir}/data`;
  const now = new Date();
  if (seed) {
    const db = await PgliteDb.open(dataDir);
    await migrate(db);
    await seedWindows(db, { now, ...seed });
    await db.close();
  }
  const prefix = uniquePrefix('runonce');
  prefixes.push(prefix);
  const r = await runCli(['run-once', ...args], {
    DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig(config)),
    DEPLOYMENT_CONFIG: writeYaml(dir, 'deployment.yaml', { http: { port: 0 } }),
    DRIFTWATCH_DATA_DIR: dataDir,
    DRIFTWATCH_QUEUE_PREFIX: prefix,
    REDIS_URL,
  });
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  const summary = JSON.parse(r.stdout);
  const db = await PgliteDb.open(dataDir);
  return { summary, db };
}

type Result = { kind: string; status: string; score: number };

describe('driftwatch run-once', () => {
  it('finds drift in a shifted current window, stores it, decides and carries out the actions', async () => {
    const { summary, db } = await runOnce({ n: 150, shifted: true });
    try {
      const run = summary.runs[0];
      const byKind = Object.fromEntries((run.results as Result[]).map((r) => [r.kind, r]));
      expect(byKind.embedding.status).toBe('drift');
      expect(byKind.accuracy.status).toBe('drift');
      expect(byKind.behavior.status).toBe('drift');
      expect(run.overall_score).toBeGreaterThan(0.5);
      const actions = run.decisions.map((d: { action: string }) => d.action).sort();
      expect(actions).toEqual(['finetune', 'reindex']);
      const jobs = Object.fromEntries(run.actions.map((a: { queue: string }) => [a.queue, a]));
      // Re-index finishes in the run; the fine-tune has started and waits on its provider in delayed.
      expect(jobs.reindex).toMatchObject({ job_state: 'completed', state: 'succeeded' });
      expect(jobs.finetune.job_state).toBe('delayed');

      const stored = await db.query<{ monitor: string; status: string; n_current: number }>('SELECT monitor, status, n_current FROM drift_runs ORDER BY monitor');
      expect(stored.rows.map((r) => [r.monitor, r.status])).toEqual([
        ['accuracy', 'drift'],
        ['behavior', 'drift'],
        ['embedding', 'drift'],
      ]);
      const decisions = await db.query<{ action: string; state: string; reason: string }>('SELECT action, state, reason FROM decisions ORDER BY action');
      expect(decisions.rows.map((d) => [d.action, d.state])).toEqual([
        ['finetune', 'running'],
        ['reindex', 'succeeded'],
      ]);
      expect(decisions.rows[0].reason).toMatch(/accuracy drift/);
    } finally {
      await db.close();
    }
  });

  it('takes no action when nothing moved', async () => {
    const { summary, db } = await runOnce({ n: 150, shifted: false });
    try {
      const run = summary.runs[0];
      expect((run.results as Result[]).map((r) => r.status)).toEqual(['no_drift', 'no_drift', 'no_drift']);
      expect(run.decisions).toEqual([]);
      expect((await db.query('SELECT * FROM decisions')).rows).toEqual([]);
      expect((await db.query('SELECT * FROM drift_runs')).rows).toHaveLength(3);
    } finally {
      await db.close();
    }
  });

  it('says insufficient_data and takes no action on too few rows, even when they moved', async () => {
    const { summary, db } = await runOnce({ n: 20, shifted: true });
    try {
      const run = summary.runs[0];
      expect((run.results as Result[]).map((r) => r.status)).toEqual(['insufficient_data', 'insufficient_data', 'insufficient_data']);
      expect(run.decisions).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('records decisions as skipped under --dry-run', async () => {
    const { summary, db } = await runOnce({ n: 150, shifted: true }, ['--dry-run']);
    try {
      expect(summary.dry_run).toBe(true);
      const states = await db.query<{ state: string; reason: string }>('SELECT state, reason FROM decisions');
      expect(states.rows.length).toBeGreaterThan(0);
      for (const d of states.rows) {
        expect(d.state).toBe('skipped');
        expect(d.reason).toMatch(/^dry_run: would/);
      }
    } finally {
      await db.close();
    }
  });
});

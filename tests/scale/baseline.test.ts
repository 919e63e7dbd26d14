import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDb, StatsPool, accuracyWindow, driftConfigSchema, listBaselines, releaseBaselines, storeDriftRun, windowsFor } from '@driftwatch/core';
import { computeMonitor, freezeBaselines } from '@driftwatch/workers';
import { runCli, tempDir, testConfig, writeYaml } from '../helpers/env.js';
import { seedWindows } from '../helpers/seed.js';
import { migrateScale } from './schema.js';

const moderation = { moderate: async (texts: string[]) => texts.map(() => ({ flagged: false, score: 0 })) };

/**
 * Frozen baselines: stored once, reused by every run until replaced or released, and named
 * by the runs that used them. The windows are seeded with a shift (current = a new topic),
 * and the baseline is frozen from the current window itself: against it nothing has moved.
 */
describe('frozen baselines', () => {
  const now = new Date();
  const w = windowsFor(now, 30, 7);
  const config = driftConfigSchema.parse({ ...testConfig(), embedding_thresholds: { permutations: 100, max_sample: 300 } });
  const pool = new StatsPool(1);
  let db: PgliteDb;
  let deps: Parameters<typeof computeMonitor>[0];
  beforeAll(async () => {
    db = await PgliteDb.open('memory://');
    await migrateScale(db);
    await seedWindows(db, { now, n: 150, shifted: true });
    deps = { db, config, moderation, pool };
  }, 300_000);
  afterAll(async () => {
    await pool.close();
    await db?.close();
  });

  it('replaces the rolling baseline in every run until released, and runs name it', async () => {
    const rolling = await computeMonitor(deps, 'support-bot', 'embedding', now);
    expect(rolling.baseline).toBeNull();
    expect(rolling.result.status).toBe('drift');

    const frozen = await freezeBaselines(deps, 'support-bot', { window: w.current });
    expect(frozen.map((b) => b.monitor).sort()).toEqual(['accuracy', 'behavior', 'embedding']);
    const emb = frozen.find((b) => b.monitor === 'embedding')!;
    expect(emb.n).toBe(150);

    const against = await computeMonitor(deps, 'support-bot', 'embedding', now);
    expect(against.baseline?.id).toBe(emb.id);
    expect(against.result.status).toBe('no_drift');
    expect(against.result.n_baseline).toBe(150);
    expect(against.result.reason).toContain(`frozen baseline ${emb.id}`);
    expect(against.windows.baseline).toEqual(w.current);
    // The stored run says which baseline it used.
    const stored = await storeDriftRun(db, 'run-frozen', 'support-bot', against.windows, against.result, emb.id);
    expect(stored.baseline_id).toBe(emb.id);

    // Accuracy: the stored figures are the window's aggregate; behaviour: the stored sample, moderated.
    const acc = await computeMonitor(deps, 'support-bot', 'accuracy', now);
    expect(acc.result.status).not.toBe('drift');
    expect(acc.baseline?.accuracy).toEqual(await accuracyWindow(db, 'support-bot', w.current));
    const beh = await computeMonitor(deps, 'support-bot', 'behavior', now);
    expect(beh.baseline?.interactions?.length).toBe(150);
    expect(beh.baseline?.interactions?.every((r) => r.toxic === false)).toBe(true);

    // A second freeze replaces the first; release goes back to the rolling window.
    const again = await freezeBaselines(deps, 'support-bot', { now, monitors: ['embedding'] });
    const all = await listBaselines(db, 'support-bot');
    expect(all.filter((b) => b.monitor === 'embedding' && b.replaced_at === null).map((b) => b.id)).toEqual([again[0].id]);
    expect(all.find((b) => b.id === emb.id)?.replaced_at).toBeInstanceOf(Date);
    expect(await releaseBaselines(db, 'support-bot')).toBe(3);
    const back = await computeMonitor(deps, 'support-bot', 'embedding', now);
    expect(back.baseline).toBeNull();
    expect(back.result.status).toBe('drift');
  }, 600_000);
});

describe('driftwatch baseline', () => {
  it('freezes from the command line, shows it, and releases it', async () => {
    const dir = tempDir();
    const dataDir = `${dir}/data`;
    const now = new Date();
    const db = await PgliteDb.open(dataDir);
    await migrateScale(db);
    await seedWindows(db, { now, n: 60, shifted: false });
    await db.close();
    const env = { DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig()), DRIFTWATCH_DATA_DIR: dataDir };
    const from = new Date(now.getTime() - 20 * 86_400_000).toISOString();
    const to = new Date(now.getTime() - 10 * 86_400_000).toISOString();
    const f = await runCli(['baseline', 'freeze', 'support-bot', '--from', from, '--to', to, '--json'], env, { timeoutMs: 300_000 });
    expect(f.stderr).toBe('');
    expect(f.code).toBe(0);
    const frozen = JSON.parse(f.stdout) as { monitor: string; n: number; window_start: string }[];
    expect(frozen).toHaveLength(3);
    expect(frozen.every((b) => b.window_start === from)).toBe(true);
    const s = await runCli(['baseline', 'show', '--json'], env, { timeoutMs: 300_000 });
    expect(JSON.parse(s.stdout).filter((b: { replaced_at: unknown }) => b.replaced_at === null)).toHaveLength(3);
    const bad = await runCli(['baseline', 'freeze', 'nope'], env, { timeoutMs: 300_000 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not in the configuration');
  }, 900_000);
});

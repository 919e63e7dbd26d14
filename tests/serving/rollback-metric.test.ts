import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertModelVersion, metricsOfRecord, onScrape, promoteModelVersion, rollbackModel, setPolicy, startMetricsServer } from '@driftwatch/core';
import { startSharedPostgres, type SharedPostgres } from '../helpers/pglite-server.js';
import { runCli, tempDir, testConfig, writeYaml } from '../helpers/env.js';

/**
 * driftwatch_rollbacks_total counts every rollback, whichever process made it: here the
 * rollbacks are made by `driftwatch rollback` and `driftwatch policy rollback` in their own
 * processes, and by the verification in this one (auto); this process plays the scheduler
 * (it exports the figures of record) and is scraped over HTTP, as Prometheus does.
 */
describe('driftwatch_rollbacks_total', () => {
  let pg: SharedPostgres;
  let metrics: Awaited<ReturnType<typeof startMetricsServer>>;
  let stopHook: () => void;

  beforeAll(async () => {
    pg = await startSharedPostgres();
    const ofRecord = metricsOfRecord(pg.db, { models: ['support-bot'], baselineDays: 30, currentDays: 7 });
    stopHook = onScrape(() => ofRecord.refresh());
    metrics = await startMetricsServer(0, async () => true, '127.0.0.1');
  }, 120_000);
  afterAll(async () => {
    stopHook?.();
    await metrics?.close();
    await pg?.close();
  });

  const scrape = async (kind: string, by: string): Promise<number | null> => {
    const text = await (await fetch(`http://127.0.0.1:${metrics.port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('driftwatch_rollbacks_total{') && l.includes('model="support-bot"') && l.includes(`kind="${kind}"`) && l.includes(`by="${by}"`));
    return line ? Number(line.split(' ').at(-1)) : null;
  };

  it('counts rollbacks made by the CLI in other processes, and automatic ones', async () => {
    for (const [i, version] of ['v1', 'v2'].entries()) {
      const v = await insertModelVersion(pg.db, { model: 'support-bot', version, provider: 'offline', base_model: 'gpt-4o-mini', status: 'candidate', provider_model_id: `local:support-bot-${version}` });
      await promoteModelVersion(pg.db, v.id, { eval_accuracy: 0.8 + i / 10, baseline_accuracy: 0.7 });
    }
    await setPolicy(pg.db, { model: 'support-bot', moderation_threshold: 0.5 });
    await setPolicy(pg.db, { model: 'support-bot', moderation_threshold: 0.3 });
    // Zero from the first scrape, so increase() sees the first rollback.
    expect(await scrape('model', 'manual')).toBe(0);
    expect(await scrape('policy', 'manual')).toBe(0);

    const dir = tempDir('driftwatch-rollback-metric-');
    const env = { DATABASE_URL: pg.url, DRIFTWATCH_DATA_DIR: dir, DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig({ models: [{ name: 'support-bot', base_model: 'gpt-4o-mini' }] })) };
    const model = await runCli(['rollback', 'support-bot', '--by', 'alice', '--reason', 'answers got worse'], env, { timeoutMs: 180_000 });
    expect(model.code, model.stderr).toBe(0);
    const policy = await runCli(['policy', 'rollback', 'support-bot'], env, { timeoutMs: 180_000 });
    expect(policy.code, policy.stderr).toBe(0);

    expect(await scrape('model', 'manual')).toBe(1);
    expect(await scrape('policy', 'manual')).toBe(1);
    expect(await scrape('model', 'auto')).toBe(0);
    await rollbackModel(pg.db, { model: 'support-bot', by: 'driftwatch-verification', reason: 'regressed' });
    expect(await scrape('model', 'auto')).toBe(1);
    // Counted once: this process's rollback is not added on top of the database's count.
    expect(await scrape('model', 'manual')).toBe(1);
  }, 400_000);
});

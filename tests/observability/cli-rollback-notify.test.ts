import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertModelVersion, promoteModelVersion, setPolicy } from '@driftwatch/core';
import { startSharedPostgres, type SharedPostgres } from '../helpers/pglite-server.js';
import { dropPrefix, REDIS_URL, runCli, tempDir, testConfig, uniquePrefix, writeYaml } from '../helpers/env.js';
import { deployment, redisFixture } from '../helpers/fleet.js';

/**
 * A rollback made by the CLI on the database directly (DATABASE_URL, no `start` holding
 * anything) is notified like one made through the HTTP API: its notification is queued on
 * the fleet's Redis for the workers to deliver (delivery itself: notifications-e2e.test.ts).
 */
describe('CLI rollbacks on the database directly', () => {
  let pg: SharedPostgres;
  const prefix = uniquePrefix('cli-rollback-notify');
  const fx = redisFixture(prefix, deployment());

  beforeAll(async () => {
    pg = await startSharedPostgres();
    for (const [i, version] of ['v1', 'v2'].entries()) {
      const v = await insertModelVersion(pg.db, { model: 'support-bot', version, provider: 'offline', base_model: 'gpt-4o-mini', status: 'candidate', provider_model_id: `local:support-bot-${version}` });
      await promoteModelVersion(pg.db, v.id, { eval_accuracy: 0.8 + i / 10, baseline_accuracy: 0.7 });
    }
    await setPolicy(pg.db, { model: 'support-bot', moderation_threshold: 0.5 });
    await setPolicy(pg.db, { model: 'support-bot', moderation_threshold: 0.3 });
  }, 120_000);
  afterAll(async () => {
    await fx.cleanup();
    await pg?.close();
    await dropPrefix(prefix);
  });

  const envFor = (redisUrl: string) => {
    const dir = tempDir('driftwatch-cli-rollback-notify-');
    return {
      DATABASE_URL: pg.url,
      DRIFTWATCH_DATA_DIR: dir,
      DRIFTWATCH_QUEUE_PREFIX: prefix,
      REDIS_URL: redisUrl,
      DRIFT_CONFIG: writeYaml(
        dir,
        'drift.yaml',
        testConfig({ models: [{ name: 'support-bot', base_model: 'gpt-4o-mini' }], notifications: { webhooks: [{ url: 'http://127.0.0.1:9/hook', events: ['rollback'] }] } }),
      ),
    };
  };

  it('queue their rollback notifications; a Redis that does not answer is a warning, not a failed rollback', async () => {
    const env = envFor(REDIS_URL);
    const model = await runCli(['rollback', 'support-bot', '--by', 'alice', '--reason', 'answers got worse'], env, { timeoutMs: 180_000 });
    expect(model.code, model.stderr).toBe(0);
    const policy = await runCli(['policy', 'rollback', 'support-bot', '--by', 'bob'], env, { timeoutMs: 180_000 });
    expect(policy.code, policy.stderr).toBe(0);
    const jobs = await fx.queues.get('notify').getJobs(['waiting', 'delayed', 'prioritized', 'active']);
    const notes = jobs.map((j) => j.data.notification as { type: string; model: string; details: Record<string, unknown> });
    expect(notes.map((n) => `${n.type} ${n.details.kind} ${n.details.from}->${n.details.to} by ${n.details.by}`).sort()).toEqual([
      'rollback model v2->v1 by alice',
      'rollback policy v2->v3 by bob',
    ]);
    expect(jobs.every((j) => j.data.webhook_url === 'http://127.0.0.1:9/hook')).toBe(true);

    // No Redis at all: the rollback is done and says that its notification was not queued.
    const down = await runCli(['rollback', 'support-bot', '--by', 'carol'], envFor('redis://127.0.0.1:1'), { timeoutMs: 180_000 });
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain('now serving the base model');
    expect(down.stderr).toMatch(/warning: the rollback is done, but its webhook notification was not queued: no Redis answers at 127\.0\.0\.1:1/);
  }, 400_000);
});

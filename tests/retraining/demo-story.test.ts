import { afterAll, describe, expect, it } from 'vitest';
import { PgliteDb } from '@driftwatch/core';
import { dropPrefix, REDIS_URL, runCli, tempDir, uniquePrefix, writeYaml } from '../helpers/env.js';

const prefix = uniquePrefix('demo-story');
afterAll(() => dropPrefix(prefix));

type Row = { period: string; served: string; accuracy: number; refusal_rate: number; blocked_rate: number; feedback: number; cost_per_day: number };

describe('the demo tells the whole story (driftwatch demo, run-once, demo --days, run-once)', () => {
  it('drift is detected, a fine-tune is promoted by the gate, the days after it are better, and the next run verifies it', async () => {
    const dir = tempDir();
    const env = {
      DRIFT_CONFIG: 'config/drift_config.yaml',
      DEPLOYMENT_CONFIG: writeYaml(dir, 'deployment.yaml', { http: { port: 0 } }),
      DRIFTWATCH_DATA_DIR: `${dir}/data`,
      DRIFTWATCH_QUEUE_PREFIX: prefix,
      DRIFTWATCH_METRICS_PORT: '0',
      REDIS_URL,
    };
    const seeded = await runCli(['demo'], env, { timeoutMs: 300_000 });
    expect(seeded.code, seeded.stderr).toBe(0);

    const first = await runCli(['run-once', '--wait'], env, { timeoutMs: 400_000 });
    expect(first.code, first.stderr).toBe(0);
    const run = JSON.parse(first.stdout).runs[0];
    const ft = run.actions.find((a: { queue: string }) => a.queue === 'finetune');
    expect(ft.result).toMatchObject({ outcome: 'promoted', version: 'v1' });
    // Measured on held-out items the training file never contained.
    expect(ft.result.eval_items).toBeGreaterThanOrEqual(30);
    expect(ft.result.training_data.excluded.evaluation_item).toBeGreaterThan(0);
    expect(ft.result.candidate_accuracy).toBeGreaterThan(ft.result.incumbent_accuracy);
    expect(ft.result.incumbent_accuracy).toBeGreaterThan(0.6);

    const after = await runCli(['demo', '--days', '7', '--json'], env, { timeoutMs: 400_000 });
    expect(after.code, after.stderr).toBe(0);
    const continued = JSON.parse(after.stdout);
    // The simulated users went through the gateway, each call with its interaction id, and rated through the feedback API.
    expect(continued).toMatchObject({ through: 'gateway', served_version: 'v1', calls_without_interaction_id: 0 });
    expect(continued.calls).toBeGreaterThan(300);
    expect(continued.feedback).toBeGreaterThan(100);
    const db = await PgliteDb.open(`${dir}/data`);
    try {
      const rows = (
        await db.query<{ n: number; embedded: number; rated: number; first: Date; last: Date }>(
          `SELECT count(*)::int AS n, count(*) FILTER (WHERE embed_state = 'done' AND EXISTS (SELECT 1 FROM embeddings_log e WHERE e.interaction_id = i.id AND e.ts = i.ts))::int AS embedded,
                  count(feedback_score)::int AS rated, min(ts) AS first, max(ts) AS last
             FROM interaction_log i WHERE source = 'gateway' AND model_version = 'v1'`,
        )
      ).rows[0];
      expect(rows.n).toBe(continued.calls);
      // Every row has its query embedding (dated like its row) before the command ends, for the next run-once.
      expect(rows.embedded).toBe(rows.n);
      expect(rows.rated).toBe(continued.feedback);
      // Re-dated over the 7 simulated days, not left at the moment of the call.
      expect(Date.now() - new Date(rows.first).getTime()).toBeGreaterThan(6 * 86_400_000);
      expect(Date.now() - new Date(rows.last).getTime()).toBeGreaterThan(0);
      // The demo's ingest key is revoked when it ends.
      expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys WHERE revoked_at IS NULL`)).rows[0].n).toBe(0);
    } finally {
      await db.close();
    }
    const story = continued.story as Row[];
    const [before, during, fixed] = story;
    expect(story.map((r) => r.period)).toEqual(['before', 'during', 'after']);
    expect(fixed.served).toBe('v1');
    // Drift: accuracy and feedback down, refusals and cost up.
    expect(during.accuracy).toBeLessThan(before.accuracy);
    expect(during.feedback).toBeLessThan(before.feedback);
    expect(during.refusal_rate).toBeGreaterThan(before.refusal_rate);
    expect(during.cost_per_day).toBeGreaterThan(before.cost_per_day);
    // The fine-tune: accuracy and feedback up, refusals down.
    expect(fixed.accuracy).toBeGreaterThan(during.accuracy);
    expect(fixed.feedback).toBeGreaterThan(during.feedback);
    // The served model's refusals (on the calls the safety policy did not block; blocks are blocked_rate).
    expect(fixed.refusal_rate).toBeLessThan(during.refusal_rate);
    // The demo's questions are benign: the gateway's safety policy blocks (almost) none of them.
    expect(fixed.blocked_rate, `${continued.blocked_by_safety_policy} of ${continued.calls} benign calls blocked by the safety policy (moderation false positives)`).toBeLessThan(0.02);
    // Cost per day, from the logged tokens and the dated price table: the same users ask as much
    // after the fix, and a fine-tuned gpt-4o-mini costs twice the base model per token (prices.ts),
    // so the day costs more, not less.
    expect(fixed.cost_per_day).toBeGreaterThan(during.cost_per_day);

    const second = await runCli(['run-once', '--wait'], env, { timeoutMs: 400_000 });
    expect(second.code, second.stderr).toBe(0);
    const verification = JSON.parse(second.stdout).runs[0].verification;
    expect(verification).toMatchObject({ version: 'v1', previous_version: null, verdict: 'verified' });
  }, 1_500_000);
});

import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  OfflineAnswerProvider,
  OfflineFineTuneProvider,
  OfflineModerationProvider,
  OpenAIAnswerProvider,
  OpenAIFineTuneProvider,
  approveDecision,
  buildTrainingData,
  getDecision,
  openAIClient,
  PgliteDb,
  migrate,
  type Db,
} from '@driftwatch/core';
import { actionFixture, type ActionFixture } from '../helpers/actions.js';
import { FakeOpenAI } from '../helpers/fake-openai.js';
import { testConfig } from '../helpers/env.js';

const DAY = 86_400_000;

async function log(db: Db, rows: { q: string; a: string; score?: number | null; error?: string; toxic?: boolean; daysAgo?: number }[]) {
  for (const [i, r] of rows.entries()) {
    await db.query(
      `INSERT INTO interaction_log (model, ts, query, response, feedback_score, error, toxic) VALUES ('support-bot', now() - make_interval(secs => $6) - make_interval(days => $7), $1, $2, $3, $4, $5)`,
      [r.q, r.a, r.score === undefined ? 5 : r.score, r.error ?? null, r.toxic ?? null, i, r.daysAgo ?? 0],
    );
  }
}

const good = Array.from({ length: 12 }, (_, i) => ({ q: `How do I enable feature ${i + 1} for my team?`, a: `Go to settings and switch on option ${i + 1}.` }));

describe('the training data builder', () => {
  it('keeps clean, rated, new, unique, non-evaluation examples, scrubbed, and counts every exclusion and redaction', async () => {
    const db = await PgliteDb.open('memory://');
    await migrate(db);
    try {
      await log(db, [
        ...good,
        { q: 'rated low', a: 'x', score: 3 },
        { q: 'not rated', a: 'x', score: null },
        { q: 'failed call', a: 'x', error: 'timeout' },
        { q: 'flagged by moderation', a: 'x', toxic: true },
        { q: 'outside the window', a: 'x', daysAgo: 30 },
        // A duplicate (same normalised question) and a near-duplicate (one extra word).
        { q: 'how do i ENABLE feature 1 for my team', a: 'older answer' },
        { q: 'How do I enable feature 2 for my whole team?', a: 'Go to settings and switch on option 2.' },
        // Evaluation questions, in another case and punctuation: never trained on.
        { q: 'WHAT IS THE REFUND POLICY', a: 'Thirty days.' },
        // Personal data and secrets.
        { q: 'My email is jane.doe@example.com and my card 4111 1111 1111 1111, why was I charged?', a: 'Call us on +44 20 7946 0958 or use key sk-abcdefghijklmnopqrstuvwx1234.' },
      ]);
      await db.query(`INSERT INTO evaluation_log (model, input, expected) VALUES ('support-bot', 'What is the refund policy?', 'Thirty days.')`);
      const { examples, report } = await buildTrainingData(db, {
        model: 'support-bot',
        since: new Date(Date.now() - 7 * DAY),
        before: new Date(Date.now() + 60_000),
        minFeedback: 4,
        limit: 100,
        minExamples: 10,
        nearDuplicateJaccard: 0.85,
        maxExampleTokens: 1000,
      });
      expect(report).toMatchObject({
        candidates: 16,
        examples: 13,
        excluded: { evaluation_item: 1, duplicate: 1, near_duplicate: 1, too_long: 0, over_limit: 0, invalid: 0 },
        redactions: { email: 1, card: 1, phone: 1, secret: 1 },
      });
      const text = JSON.stringify(examples);
      for (const leaked of ['jane.doe@example.com', '4111 1111', '7946 0958', 'sk-abcdef', 'rated low', 'not rated', 'failed call', 'flagged', 'outside the window', 'REFUND', 'older answer', 'whole team']) {
        expect(text).not.toContain(leaked);
      }
      expect(examples.every((e) => e.messages.map((m) => m.role).join() === 'user,assistant')).toBe(true);
    } finally {
      await db.close();
    }
  });
});

let fx: ActionFixture | undefined;
let fake: FakeOpenAI | undefined;
afterEach(async () => {
  await fx?.cleanup();
  await fake?.close();
  fx = undefined;
  fake = undefined;
});

describe('the fine-tune action with the builder and the cost guard', () => {
  it('keeps the uploaded file and records the counts; fewer than min_examples fails with the reason', async () => {
    fx = await actionFixture({
      providers: (dir) => ({ moderation: new OfflineModerationProvider(), finetune: new OfflineFineTuneProvider({ dir, durationMs: 200 }), answers: new OfflineAnswerProvider({ dir }) }),
      workers: ['finetune'],
    });
    const db = fx.ctx.db;
    await log(db, [...good.slice(0, 8), { q: 'Contact me at bob@example.org about feature 10', a: 'Sure, option 10.' }, { q: good[0].q, a: 'dup' }]);
    const few = await fx.decide('finetune');
    const d1 = await fx.settle(few.decision.id);
    expect(d1.state).toBe('failed');
    expect(String(d1.result?.error)).toMatch(/only 9 usable training examples .*10 candidates, excluded: 1 duplicate\); a fine-tune needs at least 10/);
    expect(d1.result).toMatchObject({ training_examples: 9, training_data: { candidates: 10, excluded: { duplicate: 1 } } });

    await log(db, good.slice(8));
    const ok = await fx.decide('finetune');
    const d2 = await fx.settle(ok.decision.id);
    expect(d2.state).toBe('succeeded');
    const r = d2.result as Record<string, any>;
    expect(r.training_examples).toBe(13);
    expect(r.training_data).toMatchObject({ candidates: 14, excluded: { duplicate: 1 }, redactions: { email: 1 } });
    // The file that was uploaded is kept, scrubbed.
    const file = readFileSync(r.training_file, 'utf8');
    expect(file.trim().split('\n')).toHaveLength(13);
    expect(file).toContain('[EMAIL]');
    expect(file).not.toContain('bob@example.org');
    expect(r.cost_estimate).toMatchObject({ usd: 0, provider: 'offline', epochs: 3 });
  }, 300_000);

  it('an estimate above max_cost_usd waits for approval with the estimate as its reason, then runs once approved', async () => {
    fake = await FakeOpenAI.start({ pollsToFinish: 2 });
    const client = openAIClient({ apiKey: fake.apiKey, baseURL: fake.url });
    fx = await actionFixture({
      providers: { moderation: new OfflineModerationProvider(), finetune: new OpenAIFineTuneProvider(client), answers: new OpenAIAnswerProvider(client) },
      workers: ['finetune'],
      config: testConfig({ actions: { finetune: { max_cost_usd: 0.0001 } } }),
    });
    await log(fx.ctx.db, good);
    const { decision } = await fx.decide('finetune');
    const waiting = await fx.settle(decision.id);
    expect(waiting.state).toBe('awaiting_approval');
    expect(waiting.reason).toMatch(/waiting for approval: fine-tune cost estimate \$0\.00 \(\d+ trained tokens = \d+ x 3 epochs at \$3\/1M, prices of \d{4}-\d\d-\d\d\) exceeds actions\.finetune\.max_cost_usd \$0\.0001/);
    const estimate = (waiting.result as Record<string, any>).cost_estimate;
    expect(estimate.usd).toBeGreaterThan(0.0001);
    expect(fake.count('files')).toBe(0);

    await approveDecision(fx.ctx.db, fx.ctx.queues, decision.id, 'alice');
    const done = await fx.settle(decision.id);
    expect(done.state).toBe('succeeded');
    const r = done.result as Record<string, any>;
    expect(fake.count('jobs.create')).toBe(1);
    // Both figures recorded: the estimate and the provider's final cost.
    expect(r.cost_estimate).toEqual(estimate);
    expect(r.cost_usd).toBeGreaterThan(0);
    // The estimate counts ~0.75 words per token, the provider its own tokens: same order of magnitude.
    expect(r.cost_usd / estimate.usd).toBeGreaterThan(0.5);
    expect(r.cost_usd / estimate.usd).toBeLessThan(2);
    expect((await getDecision(fx.ctx.db, decision.id))!.decided_by).toBe('alice');
  }, 300_000);
});

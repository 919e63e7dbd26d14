import { afterEach, describe, expect, it } from 'vitest';
import {
  OfflineAnswerProvider,
  OfflineFineTuneProvider,
  OfflineModerationProvider,
  judge,
  listModelVersions,
  mcnemarExact,
  type Db,
  type ModelAnswers,
} from '@driftwatch/core';
import { actionFixture, metricValue, type ActionFixture } from '../helpers/actions.js';

const settings = { min_eval_items: 30, min_improvement: 0.02, gate_alpha: 0.05, holdout_share: 0.5 };

/** Answers of a model on n items: `right` of them correct (the first ones), `refused` refusals among the wrong ones. */
function answers(n: number, right: (i: number) => boolean, refused: (i: number) => boolean = () => false): ModelAnswers {
  return {
    model: 'm',
    correct: Array.from({ length: n }, (_, i) => right(i)),
    refused: Array.from({ length: n }, (_, i) => refused(i)),
    toxic: Array.from({ length: n }, () => false),
    cost_usd: 0,
  };
}

describe('exact McNemar', () => {
  it('is the two-sided binomial tail on the discordant pairs', () => {
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(5, 5)).toBe(1);
    // 10 vs 0: 2 * 0.5^10
    expect(mcnemarExact(10, 0)).toBeCloseTo(2 / 1024, 12);
    expect(mcnemarExact(0, 10)).toBeCloseTo(2 / 1024, 12);
    // 8 vs 2 of 10: 2 * P(X >= 8) = 2 * 56 / 1024
    expect(mcnemarExact(8, 2)).toBeCloseTo((2 * 56) / 1024, 12);
  });
});

describe('the gate (judge)', () => {
  const champion = answers(60, (i) => i < 40);
  it('rejects a worse challenger', () => {
    const v = judge(champion, answers(60, (i) => i < 30), settings);
    expect(v.outcome).toBe('rejected');
    expect(v.accuracy).toMatchObject({ champion: 40 / 60, challenger: 30 / 60, challenger_only: 0, champion_only: 10 });
    expect(v.reason).toMatch(/less accurate/);
  });
  it('holds an equal challenger (same accuracy, different items)', () => {
    const v = judge(champion, answers(60, (i) => i >= 5 && i < 45), settings);
    expect(v.outcome).toBe('held');
    expect(v.accuracy.challenger).toBe(v.accuracy.champion);
    expect(v.reason).toMatch(/not better by the margin/);
  });
  it('holds a better challenger whose gain is not significant', () => {
    // 3 more right, 1 fewer: +2 items = +3.3% > margin, but p = 0.625
    const v = judge(champion, answers(60, (i) => (i >= 1 && i < 40) || (i >= 40 && i < 43)), settings);
    expect(v.outcome).toBe('held');
    expect(v.reason).toMatch(/not significant/);
  });
  it('promotes a better challenger (margin and significance)', () => {
    const v = judge(champion, answers(60, (i) => i < 52), settings);
    expect(v.outcome).toBe('promoted');
    expect(v.accuracy.p_value).toBeCloseTo(2 / 4096, 10);
  });
  it('rejects a more accurate challenger whose refusals rise significantly', () => {
    const v = judge(answers(60, (i) => i < 40), answers(60, (i) => i < 52, (i) => i >= 52), settings);
    expect(v.outcome).toBe('rejected');
    expect(v.reason).toMatch(/refusals rise significantly/);
  });
  it('holds below min_eval_items, whatever the figures', () => {
    const v = judge(answers(20, () => false), answers(20, () => true), settings);
    expect(v.outcome).toBe('held');
    expect(v.reason).toMatch(/only 20 held-out evaluation items, fewer than the 30/);
  });
});

/** n support questions and their answers; `paraphrase` words them as the evaluation set does. */
const QA = Array.from({ length: 90 }, (_, i) => ({ q: `How do I configure feature number ${i + 1}?`, p: `how can i set up feature number ${i + 1}`, a: `Open settings and enable option ${i + 1}.` }));

async function interactions(db: Db, pairs: [string, string][], minutesAgo: number) {
  await db.query(
    `INSERT INTO interaction_log (model, ts, query, response, feedback_score)
     SELECT 'support-bot', now() - make_interval(mins => $3) + make_interval(secs => i), q, a, 5 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(q, a, i)`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1]), minutesAgo],
  );
}

let fx: ActionFixture | undefined;
afterEach(async () => {
  await fx?.cleanup();
  fx = undefined;
});

describe('the gate through the fine-tune action (offline chat model)', () => {
  it('promotes a better version, rejects a worse one, holds an equal one; figures stored and exported', async () => {
    fx = await actionFixture({
      providers: (dir) => ({ moderation: new OfflineModerationProvider(), finetune: new OfflineFineTuneProvider({ dir, durationMs: 300 }), answers: new OfflineAnswerProvider({ dir }) }),
      workers: ['finetune'],
    });
    const db = fx.ctx.db;
    // The evaluation set asks paraphrases of the training questions.
    await db.query(
      `INSERT INTO evaluation_log (model, input, expected, predicted, correct) SELECT 'support-bot', q, a, a, true FROM unnest($1::text[], $2::text[]) AS u(q, a)`,
      [QA.map((x) => x.p), QA.map((x) => x.a)],
    );
    await interactions(db, QA.map((x) => [x.q, x.a]), 120);

    const first = await fx.decide('finetune');
    const d1 = await fx.settle(first.decision.id);
    expect(d1.state).toBe('succeeded');
    const r1 = d1.result as Record<string, any>;
    expect(r1).toMatchObject({ outcome: 'promoted', version: 'v1', candidate_accuracy: 1, incumbent_accuracy: 0 });
    expect(r1.eval_items).toBeGreaterThanOrEqual(30);
    expect(r1.gate).toMatchObject({ n: r1.eval_items, accuracy: { challenger_only: r1.eval_items, champion_only: 0 }, refusal: { champion: 1, challenger: 0 } });
    expect(r1.gate.accuracy.p_value).toBeLessThan(1e-6);
    expect(await metricValue('model_eval_accuracy', { model: 'support-bot', version: 'v1', role: 'challenger' })).toBe(1);
    expect(await metricValue('model_eval_accuracy', { model: 'support-bot', version: 'v1', role: 'champion' })).toBe(0);

    // Newer interactions teach wrong answers: worse than v1, rejected.
    await interactions(db, QA.map((x, i) => [x.q, `Restart the computer ${i} times.`]), 60);
    fx.ctx.config.actions.training_limit = 90;
    const second = await fx.decide('finetune');
    const d2 = (await fx.settle(second.decision.id)).result as Record<string, any>;
    expect(d2).toMatchObject({ outcome: 'rejected', version: 'v2', candidate_accuracy: 0, incumbent_accuracy: 1, incumbent_version: 'v1' });

    // The right answers again: as good as v1, so held (stays a candidate).
    await interactions(db, QA.map((x) => [x.q, x.a]), 30);
    const third = await fx.decide('finetune');
    const d3 = (await fx.settle(third.decision.id)).result as Record<string, any>;
    expect(d3).toMatchObject({ outcome: 'held', version: 'v3', candidate_accuracy: 1, incumbent_accuracy: 1 });
    expect(d3.reason).toMatch(/not better by the margin/);

    const versions = await listModelVersions(db, 'support-bot');
    expect(versions.map((v) => [v.version, v.status])).toEqual([
      ['v1', 'promoted'],
      ['v2', 'rejected'],
      ['v3', 'candidate'],
    ]);
    // Every figure is stored with the version.
    expect(versions[1].details.gate).toMatchObject({ outcome: 'rejected', champion_version: 'v1', accuracy: { champion: 1, challenger: 0 } });
    expect(versions[2].details.gate).toMatchObject({ outcome: 'held' });
  }, 300_000);
});

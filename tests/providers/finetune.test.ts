import { afterEach, describe, expect, it } from 'vitest';
import {
  OfflineAnswerProvider,
  OfflineFineTuneProvider,
  OfflineModerationProvider,
  listModelVersions,
  type Db,
} from '@driftwatch/core';
import { actionFixture, openAIProviders, metricValue, recordedValue, type ActionFixture } from '../helpers/actions.js';
import { FakeOpenAI, failures } from '../helpers/fake-openai.js';
import { testConfig } from '../helpers/env.js';

/** Twelve support questions and their right answers. */
const QA: [string, string][] = Array.from({ length: 12 }, (_, i) => [`How do I configure feature number ${i + 1}?`, `Open settings and enable option ${i + 1}.`]);
/** Evaluation questions: never in a training file (the dataset builder removes them). */
const EVAL: [string, string][] = Array.from({ length: 8 }, (_, i) => [`Where is option ${i + 1}?`, `Under settings, option ${i + 1}.`]);
/** All evaluation items held out, so the gate sees every one (the default holds out half). */
const HOLD_ALL = { actions: { dry_run: false, require_approval: false, cooldown_hours: 24, finetune: { holdout_share: 1 } } };

/** High-rated interactions (the training data), `minutesAgo` before now; each insert is a little newer than the previous one. */
async function interactions(db: Db, pairs: [string, string][], minutesAgo: number, feedback = 5) {
  for (const [q, a] of pairs) {
    await db.query(`INSERT INTO interaction_log (model, ts, query, response, feedback_score) VALUES ('support-bot', now() - make_interval(mins => $3), $1, $2, $4)`, [q, a, minutesAgo, feedback]);
  }
}

/** The evaluation set: the question in item_id, the expected answer. */
async function evalSet(db: Db, pairs: [string, string][]) {
  for (const [q, a] of pairs) {
    await db.query(`INSERT INTO evaluation_log (model, item_id, expected, predicted, correct) VALUES ('support-bot', $1, $2, $2, true)`, [q, a]);
  }
}

let fx: ActionFixture | undefined;
let fake: FakeOpenAI | undefined;
afterEach(async () => {
  await fx?.cleanup();
  await fake?.close();
  fx = undefined;
  fake = undefined;
});

describe('fine-tune action through the action worker (OpenAI-compatible server)', () => {
  it('starts exactly one provider job across a retry and a replay, polls from delayed; the gate holds a version measured on too few items', async () => {
    // The base model knows 2 of the 8 evaluation answers.
    fake = await FakeOpenAI.start({ pollsToFinish: 4, baseKnowledge: Object.fromEntries(EVAL.slice(0, 2)) });
    fx = await actionFixture({ providers: openAIProviders(fake), workers: ['finetune'], config: testConfig(HOLD_ALL) });
    const db = fx.ctx.db;
    await interactions(db, QA, 60);
    await interactions(db, [['ignored: rated low', 'bad answer']], 30, 2);
    await evalSet(db, EVAL);
    // The first status check fails with a 500: the job is retried with backoff and must resume the same provider job.
    fake.fail('jobs.retrieve', failures.serverError());
    const costBefore = await metricValue('api_cost_usd_total', { provider: 'openai', operation: 'fine_tune' });
    const promotedBefore = await recordedValue(db, 'retrain_events_total', { model: 'support-bot', outcome: 'promoted' });

    const { decision, job } = await fx.decide('finetune');
    const queue = fx.ctx.queues.get('finetune');
    const states = new Set<string>();
    const done = await fx.settle(decision.id, async () => {
      states.add(await queue.getJobState(job.id!));
    });

    expect(done.state).toBe('succeeded');
    const r = done.result as Record<string, unknown>;
    // The fake answers only what its training file holds, and no evaluation question may be in it.
    expect(r).toMatchObject({ status: 'held', outcome: 'held', version: 'v1', provider: 'openai', training_examples: 12, candidate_accuracy: 0, incumbent_accuracy: 0.25, eval_items: 8 });
    expect(String(r.reason)).toMatch(/only 8 held-out evaluation items, fewer than the 30/);
    expect(r.job_id).toMatch(/^ftjob-/);
    expect(r.file_id).toMatch(/^file-/);
    // One upload and one job, however often the action ran.
    expect(fake.count('files')).toBe(1);
    expect(fake.count('jobs.create')).toBe(1);
    // Several status checks (one failed with 500), with the job waiting in delayed between them.
    expect(fake.count('jobs.retrieve')).toBeGreaterThanOrEqual(5);
    expect(states.has('delayed')).toBe(true);
    const finished = await fx.finishedJob('finetune', job.id!);
    expect(finished.attemptsMade).toBeGreaterThanOrEqual(1);
    // The training file holds the 12 high-rated interactions, newest first, as chat examples.
    const file = [...fake.files.values()][0];
    const lines = file.content.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(12);
    expect(lines[0]).toEqual({ messages: [{ role: 'user', content: QA[11][0] }, { role: 'assistant', content: QA[11][1] }] });
    expect(lines.map((l) => l.messages[0].content).sort()).toEqual(QA.map(([q]) => q).sort());

    const versions = await listModelVersions(db, 'support-bot');
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ version: 'v1', status: 'candidate', provider: 'openai', eval_accuracy: 0, baseline_accuracy: 0.25, decision_id: decision.id });
    expect(versions[0].provider_model_id).toMatch(/^ft:gpt-4o-mini-2024-07-18:driftwatch-test:support-bot-v1:/);
    // 12 examples x (7 + 6 words) x 3 epochs = 468 trained tokens at $3 per 1M.
    expect((await metricValue('api_cost_usd_total', { provider: 'openai', operation: 'fine_tune' })) - costBefore).toBeCloseTo((468 * 3) / 1e6, 12);
    // The estimate (file tokens x 3 epochs at the dated price) is recorded next to the final figure.
    expect(r.cost_estimate).toMatchObject({ epochs: 3, usd_per_1m_tokens: 3, prices_as_of: expect.any(String) });
    expect(r.cost_usd).toBeCloseTo((468 * 3) / 1e6, 12);
    expect(r.training_file).toMatch(/^openai file file-/);
    void promotedBefore;

    // A replayed job for the finished decision does nothing.
    const replay = await fx.ctx.queues.add('finetune', { decision_id: decision.id }, { jobId: 'replay-1' });
    await expect.poll(async () => queue.getJobState(replay.id!), { timeout: 10_000 }).toBe('completed');
    expect((await queue.getJob(replay.id!))!.returnvalue).toMatchObject({ skipped: true, state: 'succeeded' });
    expect(fake.count('jobs.create')).toBe(1);

  }, 300_000);

  it('a job created but whose response was lost is found by its idempotency key on retry, not started twice', async () => {
    fake = await FakeOpenAI.start({ pollsToFinish: 3 });
    fx = await actionFixture({ providers: openAIProviders(fake), workers: ['finetune'], config: testConfig(HOLD_ALL) });
    await interactions(fx.ctx.db, QA, 60);
    await evalSet(fx.ctx.db, EVAL.slice(0, 6));
    // The server creates the job, then the client sees a 500 (as if the response was lost).
    fake.fail('jobs.create', { ...failures.serverError(), afterWork: true });
    const { decision, job } = await fx.decide('finetune');
    const done = await fx.settle(decision.id);
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({ status: 'held', version: 'v1' });
    expect(fake.count('jobs.create')).toBe(1);
    expect(fake.jobs.size).toBe(1);
    expect(fake.count('jobs.list')).toBe(1);
    expect(fake.count('files')).toBe(1);
    const [only] = [...fake.jobs.values()];
    expect(done.result?.job_id).toBe(only.id);
    expect(only.metadata).toMatchObject({ driftwatch_model: 'support-bot', driftwatch_start: done.result?.start_key });
    expect((await fx.finishedJob('finetune', job.id!)).attemptsMade).toBe(2);
  }, 300_000);

  it('compares with the base model when the promoted version cannot be asked (trained by another provider)', async () => {
    fake = await FakeOpenAI.start({ pollsToFinish: 2, baseKnowledge: Object.fromEntries(EVAL.slice(0, 1)) });
    fx = await actionFixture({ providers: openAIProviders(fake), workers: ['finetune'], config: testConfig(HOLD_ALL) });
    const db = fx.ctx.db;
    await db.query(
      `INSERT INTO model_versions (model, version, provider, provider_model_id, base_model, status, promoted_at) VALUES ('support-bot', 'v1', 'offline', 'local:support-bot:v1', 'gpt-4o-mini-2024-07-18', 'promoted', now())`,
    );
    await interactions(db, QA, 60);
    await evalSet(db, EVAL.slice(0, 5));
    const { decision } = await fx.decide('finetune');
    const done = await fx.settle(decision.id);
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({ status: 'held', version: 'v2', candidate_accuracy: 0, incumbent_accuracy: 0.2, incumbent_model: 'gpt-4o-mini-2024-07-18' });
    expect(String(done.result?.incumbent_note)).toMatch(/local:support-bot:v1 could not be evaluated .* compared with the base model/);
    expect((await listModelVersions(db, 'support-bot')).map((v) => [v.version, v.status])).toEqual([
      ['v1', 'promoted'],
      ['v2', 'candidate'],
    ]);
  }, 300_000);

  it('a failed provider job fails the decision and marks the version failed; too little data fails before any upload', async () => {
    fake = await FakeOpenAI.start({ pollsToFinish: 2, failJobsWith: { code: 'invalid_training_file', message: 'Training file has too many duplicated examples' } });
    fx = await actionFixture({ providers: openAIProviders(fake), workers: ['finetune'] });
    const db = fx.ctx.db;

    // Nine good interactions: fewer than the minimum of ten.
    await interactions(db, QA.slice(0, 9), 60);
    const few = await fx.decide('finetune');
    const d1 = await fx.settle(few.decision.id);
    expect(d1.state).toBe('failed');
    expect(String(d1.result?.error)).toMatch(/only 9 usable training examples .* at least 10/);
    expect(fake.count('files')).toBe(0);
    const queue = fx.ctx.queues.get('finetune');
    await expect.poll(() => queue.getJobState(few.job.id!), { timeout: 10_000 }).toBe('failed');
    expect((await fx.finishedJob('finetune', few.job.id!)).attemptsMade).toBe(1);

    await interactions(db, QA.slice(9), 60);
    const { decision } = await fx.decide('finetune');
    const d2 = await fx.settle(decision.id);
    expect(d2.state).toBe('failed');
    expect(d2.result).toMatchObject({ job_status: 'failed', version: 'v1' });
    expect(String(d2.result?.error)).toMatch(/failed: invalid_training_file: Training file has too many duplicated examples/);
    const [v] = await listModelVersions(db, 'support-bot');
    expect(v).toMatchObject({ version: 'v1', status: 'failed' });
    expect(v.details).toMatchObject({ error: 'invalid_training_file: Training file has too many duplicated examples' });
    expect(fake.count('jobs.create')).toBe(1);
  }, 300_000);
});

describe('fine-tune action with the offline providers', () => {
  it('trains the local model, waits in delayed while it trains, and promotes it over the base model', async () => {
    fx = await actionFixture({
      providers: (dir) => ({
        moderation: new OfflineModerationProvider(),
        finetune: new OfflineFineTuneProvider({ dir, durationMs: 700 }),
        answers: new OfflineAnswerProvider({ dir }),
      }),
      workers: ['finetune'],
      // Six held-out items: enough for this test (6 of 6 discordant pairs: p = 2/64).
      config: testConfig({ actions: { finetune: { holdout_share: 1, min_eval_items: 6 } } }),
    });
    const db = fx.ctx.db;
    await interactions(db, QA, 60);
    // Evaluation questions are worded differently from the training questions.
    await evalSet(
      db,
      QA.slice(0, 6).map(([q, a]) => [q.replace('How do I configure', 'how can i configure').replace('?', ''), a]),
    );
    const { decision, job } = await fx.decide('finetune');
    const queue = fx.ctx.queues.get('finetune');
    const states = new Set<string>();
    const done = await fx.settle(decision.id, async () => {
      states.add(await queue.getJobState(job.id!));
    });
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({ status: 'promoted', provider: 'offline', fine_tuned_model: 'local:support-bot:v1', candidate_accuracy: 1, incumbent_accuracy: 0, eval_items: 6 });
    expect(Number(done.result?.polls)).toBeGreaterThanOrEqual(3);
    expect(states.has('delayed')).toBe(true);
    const [v] = await listModelVersions(db, 'support-bot');
    expect(v).toMatchObject({ version: 'v1', status: 'promoted', provider_model_id: 'local:support-bot:v1' });
  }, 300_000);
});

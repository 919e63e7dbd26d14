import { afterEach, describe, expect, it } from 'vitest';
import { getDecision, listModelVersions, type Db } from '@driftwatch/core';
import { reconcile } from '@driftwatch/scheduler';
import { actionFixture, openAIProviders, type ActionFixture } from '../helpers/actions.js';
import { FakeOpenAI } from '../helpers/fake-openai.js';
import { dropPrefix, testConfig } from '../helpers/env.js';
import { waitFor } from '../helpers/fleet.js';

/**
 * A fine-tune polling its provider job when Redis loses its data (a restart without
 * persistence): the decision stays running and its model version training, with no queue
 * job left to poll. The reconciler gives the decision its job back; that job claims the
 * decision again and carries on from what the decision recorded (the provider job's id),
 * so the provider job is created once, whether it is still running or ended meanwhile.
 *
 * The fake OpenAI server moves a job on only when it is polled, and the test sets how many
 * polls it takes: no step here waits on a duration.
 */

const QA: [string, string][] = Array.from({ length: 12 }, (_, i) => [`How do I configure feature number ${i + 1}?`, `Open settings and enable option ${i + 1}.`]);
const EVAL: [string, string][] = Array.from({ length: 8 }, (_, i) => [`Where is option ${i + 1}?`, `Under settings, option ${i + 1}.`]);
const HOLD_ALL = { actions: { dry_run: false, require_approval: false, cooldown_hours: 24, finetune: { holdout_share: 1 } } };
/** A job that never ends until the test says so. */
const NEVER = 1_000_000;

let fx: ActionFixture | undefined;
let fake: FakeOpenAI | undefined;
afterEach(async () => {
  await fx?.cleanup();
  await fake?.close();
  fx = undefined;
  fake = undefined;
});

async function seed(db: Db) {
  for (const [q, a] of QA) await db.query(`INSERT INTO interaction_log (model, ts, query, response, feedback_score) VALUES ('support-bot', now() - interval '1 hour', $1, $2, 5)`, [q, a]);
  for (const [q, a] of EVAL) await db.query(`INSERT INTO evaluation_log (model, item_id, expected, predicted, correct) VALUES ('support-bot', $1, $2, $2, true)`, [q, a]);
}

/**
 * Starts a fine-tune whose provider job keeps running, waits until its queue job has polled
 * the provider job until it runs and waits in delayed, then loses every key of the test's
 * Redis prefix (the workers paused meanwhile, so the loss falls between two polls).
 */
async function polledThenLost() {
  fake = await FakeOpenAI.start({ pollsToFinish: NEVER });
  fx = await actionFixture({ providers: openAIProviders(fake), workers: ['finetune'], config: testConfig(HOLD_ALL) });
  const f = fx;
  await seed(f.ctx.db);
  const { decision, job } = await f.decide('finetune');
  const queue = f.ctx.queues.get('finetune');
  // The fake says validating_files, queued, then running from the third poll on.
  await waitFor(async () => fake!.count('jobs.retrieve') >= 3 && (await queue.getJobState(job.id!)) === 'delayed', 'the fine-tune to poll its running provider job from delayed', 120_000);
  await Promise.all(f.workers.map((w) => w.pause()));
  await dropPrefix(f.prefix);

  const lost = (await getDecision(f.ctx.db, decision.id))!;
  expect(lost.state).toBe('running');
  expect(lost.result).toMatchObject({ status: 'training', version: 'v1', job_id: expect.stringMatching(/^ftjob-/) });
  expect(await queue.getJob(job.id!)).toBeUndefined();
  expect((await listModelVersions(f.ctx.db, 'support-bot')).map((v) => [v.version, v.status])).toEqual([['v1', 'training']]);
  expect(fake.count('jobs.create')).toBe(1);
  const providerJob = fake.jobs.get(String(lost.result?.job_id))!;
  expect(providerJob.status).toBe('running');
  return { f, fake, decision, job, queue, jobId: String(lost.result?.job_id), pollsBefore: Number(lost.result?.polls), providerPollsBefore: providerJob.polls };
}

/** The reconciler's pass: the decision's job is back under its id, waiting for a worker. */
async function reconcileBack(f: ActionFixture, decisionId: number, jobId: string) {
  const report = await reconcile(f.ctx);
  expect(report.jobs_reenqueued).toEqual([decisionId]);
  expect(report.decisions_failed).toEqual([]);
  expect(await f.ctx.queues.get('finetune').getJobState(jobId)).toMatch(/^(waiting|prioritized)$/);
}

describe('the reconciler and a fine-tune whose queue job Redis lost', () => {
  it('re-enqueues the job of a fine-tune still training: polling resumes, the gate judges the version, one provider job', async () => {
    const t = await polledThenLost();
    await reconcileBack(t.f, t.decision.id, t.job.id!);
    // The provider job finishes two polls from now: the re-enqueued job must poll it again (and wait in delayed between).
    t.fake.options.pollsToFinish = t.providerPollsBefore + 2;
    const states = new Set<string>();
    for (const w of t.f.workers) w.resume();
    const done = await t.f.settle(t.decision.id, async () => {
      states.add(await t.queue.getJobState(t.job.id!));
    }, 240_000);

    expect(done.state).toBe('succeeded');
    // 8 held-out items are fewer than the gate's minimum of 30: the gate holds the version as a candidate.
    expect(done.result).toMatchObject({ status: 'held', outcome: 'held', version: 'v1', job_id: t.jobId, provider: 'openai', training_examples: 12 });
    expect(Number(done.result?.polls)).toBe(t.pollsBefore + 2);
    expect(t.fake.jobs.get(t.jobId)!.polls).toBe(t.providerPollsBefore + 2);
    expect(states.has('delayed')).toBe(true);
    const [v] = await listModelVersions(t.f.ctx.db, 'support-bot');
    expect(v).toMatchObject({ version: 'v1', status: 'candidate', decision_id: t.decision.id });
    expect(v.provider_model_id).toMatch(/^ft:gpt-4o-mini-2024-07-18:driftwatch-test:support-bot-v1:/);
    expect((v.details.gate as { outcome?: string }).outcome).toBe('held');
    // One upload and one provider job, across the loss.
    expect(t.fake.count('files')).toBe(1);
    expect(t.fake.count('jobs.create')).toBe(1);
    expect(t.fake.jobs.size).toBe(1);
    expect((await t.f.finishedJob('finetune', t.job.id!)).returnvalue).toMatchObject({ state: 'succeeded' });
    // Nothing left to repair.
    expect((await reconcile(t.f.ctx)).jobs_reenqueued).toEqual([]);
  }, 600_000);

  it.each([
    { ended: 'succeeded', decision: 'succeeded', version: 'candidate' },
    { ended: 'failed', decision: 'failed', version: 'failed' },
  ] as const)('a provider job that $ended while the queue job was gone: the re-enqueued job records it, starts no other', async (c) => {
    const t = await polledThenLost();
    // The provider job ends with no queue job to see it (someone looked at it on the provider's side).
    if (c.ended === 'failed') t.fake.options.failJobsWith = { code: 'invalid_training_file', message: 'Training file has too many duplicated examples' };
    t.fake.options.pollsToFinish = t.providerPollsBefore + 1;
    const seen = (await (await fetch(`${t.fake.url}/fine_tuning/jobs/${t.jobId}`, { headers: { authorization: `Bearer ${t.fake.apiKey}` } })).json()) as { status: string };
    expect(seen.status).toBe(c.ended);
    expect((await getDecision(t.f.ctx.db, t.decision.id))?.state).toBe('running');

    await reconcileBack(t.f, t.decision.id, t.job.id!);
    for (const w of t.f.workers) w.resume();
    const done = await t.f.settle(t.decision.id, undefined, 240_000);

    expect(done.state).toBe(c.decision);
    expect(done.result).toMatchObject({ job_id: t.jobId, version: 'v1' });
    // Recorded from one more look at the provider job: the one the queue job made after it came back.
    expect(t.fake.jobs.get(t.jobId)!.polls).toBe(t.providerPollsBefore + 1);
    expect(Number(done.result?.polls)).toBe(t.pollsBefore + 1);
    const [v] = await listModelVersions(t.f.ctx.db, 'support-bot');
    expect(v).toMatchObject({ version: 'v1', status: c.version, decision_id: t.decision.id });
    if (c.ended === 'succeeded') {
      expect(done.result).toMatchObject({ status: 'held', fine_tuned_model: expect.stringMatching(/^ft:/) });
    } else {
      expect(String(done.result?.error)).toMatch(/failed: invalid_training_file: Training file has too many duplicated examples/);
      expect(v.details).toMatchObject({ error: 'invalid_training_file: Training file has too many duplicated examples' });
    }
    expect(t.fake.count('jobs.create')).toBe(1);
    expect(t.fake.jobs.size).toBe(1);
    expect(t.fake.count('files')).toBe(1);
  }, 600_000);
});

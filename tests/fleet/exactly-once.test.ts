import { afterAll, describe, it, expect } from 'vitest';
import type { Job, Worker } from 'bullmq';
import { actionProcessor, startWorkers, triggerProcessor, type RunSummary } from '@driftwatch/workers';
import { PgliteDb } from '../../packages/core/src/db/pglite.js';
import { migrate } from '../../packages/core/src/db/migrations.js';
import { storeDriftRun } from '../../packages/core/src/db/repo/runs.js';
import { getDecision, insertDecision, listDecisions } from '../../packages/core/src/db/repo/decisions.js';
import { makeDecision } from '../helpers/decisions.js';
import { windowsFor } from '../../packages/core/src/db/repo/windows.js';
import { makeRunId } from '../../packages/core/src/queues/catalog.js';
import { registerProcessor } from '../../packages/core/src/queues/worker.js';
import { uniquePrefix } from '../helpers/env.js';
import { deployment, quietLogger, redisFixture, waitFor } from '../helpers/fleet.js';
import { driftResult, testContext } from '../helpers/context.js';

/**
 * Exactly-once effects: a trigger replayed, or an action job retried after a crash,
 * never launches a second action for the same (model, window, action); a second run
 * of the same model within the cooldown is recorded as skipped.
 */

const MODEL = 'support-bot';

// One embedded database for the file, emptied before each test.
let dbPromise: Promise<PgliteDb> | undefined;
const sharedDb = () =>
  (dbPromise ??= PgliteDb.open('memory://').then(async (db) => {
    await migrate(db);
    return db;
  }));
afterAll(async () => (await dbPromise)?.close());

/** A safety decision already claimed by a worker (state running), for the run at `at`. */
async function runningSafetyDecision(runId: string, at: Date) {
  const { current } = windowsFor(at, 30, 7);
  const { row } = await insertDecision(await sharedDb(), {
    run_id: runId,
    model: MODEL,
    action: 'safety',
    state: 'running',
    priority: 380,
    reason: 'toxicity drift',
    dedup_key: `${MODEL}|safety|${current.start.toISOString()}|${current.end.toISOString()}`,
    window_start: current.start,
    window_end: current.end,
    details: {},
  });
  return row;
}

async function fleet(config: Record<string, unknown> = {}) {
  const prefix = uniquePrefix('once');
  const dep = deployment({ queues: { trigger: { concurrency: 2, attempts: 1 }, safety: { concurrency: 1, attempts: 3, backoff: { delay_ms: 50 } } } });
  const f = redisFixture(prefix, dep);
  const db = await sharedDb();
  await db.exec('TRUNCATE decisions, drift_runs, safety_policies RESTART IDENTITY CASCADE');
  const ctx = testContext({ db, queues: f.queues, deployment: dep, config });
  const common = { connection: f.worker, prefix, deployment: dep, logger: quietLogger };
  const workers: Worker[] = [registerProcessor('trigger', triggerProcessor(ctx), common), registerProcessor('safety', actionProcessor(ctx, 'safety'), common)];
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  /** Stores toxicity drift for a run (as its monitors would) and returns the trigger's payload. */
  const toxicRun = async (now: Date) => {
    const run_id = makeRunId(MODEL, now);
    await storeDriftRun(db, run_id, MODEL, windowsFor(now, 30, 7), driftResult('behavior', ['toxicity_rate']));
    return { run_id, model: MODEL, now: now.toISOString(), dry_run: false };
  };
  const finished = async (queue: 'trigger' | 'safety', id: string): Promise<Job> =>
    waitFor(async () => {
      const j = await f.queues.get(queue).getJob(id);
      return j?.finishedOn ? j : undefined;
    }, `${queue} job ${id} to finish`);
  const policies = async () => (await db.query<{ decision_id: number }>('SELECT decision_id FROM safety_policies ORDER BY id')).rows.map((r) => r.decision_id);
  return {
    db,
    f,
    toxicRun,
    finished,
    policies,
    close: async () => {
      await f.cleanup(workers);
    },
  };
}

describe('exactly-once effects', () => {
  it('a replayed trigger finds its decision and job instead of acting again', async () => {
    const t = await fleet();
    try {
      const data = await t.toxicRun(new Date());
      const jobId = `trigger.${data.run_id}`;
      await t.f.queues.add('trigger', data, { jobId });
      const first = (await t.finished('trigger', jobId)).returnvalue as RunSummary;
      expect(first.decisions).toMatchObject([{ action: 'safety', state: 'queued' }]);
      const decisionId = first.decisions[0].id;
      expect(first.action_jobs).toEqual([{ queue: 'safety', job_id: `decision.${decisionId}` }]);
      await t.finished('safety', `decision.${decisionId}`);

      // Adding the same trigger again is a no-op in BullMQ (same job id).
      await t.f.queues.add('trigger', data, { jobId });
      // A real replay: the trigger job is gone (removed, or lost with a Redis restore) and runs again.
      await t.f.queues.get('trigger').remove(jobId);
      await t.f.queues.add('trigger', data, { jobId });
      const second = (await t.finished('trigger', jobId)).returnvalue as RunSummary;
      expect(second.decisions.map((d) => d.id)).toEqual([decisionId]);
      expect(second.decisions[0].state).toBe('succeeded');
      expect(second.action_jobs).toEqual([]);

      // Even an action job that runs again for a finished decision does nothing.
      await t.f.queues.get('safety').remove(`decision.${decisionId}`);
      await t.f.queues.add('safety', { decision_id: decisionId }, { jobId: `decision.${decisionId}` });
      const again = await t.finished('safety', `decision.${decisionId}`);
      expect(again.returnvalue).toMatchObject({ decision_id: decisionId, skipped: true, state: 'succeeded' });

      expect(await t.policies()).toEqual([decisionId]);
      expect(await listDecisions(t.db)).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('an action job retried after a crash carries on with the decision it had claimed, once', async () => {
    const t = await fleet();
    try {
      const now = new Date();
      // The worker that claimed this decision died before finishing: it is still "running".
      const row = await runningSafetyDecision(makeRunId(MODEL, now), now);
      await t.f.queues.add('safety', { decision_id: row.id }, { jobId: `decision.${row.id}` });
      const done = await t.finished('safety', `decision.${row.id}`);
      expect(await done.getState()).toBe('completed');
      expect(done.returnvalue).toMatchObject({ state: 'succeeded' });
      expect(await t.policies()).toEqual([row.id]);
    } finally {
      await t.close();
    }
  });

  it('two runs of one model deciding at once: the first acts, the second is skipped by the cooldown', async () => {
    const t = await fleet({ actions: { dry_run: false, require_approval: false, cooldown_hours: 24 } });
    try {
      const now = Date.now();
      const a = await t.toxicRun(new Date(now - 60_000));
      const b = await t.toxicRun(new Date(now));
      // Both at once, on a trigger worker that runs two jobs concurrently.
      await Promise.all([a, b].map((d) => t.f.queues.add('trigger', d, { jobId: `trigger.${d.run_id}` })));
      const summaries = await Promise.all([a, b].map(async (d) => (await t.finished('trigger', `trigger.${d.run_id}`)).returnvalue as RunSummary));
      const states = summaries.flatMap((s) => s.decisions.map((d) => d.state)).sort();
      expect(states).toEqual(['queued', 'skipped']);
      const skipped = summaries.flatMap((s) => s.decisions).find((d) => d.state === 'skipped')!;
      // Skipped by the cooldown, or because the first one is still queued or running.
      expect(skipped.reason).toMatch(/^(cooldown: last safety at .*, next allowed after |in progress: decision \d+ \(safety\))/);
      const acted = summaries.flatMap((s) => s.decisions).find((d) => d.state === 'queued')!;
      await t.finished('safety', `decision.${acted.id}`);
      expect(await t.policies()).toEqual([acted.id]);
    } finally {
      await t.close();
    }
  });

  it('at most one action of a kind per model at a time: a run finding one still running (a long fine-tune) skips, even with no cooldown', async () => {
    const t = await fleet({ actions: { dry_run: false, require_approval: false, cooldown_hours: 0 } });
    try {
      const now = new Date();
      // A decision of an earlier run whose action is still going on.
      const busy = await runningSafetyDecision('earlier', new Date(now.getTime() - 3 * 86_400_000));
      const data = await t.toxicRun(now);
      await t.f.queues.add('trigger', data, { jobId: `trigger.${data.run_id}` });
      const s = (await t.finished('trigger', `trigger.${data.run_id}`)).returnvalue as RunSummary;
      expect(s.decisions).toMatchObject([{ action: 'safety', state: 'skipped' }]);
      expect(s.decisions[0].reason).toMatch(new RegExp(`^in progress: decision ${busy.id} \\(safety\\) is still queued or running`));
      expect(s.action_jobs).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('a decision whose job is gone (Redis lost it) gets its job back and is carried out once; the next run does not act beside it', async () => {
    const t = await fleet({ actions: { dry_run: false, require_approval: false, cooldown_hours: 0 } });
    try {
      const lost = await makeDecision(t.db, { state: 'running', model: MODEL });
      // Its job was removed from the board (or Redis lost it) an hour ago; nobody holds its lease.
      await t.db.query(`UPDATE decisions SET updated_at = now() - interval '1 hour' WHERE id = $1`, [lost.id]);
      const data = await t.toxicRun(new Date());
      await t.f.queues.add('trigger', data, { jobId: `trigger.${data.run_id}` });
      const s = (await t.finished('trigger', `trigger.${data.run_id}`)).returnvalue as RunSummary;
      // One safety action per model at a time: the lost decision is in flight again.
      expect(s.decisions).toMatchObject([{ action: 'safety', state: 'skipped' }]);
      await t.finished('safety', `decision.${lost.id}`);
      const row = (await getDecision(t.db, lost.id))!;
      expect(row.state).toBe('succeeded');
      const policies = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM safety_policies WHERE decision_id = $1`, [lost.id]);
      expect(policies.rows[0].n).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('a job that fails for good outside its processor (stalled too often) marks its decision failed; a retry from the board runs it again', async () => {
    const prefix = uniquePrefix('once');
    const dep = deployment({ worker: { lock_duration_ms: 1000, stalled_interval_ms: 300, max_stalled_count: 0 }, queues: { safety: { attempts: 3 } } });
    const f = redisFixture(prefix, dep);
    const db = await sharedDb();
    const ctx = testContext({ db, queues: f.queues, deployment: dep });
    const stuck: Worker[] = [];
    try {
      const d = await makeDecision(db, { state: 'queued', model: 'stall-bot' });
      // A worker that takes the job and then stops renewing its lock, as a frozen process would.
      const frozen = registerProcessor('safety', () => new Promise(() => {}), { connection: f.worker, prefix, deployment: dep, logger: quietLogger });
      stuck.push(frozen);
      await f.queues.add('safety', { decision_id: d.id }, { jobId: `decision.${d.id}` });
      await waitFor(async () => (await f.queues.get('safety').getJobState(`decision.${d.id}`)) === 'active', 'the frozen worker to take the job');
      void frozen.close(true);
      stuck.push(...(await startWorkers(ctx, f.worker, ['safety'])));
      const failed = await waitFor(async () => {
        const row = await getDecision(db, d.id);
        return row?.state === 'failed' ? row : undefined;
      }, 'the decision to be marked failed', 15_000);
      expect(String(failed.result?.error)).toMatch(/stalled/);
      expect(await f.queues.get('safety').getJobState(`decision.${d.id}`)).toBe('failed');

      // The operator retries it from Bull Board (the board calls job.retry): the action runs again, once.
      await (await f.queues.get('safety').getJob(`decision.${d.id}`))!.retry('failed');
      await waitFor(async () => (await getDecision(db, d.id))?.state === 'succeeded', 'the retried decision to succeed', 15_000);
      expect((await db.query('SELECT 1 FROM safety_policies WHERE decision_id = $1', [d.id])).rows).toHaveLength(1);
    } finally {
      await f.cleanup(stuck);
    }
  });

  it('the cooldown comes from the configuration: with cooldown_hours 0 both runs act', async () => {
    const t = await fleet({ actions: { dry_run: false, require_approval: false, cooldown_hours: 0 } });
    try {
      const now = Date.now();
      const ids: number[] = [];
      // One after the other: each finds the previous action finished (one at a time per model) and, with no cooldown, acts.
      for (const at of [now - 60_000, now]) {
        const d = await t.toxicRun(new Date(at));
        await t.f.queues.add('trigger', d, { jobId: `trigger.${d.run_id}` });
        const summary = (await t.finished('trigger', `trigger.${d.run_id}`)).returnvalue as RunSummary;
        expect(summary.decisions.map((x) => x.state)).toEqual(['queued']);
        ids.push(summary.decisions[0].id);
        await t.finished('safety', `decision.${ids.at(-1)}`);
      }
      expect((await t.policies()).sort()).toEqual([...ids].sort());
    } finally {
      await t.close();
    }
  });
});

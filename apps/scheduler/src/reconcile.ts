import { Job } from 'bullmq';
import {
  closeRun,
  ensureActionJob,
  jobIds,
  makeRunId,
  reconciledTotal,
  recordRunStarted,
  runsToRetry,
  startRun,
  transitionDecision,
  type AppContext,
  type DecisionRow,
} from '@driftwatch/core';
import { schedulerId, syncJobSchedulers } from './schedules.js';

/**
 * The reconciler: what the database says should exist, made to exist in Redis. It runs
 * in the scheduler role at start and every `reconciler.interval_ms`, and repairs what a
 * Redis that lost its data (a restart without persistence, a failover) or an outage
 * longer than the jobs' retries leaves behind:
 *
 * 1. job schedulers: a model whose scheduler is missing gets it back, so its cron fires again;
 * 2. action decisions: a queued or running decision whose job is gone gets its job back under
 *    its id (the action claims the decision again and carries on: a fine-tune resumes polling
 *    the provider job it recorded, found by its idempotency key, instead of starting another);
 *    one whose job ended without the decision saying so is marked failed with the reason;
 * 3. runs: a run that ended incomplete (a monitor failed beyond its retries) or that never
 *    finished (its trigger failed or vanished) is started again for the same tick, up to
 *    `reconciler.max_run_attempts`, then recorded as abandoned with its failures.
 *
 * Each repair is counted in driftwatch_reconciled_total{what} and logged. Pure repair, no
 * new work: the same tick's windows, the same decisions (dedup_key keeps a retried run from
 * deciding an action twice), the same job ids.
 */
export interface ReconcileReport {
  schedulers_recreated: string[];
  jobs_reenqueued: number[];
  decisions_failed: number[];
  runs_retried: string[];
  runs_abandoned: string[];
}

export async function reconcile(ctx: AppContext): Promise<ReconcileReport> {
  const report: ReconcileReport = { schedulers_recreated: [], jobs_reenqueued: [], decisions_failed: [], runs_retried: [], runs_abandoned: [] };
  const cfg = ctx.deployment.reconciler;

  // 1. Job schedulers.
  const pipeline = ctx.queues.get('pipeline');
  const missing: string[] = [];
  for (const m of ctx.config.models) if (!(await pipeline.getJobScheduler(schedulerId(m.name, ctx.queues.owner)))) missing.push(m.name);
  if (missing.length) {
    await syncJobSchedulers(ctx);
    report.schedulers_recreated = missing;
    reconciledTotal.inc({ what: 'schedule' }, missing.length);
  }

  // 2. Action decisions.
  const { rows } = await ctx.db.query<DecisionRow>(`SELECT * FROM decisions WHERE state IN ('queued', 'running') ORDER BY id LIMIT 500`);
  for (const d of rows) {
    const outcome = await ensureActionJob(ctx.queues, d);
    if (outcome === 're-enqueued') {
      report.jobs_reenqueued.push(d.id);
      reconciledTotal.inc({ what: 'action_job' });
    } else if (outcome !== 'live') {
      // Read again: the job may have finished the decision between the two reads.
      const marked = await transitionDecision(ctx.db, d.id, [d.state], 'failed', { result: { ...(d.result ?? {}), error: outcome } });
      if (marked) {
        report.decisions_failed.push(d.id);
        reconciledTotal.inc({ what: 'decision_failed' });
      }
    }
  }

  // 3. Runs.
  for (const run of await runsToRetry(ctx.db, cfg.run_stuck_after_ms)) {
    if (run.state === 'started') {
      // Still in Redis and not failed: leave it to the fleet.
      const trigger = await Job.fromId(ctx.queues.get('trigger'), jobIds.trigger(run.run_id, ctx.queues.owner));
      const state = trigger ? await trigger.getState() : 'missing';
      if (state !== 'failed' && state !== 'missing' && state !== 'completed') continue;
    }
    if (run.attempt >= cfg.max_run_attempts) {
      if (await closeRun(ctx.db, run.run_id, 'abandoned', { abandoned: `gave up after ${run.attempt} attempts` })) {
        report.runs_abandoned.push(run.run_id);
        reconciledTotal.inc({ what: 'run_abandoned' });
        ctx.logger.error({ run: run.run_id, model: run.model, failures: run.failures }, `run abandoned after ${run.attempt} attempts; the next tick runs the model again`);
      }
      continue;
    }
    // Close this attempt first: two schedulers reconciling at once retry a run once.
    if (!(await closeRun(ctx.db, run.run_id, 'abandoned', { retried: true }))) continue;
    const attempt = run.attempt + 1;
    const tick = new Date(run.tick);
    const retryId = `${makeRunId(run.model, tick)}-r${attempt}`;
    await recordRunStarted(ctx.db, { run_id: retryId, model: run.model, tick, dry_run: run.dry_run, attempt, retry_of: run.run_id });
    await startRun(ctx.queues, { model: run.model, now: tick, dry_run: run.dry_run, run_id: retryId });
    report.runs_retried.push(retryId);
    reconciledTotal.inc({ what: 'run_retried' });
    ctx.logger.warn({ run: run.run_id, retry: retryId, failures: run.failures }, 'run did not finish: started again for the same tick');
  }
  return report;
}

/** Runs reconcile now and every interval; errors (a database or Redis still down) are logged and retried at the next interval. */
export function startReconciler(ctx: AppContext): { stop(): void; runNow(): Promise<ReconcileReport | null> } {
  let busy: Promise<ReconcileReport | null> | null = null;
  const runNow = () => {
    busy ??= reconcile(ctx)
      .then((r) => {
        const repaired = r.schedulers_recreated.length + r.jobs_reenqueued.length + r.decisions_failed.length + r.runs_retried.length + r.runs_abandoned.length;
        if (repaired) ctx.logger.warn(r, 'reconciler repaired what Redis or an outage had lost');
        return r;
      })
      .catch((e) => {
        ctx.logger.warn({ err: (e as Error).message }, 'reconcile failed; trying again at the next interval');
        return null;
      })
      .finally(() => {
        busy = null;
      });
    return busy;
  };
  const timer = setInterval(() => void runNow(), ctx.deployment.reconciler.interval_ms);
  timer.unref();
  return { stop: () => clearInterval(timer), runNow };
}

import express, { type NextFunction, type Request, type Response } from 'express';
import { Job } from 'bullmq';
import { PermanentError, jobIds, makeRunId, recordRunStarted, runsOf, startRun, type AppContext, type QueueName } from '@driftwatch/core';
import { requireScope } from './auth.js';

/** The state of one action job a run's trigger enqueued. */
export interface ActionJobState {
  queue: string;
  job_id: string;
  /** BullMQ's state, or 'removed' when the job is gone. */
  job_state: string;
  /** How many times a worker started it (a delayed job that started waits on its provider or a retry). */
  attempts_started: number;
  /** What the job returned, when completed. */
  result?: Record<string, unknown>;
  /** Why it failed, when failed. */
  error?: string;
}

/** GET /v1/runs/:run_id: where a run is now. */
export interface RunStatus {
  run_id: string;
  trigger_job_id: string;
  /** The trigger job's state ('removed' when the job is gone). */
  state: string;
  /** The trigger's summary (RunSummary of apps/workers), once it completed. */
  summary: Record<string, unknown> | null;
  /** Why the trigger failed, when it did. */
  error: string | null;
  /** The action jobs of the summary, each with its state now. */
  actions: ActionJobState[];
  /** The monitors' stored results of this run so far (drift_runs). */
  drift_runs: unknown[];
}

class NotFound extends Error {}

/**
 * Runs on demand (admin):
 * - POST /v1/runs {model, dry_run?}: starts a run of a monitored model now (the same flow
 *   as a cron tick: three monitors, then the trigger, then its actions on this fleet's
 *   workers); 202 {run_id, trigger_job_id, model, dry_run, status_url, warning?} (warning: no
 *   worker takes monitor or trigger jobs now, so the run waits).
 * - GET /v1/runs/:run_id: the run's trigger state and summary, its action jobs' states and
 *   its stored monitor results. `driftwatch run-once` uses both while `start` holds the
 *   embedded database.
 * Authentication runs before the body is parsed.
 */
export function runsRouter(ctx: AppContext): express.Router {
  const r = express.Router();
  const admin = requireScope(ctx, 'admin');
  const json = express.json({ limit: '10kb' });
  // The trigger job id of the runs this process started (a run of the cron or of another process: derived).
  const started = new Map<string, string>();

  r.post('/v1/runs', admin, json, async (req, res) => {
    const body = (req.body ?? {}) as { model?: unknown; dry_run?: unknown };
    if (typeof body.model !== 'string' || !body.model.trim()) throw new PermanentError(`model: expected the name of a monitored model (${ctx.config.models.map((m) => m.name).join(', ')})`);
    if (!ctx.config.models.some((m) => m.name === body.model)) throw new NotFound(`model: "${body.model}" is not a monitored model (configured: ${ctx.config.models.map((m) => m.name).join(', ')})`);
    if (body.dry_run !== undefined && typeof body.dry_run !== 'boolean') throw new PermanentError('dry_run: expected true or false');
    const dry_run = body.dry_run === true;
    const now = ctx.clock.now();
    // Recorded first, as a tick is: a run that fails beyond its retries is started again by the reconciler.
    await recordRunStarted(ctx.db, { run_id: makeRunId(body.model, now), model: body.model, tick: now, dry_run });
    const { run_id, trigger_job_id } = await startRun(ctx.queues, { model: body.model, now, dry_run });
    if (started.size > 10_000) started.clear();
    started.set(run_id, trigger_job_id);
    // A run nobody can take (a `scheduler` alone on an embedded database) waits: say so now, not at the timeout.
    const idle = (await Promise.all((['monitor', 'trigger'] as const).map(async (q) => ((await ctx.queues.get(q).getWorkersCount().catch(() => -1)) === 0 ? q : null)))).filter(Boolean);
    const warning = idle.length ? `no worker takes ${idle.join(' or ')} jobs now: the run waits until one does (driftwatch start, or driftwatch worker --queues monitor,trigger)` : undefined;
    ctx.logger.info({ run_id, model: body.model, dry_run, by: res.locals.principal?.name, warning }, 'run started over HTTP');
    res.status(202).json({ run_id, trigger_job_id, model: body.model, dry_run: dry_run || ctx.config.actions.dry_run, status_url: `/v1/runs/${encodeURIComponent(run_id)}`, ...(warning ? { warning } : {}) });
  });

  r.get('/v1/runs/:run_id', admin, async (req, res) => {
    const run_id = String(req.params.run_id);
    const trigger_job_id = started.get(run_id) ?? jobIds.trigger(run_id, ctx.queues.owner);
    const { job, state } = await jobNow(ctx, 'trigger', trigger_job_id);
    const drift_runs = await runsOf(ctx.db, run_id);
    if (!job && drift_runs.length === 0) throw new NotFound(`no run "${run_id}" (its trigger job ${trigger_job_id} is not in the queue and it stored no result)`);
    const summary = state === 'completed' ? ((job!.returnvalue ?? null) as RunStatus['summary']) : null;
    const actionJobs = ((summary?.action_jobs ?? []) as { queue: string; job_id: string }[]).map((a) => actionState(ctx, a));
    const out: RunStatus = {
      run_id,
      trigger_job_id,
      state,
      summary,
      error: state === 'failed' ? (job!.failedReason ?? 'failed') : null,
      actions: await Promise.all(actionJobs),
      drift_runs,
    };
    res.json(out);
  });

  r.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (err instanceof NotFound) res.status(404).json({ error: err.message });
    else if (err instanceof PermanentError) res.status(400).json({ error: err.message });
    else if ((err as { type?: string }).type === 'entity.parse.failed') res.status(400).json({ error: 'body is not valid JSON' });
    else next(err);
  });
  return r;
}

/**
 * A job and its state, read in that order: a job read before it finished has no return
 * value yet, so a finished one is read again after its state says so.
 */
async function jobNow(ctx: AppContext, queue: QueueName, id: string): Promise<{ job: Job | undefined; state: string }> {
  const q = ctx.queues.get(queue);
  let job = await Job.fromId(q, id);
  if (!job) return { job, state: 'removed' };
  const state = await job.getState();
  if (state === 'completed' || state === 'failed') job = (await Job.fromId(q, id)) ?? job;
  return { job, state };
}

async function actionState(ctx: AppContext, a: { queue: string; job_id: string }): Promise<ActionJobState> {
  const { job, state: job_state } = await jobNow(ctx, a.queue as QueueName, a.job_id);
  if (!job) return { queue: a.queue, job_id: a.job_id, job_state: 'removed', attempts_started: 0 };
  return {
    queue: a.queue,
    job_id: a.job_id,
    job_state,
    attempts_started: job.attemptsStarted ?? 0,
    ...(job_state === 'completed' ? { result: (job.returnvalue ?? {}) as Record<string, unknown> } : {}),
    ...(job_state === 'failed' ? { error: job.failedReason } : {}),
  };
}

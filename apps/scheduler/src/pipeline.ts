import { makeRunId, recordRunStarted, runnableAt, startRun, type AppContext, type Processor } from '@driftwatch/core';

/**
 * A scheduler tick: start the run's flow. The run's "now" is the tick the job was
 * scheduled for (runnableAt): a job scheduler creates each tick's job at the previous
 * tick, so job.timestamp would make every run judge windows one cron period old. The
 * tick is fixed in the job, so a retried or late-picked tick starts the same run (same
 * ids) with the same windows, not a second one.
 */
export function pipelineProcessor(ctx: AppContext): Processor<'pipeline', { run_id: string }> {
  return async (job, data) => {
    const now = new Date(runnableAt(job));
    const dry_run = data.dry_run ?? false;
    // Recorded first: a run whose monitors or trigger fail beyond their retries (a long
    // database or Redis outage) is started again by the reconciler, not lost until the next tick.
    await recordRunStarted(ctx.db, { run_id: makeRunId(data.model, now), model: data.model, tick: now, dry_run });
    const { run_id } = await startRun(ctx.queues, { model: data.model, now, dry_run });
    return { run_id };
  };
}

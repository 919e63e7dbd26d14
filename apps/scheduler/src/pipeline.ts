import { runnableAt, startRun, type AppContext, type Processor } from '@driftwatch/core';

/**
 * A scheduler tick: start the run's flow. The run's "now" is the tick the job was
 * scheduled for (runnableAt): a job scheduler creates each tick's job at the previous
 * tick, so job.timestamp would make every run judge windows one cron period old. The
 * tick is fixed in the job, so a retried or late-picked tick starts the same run (same
 * ids) with the same windows, not a second one.
 */
export function pipelineProcessor(ctx: AppContext): Processor<'pipeline', { run_id: string }> {
  return async (job, data) => {
    const { run_id } = await startRun(ctx.queues, { model: data.model, now: new Date(runnableAt(job)), dry_run: data.dry_run ?? false });
    return { run_id };
  };
}

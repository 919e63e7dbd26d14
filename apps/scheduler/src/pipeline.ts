import { startRun, type AppContext, type Processor } from '@driftwatch/core';

/**
 * A scheduler tick: start the run's flow. The run's "now" is the tick job's creation
 * time, so a retried tick starts the same run (same ids), not a second one.
 */
export function pipelineProcessor(ctx: AppContext): Processor<'pipeline', { run_id: string }> {
  return async (job, data) => {
    const { run_id } = await startRun(ctx.queues, { model: data.model, now: new Date(job.timestamp), dry_run: data.dry_run ?? false });
    return { run_id };
  };
}

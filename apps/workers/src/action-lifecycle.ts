import type { Worker } from 'bullmq';
import {
  WaitForExternalError,
  actionInFlight,
  getDecision,
  isFinalFailure,
  lockModelDecisions,
  transitionDecision,
  type ActionKind,
  type AppContext,
  type Processor,
} from '@driftwatch/core';
import { actionProcessor } from './processors/action.js';

/**
 * The action processor, plus what makes a retry from Bull Board (or its API) do what
 * an operator means: the job of a failed decision runs only when someone retried it,
 * so its decision is queued again first (the previous error kept in its result) and
 * the action runs once more. A decision that succeeded is never run again. While
 * another action of the same kind runs for the model, the retried job waits in delayed.
 */
export function actionWithRetries(ctx: AppContext, action: ActionKind): Processor<ActionKind> {
  const run = actionProcessor(ctx, action);
  return async (job, data, helpers) => {
    const d = await getDecision(ctx.db, data.decision_id);
    if (d?.state === 'failed' && d.action === action) {
      const requeued = await ctx.db.transaction(async (tx) => {
        await lockModelDecisions(tx, d.model);
        const busy = await actionInFlight(tx, ctx.queues, d.model, d.action, d.id);
        if (busy) return busy;
        await transitionDecision(tx, d.id, ['failed'], 'queued', { result: { ...(d.result ?? {}), retried_at: new Date().toISOString(), previous_error: d.result?.error ?? null } });
        return null;
      });
      if (requeued) {
        throw new WaitForExternalError(`retried decision ${d.id} waits: decision ${requeued.id} (${action} for ${d.model}) is still ${requeued.state}`, ctx.deployment.queues[action].poll_interval_ms);
      }
      helpers.log.info({ decision: d.id }, 'failed decision retried: queued again');
    }
    return run(job, data, helpers);
  };
}

/**
 * A job can fail for good outside its processor (stalled too often, an invalid
 * payload): its decision must say so, or it would look in flight forever.
 */
export function markDecisionsOfFailedJobs(ctx: AppContext, worker: Worker): void {
  worker.on('failed', (job, err) => {
    const id = Number((job?.data as { decision_id?: unknown } | undefined)?.decision_id);
    if (!job || !Number.isInteger(id) || !isFinalFailure(job, err)) return;
    transitionDecision(ctx.db, id, ['queued', 'running'], 'failed', { result: { error: err.message } }).catch((e) =>
      ctx.logger.error({ err: (e as Error).message, decision: id }, 'could not mark the decision of a failed job as failed'),
    );
  });
}

import {
  ACTION_RUNNERS,
  PermanentError,
  RateLimitedError,
  WaitForExternalError,
  getDecision,
  transitionDecision,
  type ActionKind,
  type AppContext,
  type Processor,
} from '@driftwatch/core';


/**
 * An action job: claims its decision (queued -> running; a retry after a crash finds
 * it running and carries on), runs the action, stores the outcome. A decision that
 * already finished is not run again, whatever job points at it.
 */
export function actionProcessor(ctx: AppContext, action: ActionKind): Processor<ActionKind> {
  return async (job, data, { log }) => {
    const decision = await getDecision(ctx.db, data.decision_id);
    if (!decision) throw new PermanentError(`decision ${data.decision_id} does not exist`);
    if (decision.action !== action) throw new PermanentError(`decision ${decision.id} is a ${decision.action} decision, not ${action}`);
    const claimed = await transitionDecision(ctx.db, decision.id, ['queued', 'running'], 'running');
    if (!claimed) {
      log.info({ decision: decision.id, state: decision.state }, 'decision is no longer runnable; nothing to do');
      return { decision_id: decision.id, state: decision.state, skipped: true };
    }
    try {
      const result = await ACTION_RUNNERS[action](ctx, claimed);
      await transitionDecision(ctx.db, decision.id, ['running'], 'succeeded', { result });
      // Action events (retrain_events_total, ...) are counted from the decisions table by the scheduler
      // (metrics/of-record.ts); a runner may name a finer outcome in result.outcome (promoted, rejected, held).
      return { decision_id: decision.id, state: 'succeeded', result };
    } catch (e) {
      // Paused or waiting on the provider: the decision stays running and the job comes back.
      if (e instanceof RateLimitedError || e instanceof WaitForExternalError) throw e;
      const final = e instanceof PermanentError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (final) {
        // Keep the progress the runner recorded (a fine-tune's job id) next to the error.
        const progress = (await getDecision(ctx.db, decision.id))?.result ?? {};
        await transitionDecision(ctx.db, decision.id, ['running'], 'failed', { result: { ...progress, error: (e as Error).message } });
      }
      throw e;
    }
  };
}

import { hostname } from 'node:os';
import {
  notifyActionOutcome,
  ACTION_RUNNERS,
  PermanentError,
  RateLimitedError,
  WaitForExternalError,
  claimDecision,
  finishClaim,
  getDecision,
  leaseRemainingMs,
  releaseClaim,
  renewClaim,
  type ActionKind,
  type AppContext,
  type Processor,
} from '@driftwatch/core';


/**
 * An action job: claims its decision with a fencing token (queued -> running, or a
 * running decision whose claimant's lease ran out: a retry after a crash carries on),
 * renews the lease while the action runs, and stores the outcome only while the claim
 * is still its own. A decision that already finished is not run again, whatever job
 * points at it; a decision that another live job holds makes this job wait.
 */
export function actionProcessor(ctx: AppContext, action: ActionKind): Processor<ActionKind> {
  const leaseMs = ctx.deployment.worker.lock_duration_ms;
  return async (job, data, { log, token }) => {
    const decision = await getDecision(ctx.db, data.decision_id);
    if (!decision) throw new PermanentError(`decision ${data.decision_id} does not exist`);
    if (decision.action !== action) throw new PermanentError(`decision ${decision.id} is a ${decision.action} decision, not ${action}`);
    const claim = await claimDecision(ctx.db, decision.id, `${hostname()}:${process.pid}:${job.id}:${token ?? ''}`, leaseMs);
    if (!claim) {
      const held = await leaseRemainingMs(ctx.db, decision.id);
      if (held !== null) throw new WaitForExternalError(`decision ${decision.id} is held by another job for ${held} ms more`, held + 250);
      const now = await getDecision(ctx.db, decision.id);
      log.info({ decision: decision.id, state: now?.state }, 'decision is no longer runnable; nothing to do');
      return { decision_id: decision.id, state: now?.state ?? decision.state, skipped: true };
    }
    const { fence } = claim;
    let lost = false;
    const heartbeat = setInterval(() => {
      renewClaim(ctx.db, decision.id, fence, leaseMs)
        .then((ok) => {
          if (!ok && !lost) {
            lost = true;
            log.warn({ decision: decision.id, fence }, 'claim lost: another job took this decision over; this job will record nothing');
          }
        })
        .catch(() => {});
    }, Math.max(100, Math.floor(leaseMs / 3)));
    heartbeat.unref();
    try {
      const result = await ACTION_RUNNERS[action](ctx, claim.decision);
      const done = await finishClaim(ctx.db, decision.id, fence, 'succeeded', result);
      if (!done) {
        // The runner moved the decision on itself (a fine-tune parked for approval of its cost), or
        // another job took the claim over (then that job records the outcome, not this one).
        const now = await getDecision(ctx.db, decision.id);
        if (now && Number((now as { fence?: number }).fence) === fence) return { decision_id: decision.id, state: now.state, result };
        log.warn({ decision: decision.id, fence }, 'claim lost before the outcome was recorded; the job that took over records it');
        return { decision_id: decision.id, state: 'superseded', superseded: true };
      }
      // Action events (retrain_events_total, ...) are counted from the decisions table by the scheduler
      // (metrics/of-record.ts); a runner may name a finer outcome in result.outcome (promoted, rejected, held).
      await notifyActionOutcome(ctx, decision, 'succeeded', result);
      return { decision_id: decision.id, state: 'succeeded', result };
    } catch (e) {
      // Paused or waiting on the provider: the decision stays running, unleased, and the job comes back.
      if (e instanceof RateLimitedError || e instanceof WaitForExternalError) {
        await releaseClaim(ctx.db, decision.id, fence);
        throw e;
      }
      const final = e instanceof PermanentError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (final) {
        // Keep the progress the runner recorded (a fine-tune's job id) next to the error.
        const progress = (await getDecision(ctx.db, decision.id))?.result ?? {};
        if (await finishClaim(ctx.db, decision.id, fence, 'failed', { ...progress, error: (e as Error).message })) await notifyActionOutcome(ctx, decision, 'failed', { error: (e as Error).message });
      } else {
        await releaseClaim(ctx.db, decision.id, fence);
      }
      throw e;
    } finally {
      clearInterval(heartbeat);
    }
  };
}

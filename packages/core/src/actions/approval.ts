import { PermanentError } from '../errors.js';
import { getDecision, inFlightDecision, transitionDecision, type DecisionRow } from '../db/repo/decisions.js';
import { jobIds } from '../queues/catalog.js';
import type { Db, Queryable } from '../db/types.js';
import type { ActionKind } from '../policy/types.js';
import type { Queues } from '../queues/queues.js';

export class DecisionNotFoundError extends PermanentError {
  override name = 'DecisionNotFoundError';
}
export class DecisionStateError extends PermanentError {
  override name = 'DecisionStateError';
}

async function mustBeAwaiting(db: Db, id: number, verb: string): Promise<DecisionRow> {
  const d = await getDecision(db, id);
  if (!d) throw new DecisionNotFoundError(`decision ${id} does not exist; list them with \`driftwatch decisions\``);
  if (d.state !== 'awaiting_approval') throw new DecisionStateError(`decision ${id} is ${d.state}, not awaiting_approval; only waiting decisions can be ${verb}`);
  return d;
}

/**
 * Serializes everything that decides whether a model acts (the trigger's policy,
 * approvals) until the end of the caller's transaction.
 */
export async function lockModelDecisions(tx: Queryable, model: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`driftwatch.decide.${model}`]);
}

const LIVE_JOB_STATES = new Set(['waiting', 'prioritized', 'active', 'delayed', 'waiting-children']);

/**
 * The decision of this model and action that is really in flight: queued or running in
 * the database, with its queue job still waiting, active or delayed (a fine-tune
 * polling its provider included). A decision whose job is gone (Redis lost it, someone
 * removed it from the board) gets its job back at once (the action claims the decision
 * again and carries on; see the reconciler); one whose job ended without the decision
 * saying so (the job stalled too often) is marked failed with the reason, so it no
 * longer holds back the model's actions.
 */
export async function actionInFlight(db: Queryable, queues: Queues, model: string, action: ActionKind, except?: number): Promise<DecisionRow | null> {
  for (;;) {
    const d = await inFlightDecision(db, model, action, except);
    if (!d) return null;
    const state = await ensureActionJob(queues, d);
    if (state === 'live' || state === 're-enqueued') return d;
    await transitionDecision(db, d.id, ['queued', 'running'], 'failed', { result: { ...(d.result ?? {}), error: state } });
  }
}

/**
 * Makes sure a queued or running decision has its action job: 'live' when it has one,
 * 're-enqueued' when it was gone and has been added again under its id, or the reason
 * it can never run (its job ended failed or completed while the decision still says
 * otherwise).
 */
export async function ensureActionJob(queues: Queues, d: Pick<DecisionRow, 'id' | 'action' | 'state' | 'priority'>): Promise<'live' | 're-enqueued' | string> {
  const id = jobIds.action(d.id, queues.owner);
  const job = await queues.get(d.action).getJob(id);
  const state = job ? await job.getState() : 'unknown';
  if (LIVE_JOB_STATES.has(state)) return 'live';
  if (state === 'unknown') {
    await queues.add(d.action, { decision_id: d.id }, { jobId: id, priority: Math.max(1, 1000 - d.priority) });
    return 're-enqueued';
  }
  return `its queue job ${id} ended ${state}${job?.failedReason ? ` (${job.failedReason})` : ''} while the decision was ${d.state}`;
}

/**
 * awaiting_approval -> queued, recording who and when, and enqueues the action job.
 * Refused while another decision of the same model and action is queued or running.
 */
export async function approveDecision(db: Db, queues: Queues, id: number, by: string): Promise<DecisionRow> {
  const d = await mustBeAwaiting(db, id, 'approved');
  // Under the model's decision lock (as the trigger decides): two approvals at once must see each other.
  const row = await db.transaction(async (tx) => {
    await lockModelDecisions(tx, d.model);
    // At most one action of a kind per model at a time (a fine-tune may run for hours).
    const busy = await actionInFlight(tx, queues, d.model, d.action, d.id);
    if (busy) {
      throw new DecisionStateError(
        `decision ${busy.id} (${busy.action} for ${busy.model}) is still ${busy.state}; approve decision ${id} once it has finished, or reject it`,
      );
    }
    return transitionDecision(tx, id, ['awaiting_approval'], 'queued', { decided_by: by });
  });
  if (!row) throw new DecisionStateError(`decision ${id} was changed by someone else meanwhile; check \`driftwatch decisions\``);
  // A decision that went back to waiting while it ran (a fine-tune over its cost limit) left its
  // finished job under the decision's job id: remove it, or adding the job again would be a no-op.
  const old = await queues.get(row.action).getJob(jobIds.action(row.id, queues.owner));
  if (old && ['completed', 'failed'].includes(await old.getState())) await old.remove();
  await queues.add(row.action, { decision_id: row.id }, { jobId: jobIds.action(row.id, queues.owner), priority: Math.max(1, 1000 - row.priority) });
  return row;
}

/** awaiting_approval -> rejected, recording who and when. */
export async function rejectDecision(db: Db, id: number, by: string): Promise<DecisionRow> {
  await mustBeAwaiting(db, id, 'rejected');
  const row = await transitionDecision(db, id, ['awaiting_approval'], 'rejected', { decided_by: by });
  if (!row) throw new DecisionStateError(`decision ${id} was changed by someone else meanwhile; check \`driftwatch decisions\``);
  return row;
}

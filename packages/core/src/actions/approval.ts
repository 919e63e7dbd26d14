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
/** A decision whose job vanished this long ago is given up (a just-stored one may not have its job yet). */
const LOST_JOB_GRACE_MS = 5 * 60_000;

/**
 * The decision of this model and action that is really in flight: queued or running in
 * the database, with its queue job still waiting, active or delayed (a fine-tune
 * polling its provider included). A decision whose job is over or gone without the
 * decision saying so (the job stalled too often, was removed from the board, Redis lost
 * it) is marked failed with the reason, so it no longer holds back the model's actions.
 */
export async function actionInFlight(db: Queryable, queues: Queues, model: string, action: ActionKind, except?: number): Promise<DecisionRow | null> {
  for (;;) {
    const d = await inFlightDecision(db, model, action, except);
    if (!d) return null;
    const job = await queues.get(d.action).getJob(jobIds.action(d.id));
    const state = job ? await job.getState() : 'unknown';
    if (LIVE_JOB_STATES.has(state)) return d;
    if (state === 'unknown' && Date.now() - new Date(d.updated_at).getTime() < LOST_JOB_GRACE_MS) return d;
    const why =
      state === 'unknown'
        ? `its queue job ${jobIds.action(d.id)} is gone (removed from the board, or Redis lost it) while the decision was ${d.state}`
        : `its queue job ${jobIds.action(d.id)} ended ${state}${job?.failedReason ? ` (${job.failedReason})` : ''} while the decision was ${d.state}`;
    await transitionDecision(db, d.id, ['queued', 'running'], 'failed', { result: { ...(d.result ?? {}), error: why } });
  }
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
  await queues.add(row.action, { decision_id: row.id }, { jobId: jobIds.action(row.id), priority: Math.max(1, 1000 - row.priority) });
  return row;
}

/** awaiting_approval -> rejected, recording who and when. */
export async function rejectDecision(db: Db, id: number, by: string): Promise<DecisionRow> {
  await mustBeAwaiting(db, id, 'rejected');
  const row = await transitionDecision(db, id, ['awaiting_approval'], 'rejected', { decided_by: by });
  if (!row) throw new DecisionStateError(`decision ${id} was changed by someone else meanwhile; check \`driftwatch decisions\``);
  return row;
}

import type { Logger } from 'pino';
import type { DriftConfig } from '../config/schema.js';
import type { Queues } from '../queues/queues.js';
import type { DecisionRow } from '../db/repo/decisions.js';
import type { Notification, NotifyEvent } from './events.js';

/** What emitting needs: the config's webhooks, the queues and a logger (an AppContext has them). */
export interface NotifyContext {
  config: Pick<DriftConfig, 'notifications'>;
  queues: Queues;
  logger: Logger;
}

const safeId = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

/**
 * Queues one notification for every webhook subscribed to its type (queue `notify`,
 * delivered and retried by a worker). Never throws and never waits more than `timeoutMs`
 * for Redis: a notification must not hold up or fail the run that emits it. Returns how
 * many deliveries were queued.
 */
export async function emitNotification(ctx: NotifyContext, n: Omit<Notification, 'at'> & { at?: string }, timeoutMs = 2000): Promise<number> {
  const hooks = (ctx.config.notifications?.webhooks ?? []).filter((h) => h.events.includes(n.type as NotifyEvent));
  if (!hooks.length) return 0;
  const notification: Notification = { ...n, id: safeId(n.id), at: n.at ?? new Date().toISOString(), details: n.details ?? {} };
  const add = Promise.all(
    hooks.map((h, i) => ctx.queues.add('notify', { webhook_url: h.url, notification }, { jobId: `notify.${notification.id}.${i}` })),
  ).then(() => hooks.length);
  try {
    return await Promise.race([add, new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`queueing took over ${timeoutMs} ms`)), timeoutMs).unref())]);
  } catch (e) {
    ctx.logger.warn({ err: (e as Error).message, notification: notification.id }, 'notification not queued');
    return 0;
  }
}

/** Drift found in a run (the trigger calls it once per run with drift). */
export function notifyDriftDetected(ctx: NotifyContext, r: { model: string; run_id: string; overall_score: number; monitors: { monitor: string; score: number; p_value: number | null; reason: string }[] }) {
  const which = r.monitors.map((m) => `${m.monitor} ${m.score.toFixed(2)}`).join(', ');
  return emitNotification(ctx, { id: `drift.${r.run_id}`, type: 'drift_detected', model: r.model, summary: `drift detected in run ${r.run_id} (overall score ${r.overall_score.toFixed(2)}: ${which})`, details: r });
}

/** A decision waits for a human (with the command that approves it). */
export function notifyAwaitingApproval(ctx: NotifyContext, d: Pick<DecisionRow, 'id' | 'model' | 'action' | 'reason'>) {
  const approve = `driftwatch approve ${d.id}`;
  return emitNotification(ctx, { id: `approval.${d.id}`, type: 'awaiting_approval', model: d.model, summary: `${d.action} of ${d.model} awaits approval: ${d.reason}`, details: { decision_id: d.id, action: d.action, reason: d.reason, approve_command: approve, reject_command: `driftwatch reject ${d.id}` } });
}

/** An action finished: succeeded (with the runner's finer outcome) or failed for good. */
export function notifyActionOutcome(ctx: NotifyContext, d: Pick<DecisionRow, 'id' | 'model' | 'action'>, state: 'succeeded' | 'failed', result: Record<string, unknown> = {}) {
  const outcome = typeof result.outcome === 'string' ? result.outcome : state;
  const err = state === 'failed' && typeof result.error === 'string' ? `: ${result.error}` : '';
  return emitNotification(ctx, { id: `outcome.${d.id}.${state}`, type: 'action_outcome', model: d.model, summary: `${d.action} of ${d.model} (decision ${d.id}) ${outcome}${err}`, details: { decision_id: d.id, action: d.action, state, outcome } });
}

/** The evaluation gate's verdict on a candidate (issue 9's gate calls it). */
export function notifyGateVerdict(ctx: NotifyContext, v: { model: string; decision_id: number; version: string; verdict: string; candidate_accuracy?: number | null; incumbent_accuracy?: number | null; reason?: string }) {
  const acc = v.candidate_accuracy != null && v.incumbent_accuracy != null ? ` (candidate ${v.candidate_accuracy} vs incumbent ${v.incumbent_accuracy})` : '';
  return emitNotification(ctx, { id: `gate.${v.decision_id}.${v.version}`, type: 'gate_verdict', model: v.model, summary: `evaluation gate: ${v.version} ${v.verdict}${acc}${v.reason ? `: ${v.reason}` : ''}`, details: v });
}

/** A rollback was carried out (issue 8's rollback calls it, manual or automatic). */
export function notifyRollback(ctx: NotifyContext, r: { model: string; kind: 'model' | 'policy'; from?: string | null; to?: string | null; by: string; reason?: string; decision_id?: number | null }) {
  const id = `rollback.${r.decision_id ?? `${r.kind}.${r.from ?? 'none'}.${r.to ?? 'none'}.${Date.now()}`}`;
  return emitNotification(ctx, { id, type: 'rollback', model: r.model, summary: `${r.kind} of ${r.model} rolled back${r.from ? ` from ${r.from}` : ''}${r.to ? ` to ${r.to}` : ''} by ${r.by}${r.reason ? `: ${r.reason}` : ''}`, details: r });
}

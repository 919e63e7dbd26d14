import { approveDecision, listDecisions, rejectDecision, type Db, type DecisionRow, type DecisionState } from '@driftwatch/core';
import type { Runtime } from '../runtime.js';

/** The reason, and for a failed decision the error that ended it. */
function outcome(d: DecisionRow): string {
  const error = d.state === 'failed' && d.result && typeof d.result.error === 'string' ? ` -- failed: ${d.result.error}` : '';
  return d.reason + error;
}

export const DECISION_STATES: readonly DecisionState[] = ['queued', 'awaiting_approval', 'running', 'succeeded', 'failed', 'skipped', 'rejected'];

/** Recent decisions, newest first, as a table: who decided and when, and why. */
export function formatDecisions(rows: DecisionRow[]): string {
  if (rows.length === 0) return 'no decisions yet';
  const at = (t: Date | string | null) => (t ? new Date(t).toISOString().slice(0, 19) + 'Z' : '-');
  const head = ['ID', 'CREATED', 'MODEL', 'ACTION', 'STATE', 'BY', 'DECIDED', 'REASON'];
  const lines = rows.map((d) => [String(d.id), at(d.created_at), d.model, d.action, d.state, d.decided_by ?? '-', at(d.decided_at), outcome(d)]);
  const widths = head.map((h, i) => Math.min(40, Math.max(h.length, ...lines.map((l) => l[i].length))));
  const fmt = (cols: string[]) => cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [fmt(head), ...lines.map(fmt)].join('\n');
}

export async function decisionsCommand(db: Db, opts: { state?: string; model?: string; limit?: number }) {
  return listDecisions(db, { state: opts.state as DecisionState | undefined, model: opts.model, limit: opts.limit });
}

export async function approveCommand(rt: Runtime, id: number, by: string) {
  return approveDecision(rt.ctx.db, rt.ctx.queues, id, by);
}

export async function rejectCommand(rt: Runtime, id: number, by: string) {
  return rejectDecision(rt.ctx.db, id, by);
}

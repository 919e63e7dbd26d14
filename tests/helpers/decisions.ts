import type { Queryable } from '../../packages/core/src/db/types.js';
import { insertDecision, type DecisionRow, type DecisionState } from '../../packages/core/src/db/repo/decisions.js';
import type { ActionKind } from '../../packages/core/src/policy/types.js';

let seq = 0;

/** Stores a decision as the trigger would (a distinct window each), for tests of what happens after. */
export async function makeDecision(db: Queryable, o: { action?: ActionKind; state?: DecisionState; model?: string; reason?: string } = {}): Promise<DecisionRow> {
  const model = o.model ?? 'support-bot';
  const action = o.action ?? 'safety';
  const end = new Date(Date.UTC(2026, 0, 1) + ++seq * 3_600_000 + Math.floor(Math.random() * 1e6) * 1000);
  const start = new Date(end.getTime() - 7 * 86_400_000);
  const { row } = await insertDecision(db, {
    run_id: `test-${seq}-${Math.random().toString(36).slice(2, 8)}`,
    model,
    action,
    state: o.state ?? 'queued',
    priority: 350,
    reason: o.reason ?? `${action} because of behavior drift (test)`,
    dedup_key: `${model}|${action}|${start.toISOString()}|${end.toISOString()}`,
    window_start: start,
    window_end: end,
    details: {},
  });
  return row;
}

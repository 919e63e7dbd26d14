import type { MonitorResult } from '../monitors/types.js';
import type { ActionKind, PlannedDecision } from './types.js';

export interface PolicyInput {
  results: MonitorResult[];
  dry_run: boolean;
  require_approval: boolean;
  cooldown_hours: number;
  /** When each action last went ahead for this model (null: never), on the clock of `now` (a run's time). */
  last_acted: Partial<Record<ActionKind, Date | null>>;
  now: Date;
  /** Per action, the id of this model's decision that is still queued or running (null or absent: none). */
  in_flight?: Partial<Record<ActionKind, number | null>>;
}

const BASE_PRIORITY: Record<ActionKind, number> = { safety: 300, finetune: 200, reindex: 100 };

/** Names of the methods that flagged drift in a result. */
function flaggedMethods(r: MonitorResult): string[] {
  return Object.entries(r.methods)
    .filter(([, m]) => m.flagged)
    .map(([name]) => name);
}

/**
 * Which actions a run's monitor results call for (original design):
 * - embedding drift (the query distribution moved) -> reindex;
 * - accuracy drift -> finetune;
 * - behaviour drift with a flagged refusal rate -> finetune;
 * - behaviour drift with a flagged toxicity rate -> safety (tighten filters).
 * Error-rate or length-only behaviour drift is reported but calls for no action: a
 * fine-tune does not fix an outage. insufficient_data never leads to an action.
 */
export function actionsFor(results: MonitorResult[]): Map<ActionKind, MonitorResult[]> {
  const out = new Map<ActionKind, MonitorResult[]>();
  const add = (a: ActionKind, r: MonitorResult) => out.set(a, [...(out.get(a) ?? []), r]);
  for (const r of results) {
    if (r.status !== 'drift') continue;
    if (r.kind === 'embedding') add('reindex', r);
    if (r.kind === 'accuracy') add('finetune', r);
    if (r.kind === 'behavior') {
      const flagged = flaggedMethods(r);
      if (flagged.includes('refusal_rate')) add('finetune', r);
      if (flagged.includes('toxicity_rate')) add('safety', r);
    }
  }
  return out;
}

/**
 * The trigger's policy: pure, so every branch is tested without queues or clocks.
 * Order of precedence for each called-for action: dry_run (skipped), another of the
 * same action still queued or running for the model (skipped: at most one at a time
 * per model), cooldown (skipped), require_approval (awaiting_approval), otherwise queued.
 */
export function decide(input: PolicyInput): PlannedDecision[] {
  const decisions: PlannedDecision[] = [];
  for (const [action, causes] of actionsFor(input.results)) {
    const maxScore = Math.max(...causes.map((c) => c.score));
    const evidence = causes.map((c) => ({ monitor: c.kind, score: c.score, p_value: c.p_value, flagged: flaggedMethods(c) }));
    const why = causes.map((c) => `${c.kind} drift (score ${c.score.toFixed(2)}${c.p_value === null ? '' : `, p=${c.p_value.toPrecision(2)}`})`).join(' and ');
    const priority = BASE_PRIORITY[action] + Math.round(maxScore * 99);
    const last = input.last_acted[action] ?? null;
    // cooldown_hours 0 turns the cooldown off: every run may act.
    const cooldownEnds = last && input.cooldown_hours > 0 ? new Date(last.getTime() + input.cooldown_hours * 3_600_000) : null;

    let state: PlannedDecision['state'];
    let reason: string;
    const busy = input.in_flight?.[action] ?? null;
    if (input.dry_run) {
      state = 'skipped';
      reason = `dry_run: would ${action} because of ${why}`;
    } else if (busy !== null) {
      state = 'skipped';
      reason = `in progress: decision ${busy} (${action}) is still queued or running for this model; called for by ${why}`;
    } else if (cooldownEnds && cooldownEnds > input.now) {
      state = 'skipped';
      reason = `cooldown: last ${action} at ${last!.toISOString()}, next allowed after ${cooldownEnds.toISOString()}; called for by ${why}`;
    } else if (input.require_approval) {
      state = 'awaiting_approval';
      reason = `${action} because of ${why}; waiting for approval`;
    } else {
      state = 'queued';
      reason = `${action} because of ${why}`;
    }
    decisions.push({ action, state, priority, reason, evidence });
  }
  return decisions.sort((a, b) => b.priority - a.priority);
}

/** drift_overall_score: the maximum of the monitors' scores (insufficient data scores 0). */
export function overallScore(results: MonitorResult[]): number {
  return results.reduce((m, r) => Math.max(m, r.status === 'insufficient_data' ? 0 : r.score), 0);
}

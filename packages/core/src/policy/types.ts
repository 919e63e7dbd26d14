import type { MonitorResult } from '../monitors/types.js';

export type ActionKind = 'reindex' | 'finetune' | 'safety';
export const ACTION_KINDS: readonly ActionKind[] = ['reindex', 'finetune', 'safety'];

/** What the trigger decided for one action, before it is stored. */
export interface PlannedDecision {
  action: ActionKind;
  /** queued: enqueue now; awaiting_approval: wait for a human; skipped: recorded only (dry_run, cooldown). */
  state: 'queued' | 'awaiting_approval' | 'skipped';
  /** Higher runs first: safety (harm) before fine-tune (quality) before re-index (freshness), then by drift score. */
  priority: number;
  reason: string;
  /** The monitor results that caused it. */
  evidence: { monitor: MonitorResult['kind']; score: number; p_value: number | null; flagged: string[] }[];
}

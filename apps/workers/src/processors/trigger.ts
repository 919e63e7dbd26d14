import {
  recordRunOutcome,
  ACTION_KINDS,
  decide,
  insertDecision,
  jobIds,
  actionInFlight,
  lockModelDecisions,
  decisionHistory,
  notifyAwaitingApproval,
  notifyDriftDetected,
  overallScore,
  runsOf,
  windowsFor,
  type AppContext,
  type DecisionRow,
  type Processor,
  type Verification,
  verifyPromotion,
} from '@driftwatch/core';

export interface RunSummary {
  run_id: string;
  model: string;
  overall_score: number;
  results: Record<string, unknown>[];
  monitor_failures: Record<string, string>;
  decisions: Pick<DecisionRow, 'id' | 'action' | 'state' | 'priority' | 'reason'>[];
  /** The promoted version's verification by this run, if a version is promoted (actions/verification.ts). */
  verification?: Verification;
  /** Ids of the action jobs this trigger enqueued (or found already enqueued). */
  action_jobs: { queue: string; job_id: string }[];
}

/**
 * The trigger of a run: the monitors' stored results through the pure policy into
 * stored decisions, and queued decisions onto their action queues. Replaying it finds
 * the decisions already stored (dedup_key) and the jobs already added (job ids).
 */
export function triggerProcessor(ctx: AppContext): Processor<'trigger', RunSummary> {
  return async (job, data) => {
    const cfg = ctx.config;
    const runs = await runsOf(ctx.db, data.run_id);
    const results = runs.map((r) => r.result);
    const monitor_failures = await job.getIgnoredChildrenFailures();
    const overall = overallScore(results);

    const now = new Date(data.now);
    // The served version's verification (actions/verification.ts): once enough traffic of a promoted
    // version is logged, verified or regressed (and rolled back, actions.auto_rollback). Not in dry runs.
    const verification = data.dry_run || cfg.actions.dry_run ? null : await verifyPromotion(ctx, data.model, now).catch((e: Error) => {
      ctx.logger.warn({ model: data.model, err: e.message }, 'verification of the promoted version failed; the next run tries again');
      return null;
    });
    const { current } = windowsFor(now, cfg.baseline_days, cfg.current_days);
    // Decide and store under a per-model lock: two runs of one model deciding at once
    // (two trigger workers, a manual run-once next to the cron) must see each other's
    // decisions, or both would pass the cooldown and act twice.
    const stored = await ctx.db.transaction(async (tx) => {
      await lockModelDecisions(tx, data.model);
      // One query at a time: a transaction is one connection, and pg (9 and later) refuses a
      // query on a client that is still running one; the embedded database runs them in turn anyway.
      const last_acted: Record<string, Date | null> = {};
      const in_flight: Record<string, number | null> = {};
      const history = await decisionHistory(tx, data.model, ACTION_KINDS);
      for (const a of ACTION_KINDS) {
        last_acted[a] = history[a].last_acted;
        // Only a decision the database says is queued or running is checked against its queue job.
        in_flight[a] = history[a].in_flight ? ((await actionInFlight(tx, ctx.queues, data.model, a))?.id ?? null) : null;
      }
      const planned = decide({
        results,
        dry_run: data.dry_run || cfg.actions.dry_run,
        require_approval: cfg.actions.require_approval,
        cooldown_hours: cfg.actions.cooldown_hours,
        last_acted,
        in_flight,
        now,
      });
      const out: { row: DecisionRow; created: boolean }[] = [];
      for (const p of planned) {
        out.push(
          await insertDecision(tx, {
            run_id: data.run_id,
            model: data.model,
            action: p.action,
            state: p.state,
            priority: p.priority,
            reason: p.reason,
            // One decision per (model, action, window): a replayed trigger finds it instead of deciding again.
            dedup_key: `${data.model}|${p.action}|${current.start.toISOString()}|${current.end.toISOString()}`,
            window_start: current.start,
            window_end: current.end,
            details: { evidence: p.evidence },
          }),
        );
      }
      return out;
    });

    const decisions: RunSummary['decisions'] = [];
    const action_jobs: RunSummary['action_jobs'] = [];
    for (const { row, created } of stored) {
      if (row.state === 'queued') {
        // The job id is the decision's: adding it again (a replay, a retry after a crash) is a no-op.
        const added = await ctx.queues.add(row.action, { decision_id: row.id }, { jobId: jobIds.action(row.id, ctx.queues.owner), priority: Math.max(1, 1000 - row.priority) });
        action_jobs.push({ queue: row.action, job_id: added.id! });
      }
      decisions.push({ id: row.id, action: row.action, state: row.state, priority: row.priority, reason: row.reason });
    }
    // Notifications (queued for the webhooks, never holding up the run): drift found, and decisions waiting for a human.
    const drifted = runs.filter((r) => r.status === 'drift');
    if (drifted.length) {
      await notifyDriftDetected(ctx, { model: data.model, run_id: data.run_id, overall_score: overall, monitors: drifted.map((r) => ({ monitor: r.monitor, score: r.score, p_value: r.p_value, reason: r.result.reason })) });
    }
    for (const { row } of stored) if (row.state === 'awaiting_approval') await notifyAwaitingApproval(ctx, row);
    await recordRunOutcome(ctx.db, data.run_id, monitor_failures);
    return { run_id: data.run_id, model: data.model, overall_score: overall, results: results as unknown as Record<string, unknown>[], monitor_failures, decisions, action_jobs, ...(verification ? { verification } : {}) };
  };
}

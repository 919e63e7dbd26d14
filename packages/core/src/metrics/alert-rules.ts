import { stringify } from 'yaml';
import type { DriftConfig } from '../config/schema.js';

/**
 * The Prometheus alert rules of Driftwatch, with the thresholds of a drift config: what
 * `driftwatch alerts [--config FILE]` writes. dashboards/alerts.yml is its output for
 * config/drift_config.yaml (a test keeps them equal).
 *
 * The drift rules read figures of record, which the scheduler exports from the database
 * at every scrape: they hold their value across runs and restarts, so `for` only rides out
 * a scrape blip, and no rule needs a guard against series that are missing after a restart.
 * Counters the fleet rules use exist at 0 from a worker's start, so `increase()` sees the
 * first failure.
 */
export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'info' | 'warning' | 'critical' };
  annotations: { summary: string; description: string };
}

export interface AlertRuleOptions {
  /** Replaces every rule's `for` (e.g. '0s' for a test or a demo that must see alerts fire at once). */
  for?: string;
  /** Where the thresholds came from, named in the file's header. */
  source?: string;
}

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;

export function alertRules(config: DriftConfig, opts: AlertRuleOptions = {}): { name: string; rules: AlertRule[] }[] {
  const b = config.behavior_thresholds;
  const a = config.accuracy_thresholds;
  const f = (d: string) => opts.for ?? d;
  return [
    {
      name: 'driftwatch-drift',
      rules: [
        {
          alert: 'DriftDetected',
          expr: 'max by (model) (drift_monitor_drift) > 0',
          for: f('5m'),
          labels: { severity: 'warning' },
          annotations: {
            summary: 'Drift detected for model {{ $labels.model }}',
            description:
              'The latest run of a monitor of {{ $labels.model }} found drift: its calibrated test is significant ' +
              `(alpha ${config.alpha}) and the effect is over its threshold. drift_overall_score shows how large it is ` +
              '(0 = none, 1 = complete shift); the Drift Breakdown panel shows which monitor drives it, the ' +
              'Decisions by state panel what the trigger decided (a decision may be awaiting approval).',
          },
        },
        {
          alert: 'AccuracyDrop',
          expr: `max by (model) ((model_accuracy_baseline - model_accuracy) / model_accuracy_baseline) > ${a.accuracy_threshold}`,
          for: f('15m'),
          labels: { severity: 'warning' },
          annotations: {
            summary: 'Accuracy of model {{ $labels.model }} dropped',
            description:
              'Evaluation-set accuracy of {{ $labels.model }} in the current window is {{ $value | humanizePercentage }} ' +
              `below its baseline window (relative drop; accuracy_thresholds.accuracy_threshold = ${pct(a.accuracy_threshold)}). ` +
              'A fine-tune decision may be pending approval (driftwatch decisions).',
          },
        },
        {
          alert: 'HighRefusalRate',
          expr: `max by (model) (model_refusal_rate) > ${b.refusal_rate_threshold}`,
          for: f('15m'),
          labels: { severity: 'warning' },
          annotations: {
            summary: 'High refusal rate for model {{ $labels.model }}',
            description: `{{ $labels.model }} refuses {{ $value | humanizePercentage }} of queries in the current window (behavior_thresholds.refusal_rate_threshold = ${pct(b.refusal_rate_threshold)}).`,
          },
        },
        {
          alert: 'HighToxicityRate',
          expr: `max by (model) (model_toxicity_rate) > ${b.toxicity_rate_threshold}`,
          for: f('15m'),
          labels: { severity: 'critical' },
          annotations: {
            summary: 'High toxicity rate for model {{ $labels.model }}',
            description:
              `{{ $value | humanizePercentage }} of the responses of {{ $labels.model }} in the current window were flagged as toxic (behavior_thresholds.toxicity_rate_threshold = ${pct(b.toxicity_rate_threshold)}). ` +
              'Check the safety decision the trigger should have taken (driftwatch decisions) and the safety queue.',
          },
        },
        {
          alert: 'MonitorRunsLate',
          // A monitor that has not stored a run for two days: the scheduler or the workers are not running ticks.
          expr: 'time() - max by (model, monitor) (drift_monitor_last_run_timestamp_seconds) > 2 * 86400',
          for: f('30m'),
          labels: { severity: 'warning' },
          annotations: {
            summary: 'No {{ $labels.monitor }} run for model {{ $labels.model }} in two days',
            description: 'The latest {{ $labels.monitor }} run of {{ $labels.model }} is {{ $value | humanizeDuration }} old. Check that the scheduler runs and that a worker serves the monitor and trigger queues.',
          },
        },
      ],
    },
    {
      name: 'driftwatch-fleet',
      rules: [
        {
          alert: 'JobsFailing',
          // Final failures only: attempts that will be retried are not failures yet.
          expr: 'sum by (queue, name) (increase(driftwatch_jobs_failed_total{final="true"}[30m])) > 0',
          for: f('0m'),
          labels: { severity: 'warning' },
          annotations: {
            summary: 'Jobs {{ $labels.queue }}/{{ $labels.name }} are failing',
            description:
              '{{ $value | printf "%.0f" }} job(s) {{ $labels.name }} on queue {{ $labels.queue }} failed for good in the last 30 minutes ' +
              '(retries used up, or an unrecoverable error). Inspect them in Bull Board (/admin/queues on the scheduler).',
          },
        },
        {
          alert: 'QueueBacklog',
          expr: 'max by (queue) (driftwatch_queue_jobs{state="waiting"}) > 100',
          for: f('30m'),
          labels: { severity: 'warning' },
          annotations: {
            summary: 'Queue {{ $labels.queue }} has a backlog',
            description:
              '{{ $value | printf "%.0f" }} jobs have been waiting on queue {{ $labels.queue }} for more than 30 minutes. ' +
              'Add worker replicas for this queue or check for a provider rate limit (Fleet panels).',
          },
        },
        {
          alert: 'QueueNotDraining',
          // Work is waiting but nothing completes: no worker serves the queue, or it is paused.
          expr: 'max by (queue) (driftwatch_queue_jobs{state="waiting"}) > 0 unless on (queue) sum by (queue) (rate(driftwatch_jobs_completed_total[30m])) > 0',
          for: f('30m'),
          labels: { severity: 'warning' },
          annotations: {
            summary: 'Queue {{ $labels.queue }} is not draining',
            description:
              '{{ $value | printf "%.0f" }} jobs are waiting on queue {{ $labels.queue }} and no job of that queue completed in the last 30 minutes. ' +
              'Check that a worker runs with this queue in --queues and that the queue is not paused.',
          },
        },
        {
          alert: 'WorkerStalls',
          expr: 'sum by (queue) (increase(driftwatch_jobs_stalled_total[30m])) > 0',
          for: f('0m'),
          labels: { severity: 'warning' },
          annotations: {
            summary: 'Jobs of queue {{ $labels.queue }} stalled',
            description:
              '{{ $value | printf "%.0f" }} job(s) on queue {{ $labels.queue }} lost their worker\'s lock in the last 30 minutes and were handed back. ' +
              'A worker crashed, was killed without a graceful shutdown, or blocked its event loop for longer than the lock duration.',
          },
        },
        {
          alert: 'DriftwatchTargetDown',
          expr: 'up{job="drift_detection"} == 0',
          for: f('5m'),
          labels: { severity: 'critical' },
          annotations: {
            summary: 'Driftwatch {{ $labels.role }} {{ $labels.instance }} is down',
            description: 'Prometheus cannot scrape /metrics of {{ $labels.role }} at {{ $labels.instance }} for 5 minutes.',
          },
        },
      ],
    },
    {
      name: 'driftwatch-cost',
      rules: [
        {
          alert: 'ApiCostSpike',
          // Spend of the last hour above 3x the hourly average of the last 7 days, and above 1 USD so that a quiet system does not page on cents.
          expr:
            'sum by (source, model) (increase(api_cost_usd_total[1h])) > 3 * sum by (source, model) (increase(api_cost_usd_total[7d])) / 168 ' +
            'and sum by (source, model) (increase(api_cost_usd_total[1h])) > 1',
          for: f('10m'),
          labels: { severity: 'warning' },
          annotations: {
            summary: 'API spend spike ({{ $labels.source }} {{ $labels.model }})',
            description:
              'Spend in the last hour was {{ $value | printf "$%.2f" }}, more than 3 times the hourly average of the last 7 days ' +
              '(source=application: what the monitored application paid; source=driftwatch: Driftwatch\'s own provider calls). See the API Cost Tracking panel.',
          },
        },
        {
          alert: 'CostPerInteractionRise',
          expr: `max by (model) (model_cost_per_interaction_usd{window="current"} / model_cost_per_interaction_usd{window="baseline"} - 1) > ${b.cost_change_threshold}`,
          for: f('15m'),
          labels: { severity: 'info' },
          annotations: {
            summary: 'Interactions of model {{ $labels.model }} cost more',
            description: `The mean cost of one interaction of {{ $labels.model }} rose {{ $value | humanizePercentage }} over its baseline window (behavior_thresholds.cost_change_threshold = ${pct(b.cost_change_threshold)}).`,
          },
        },
      ],
    },
  ];
}

/** The rules file: a header naming its source and how to regenerate it, then the rule groups. */
export function alertRulesYaml(config: DriftConfig, opts: AlertRuleOptions = {}): string {
  const header = [
    '# Prometheus alert rules for Driftwatch. Loaded by prometheus.yml (rule_files).',
    `# Generated by \`driftwatch alerts${opts.source ? ` --config ${opts.source}` : ''}\` from the drift config's thresholds: edit the config and`,
    '# regenerate rather than editing this file. Check with: promtool check rules alerts.yml',
    '',
  ].join('\n');
  return header + stringify({ groups: alertRules(config, opts) }, { lineWidth: 0 });
}

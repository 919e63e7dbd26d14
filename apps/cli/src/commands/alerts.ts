/**
 * `driftwatch alerts`: the Prometheus alert rules with the thresholds of a drift config
 * (dashboards/alerts.yml is this command's output for config/drift_config.yaml).
 */
import { writeFileSync } from 'node:fs';
import { alertRulesYaml, loadDriftConfig } from '@driftwatch/core';
import { parseCommand, type Io } from './table.js';

export const alertsUsage = `Usage: driftwatch alerts [--config FILE] [--output FILE] [--for DURATION]

Writes the Prometheus alert rules (DriftDetected, AccuracyDrop, HighRefusalRate,
HighToxicityRate, fleet and cost alerts) with the thresholds of the drift config:
accuracy_thresholds.accuracy_threshold, behavior_thresholds.refusal_rate_threshold,
toxicity_rate_threshold and cost_change_threshold.

  --config FILE     drift config (default: $DRIFT_CONFIG or config/drift_config.yaml)
  --output FILE     write the rules there instead of stdout (e.g. dashboards/alerts.yml)
  --for DURATION    replace every rule's \`for\` (e.g. 0s for a demo or a test)

Check the result with: promtool check rules FILE`;

export async function alertsCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommand('alerts', args, { config: { type: 'string' }, output: { type: 'string', short: 'o' }, for: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    io.stdout(alertsUsage + '\n');
    return 0;
  }
  const path = (values.config as string | undefined) ?? process.env.DRIFT_CONFIG ?? 'config/drift_config.yaml';
  if (values.for !== undefined && !/^\d+(ms|s|m|h|d|w|y)$/.test(values.for as string)) {
    io.stderr(`alerts: --for must be a Prometheus duration such as 0s, 5m or 1h, got "${values.for}"\n`);
    return 2;
  }
  const yaml = alertRulesYaml(loadDriftConfig(path), { source: path, for: values.for as string | undefined });
  if (values.output) {
    writeFileSync(values.output as string, yaml);
    io.stderr(`wrote ${values.output} from ${path}\n`);
  } else io.stdout(yaml);
  return 0;
}

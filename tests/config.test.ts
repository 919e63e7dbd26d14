import { describe, expect, it } from 'vitest';
import { ConfigError, loadDeploymentConfig, loadDriftConfig, loadEnvironment, parseDriftConfig } from '@driftwatch/core';
import { runCli, tempDir, testConfig, writeYaml } from './helpers/env.js';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('drift configuration', () => {
  it('loads every shipped config file', () => {
    for (const f of ['drift_config.yaml', 'drift_config_dev.yaml', 'drift_config_prod.yaml']) {
      const c = loadDriftConfig(`config/${f}`);
      expect(c.models.length).toBeGreaterThan(0);
    }
    expect(loadDriftConfig('config/drift_config_dev.yaml').actions.dry_run).toBe(true);
    expect(loadDriftConfig('config/drift_config_prod.yaml').actions.require_approval).toBe(true);
    expect(loadDeploymentConfig('config/deployment_config.yaml', true).queues.finetune.global_concurrency).toBe(1);
  });

  it('keeps every key of the original design, with its defaults', () => {
    const c = parseDriftConfig({ models: [{ name: 'm' }] });
    expect(c).toMatchObject({
      baseline_days: 30,
      current_days: 7,
      embedding_thresholds: { distance_threshold: 0.15, silhouette_threshold: 0.2, variance_threshold: 0.3 },
      behavior_thresholds: { refusal_rate_threshold: 0.1, toxicity_rate_threshold: 0.05 },
      accuracy_thresholds: { accuracy_threshold: 0.05, feedback_threshold: 0.3 },
      prometheus_port: 8000,
      actions: { dry_run: false, require_approval: false },
    });
    expect(c.min_samples).toBeGreaterThan(0);
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ['baseline_days', { baseline_days: -3 }, 'baseline_days'],
    ['current_days as text', { current_days: 'seven' }, 'current_days'],
    ['nested threshold', { embedding_thresholds: { distance_threshold: -0.1 } }, 'embedding_thresholds.distance_threshold'],
    ['rate above 1', { behavior_thresholds: { refusal_rate_threshold: 1.5 } }, 'behavior_thresholds.refusal_rate_threshold'],
    ['accuracy threshold type', { accuracy_thresholds: { accuracy_threshold: 'five' } }, 'accuracy_thresholds.accuracy_threshold'],
    ['dry_run not boolean', { actions: { dry_run: 'yes' } }, 'actions.dry_run'],
    ['require_approval', { actions: { require_approval: 1 } }, 'actions.require_approval'],
    ['prometheus_port', { prometheus_port: 70000 }, 'prometheus_port'],
    ['min_samples', { min_samples: 0 }, 'min_samples'],
    ['misspelt key', { baseline_dayz: 30 }, 'baseline_dayz'],
    ['model without name', { models: [{ schedule: '0 0 * * *' }] }, 'models[0].name'],
    ['no models', { models: [] }, 'models'],
    ['bad refusal pattern', { behavior_thresholds: { refusal_patterns: ['ok', '(unclosed'] } }, 'behavior_thresholds.refusal_patterns[1]'],
    ['too few permutations for alpha', { alpha: 0.01, embedding_thresholds: { permutations: 200 } }, 'embedding_thresholds.permutations'],
  ];
  it.each(cases)('names the key when %s is wrong', (_label, patch, key) => {
    const e = errorOf(() => parseDriftConfig({ ...testConfig(), ...patch }, 'test.yaml'));
    expect(e.issues.map((i) => i.path)).toContain(key);
    expect(e.message).toContain(`${key}:`);
  });

  it('says which file is missing and how to pick another', () => {
    const e = errorOf(() => loadDriftConfig('/nonexistent/drift.yaml'));
    expect(e.message).toMatch(/\/nonexistent\/drift\.yaml.*DRIFT_CONFIG/);
  });

  it('reports broken YAML with its line', () => {
    const dir = tempDir();
    const p = writeYaml(dir, 'bad.yaml', 'baseline_days: 30\ncurrent_days: [7\n');
    expect(errorOf(() => loadDriftConfig(p)).message).toMatch(/line \d+/);
  });

  it('names the environment variable that is wrong', () => {
    const e = errorOf(() => loadEnvironment({ DATABASE_URL: 'mysql://x', REDIS_URL: 'redis://127.0.0.1:6379' }));
    expect(e.message).toContain('DATABASE_URL:');
    expect(errorOf(() => loadEnvironment({ REDIS_URL: 'localhost' })).message).toContain('REDIS_URL:');
  });

  it('names a wrong deployment key', () => {
    const dir = tempDir();
    const p = writeYaml(dir, 'deploy.yaml', { queues: { finetune: { concurrency: 0 } } });
    expect(errorOf(() => loadDeploymentConfig(p)).message).toContain('queues.finetune.concurrency:');
  });
});

describe('the CLI with a wrong config', () => {
  it('stops before doing anything, exit 2, naming the key', async () => {
    const dir = tempDir();
    const cfg = writeYaml(dir, 'drift.yaml', testConfig({ baseline_days: 0 }));
    const data = `${dir}/data`;
    const r = await runCli(['run-once'], { DRIFT_CONFIG: cfg, DRIFTWATCH_DATA_DIR: data, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('baseline_days:');
    expect(r.stdout).toBe('');
    // Nothing was created: the database folder was never opened.
    const { existsSync } = await import('node:fs');
    expect(existsSync(data)).toBe(false);
  });

  it('prints help, and every subcommand answers --help with its usage (exit 0, nothing started)', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    const commands = [...r.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]);
    for (const c of ['migrate', 'start', 'scheduler', 'worker', 'run-once', 'compare', 'demo', 'decisions', 'approve', 'reject']) expect(commands).toContain(c);
    // A config that would fail to load proves that --help reads nothing.
    const results = await Promise.all(commands.map((c) => runCli([c, '--help'], { DRIFT_CONFIG: '/nonexistent.yaml' })));
    results.forEach((h, i) => {
      expect(h.code, commands[i]).toBe(0);
      expect(h.stdout, commands[i]).toMatch(new RegExp(`^Usage: driftwatch ${commands[i]}`));
    });
  });

  it('rejects an unknown queue role with the list of valid ones', async () => {
    const r = await runCli(['worker', '--queues', 'monitor,bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bogus.*monitor, trigger, reindex, finetune, safety/);
  });
});

import { describe, expect, it } from 'vitest';
import { runCli, tempDir, testConfig, writeYaml } from '../helpers/env.js';

describe('the CLI facing a Redis or database that does not answer', () => {
  it('run-once with an unreachable REDIS_URL: one clear line, exit 2, within seconds', async () => {
    const dir = tempDir();
    const started = Date.now();
    const res = await runCli(['run-once', '--dry-run'], { DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig()), DRIFTWATCH_DATA_DIR: `${dir}/data`, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^driftwatch: no Redis answers at 127\.0\.0\.1:1 .*check REDIS_URL/)]);
    // The probe gives up after 5 s; the rest is start-up on a loaded machine.
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('decisions with an unreachable DATABASE_URL: one clear line, exit 2', async () => {
    const dir = tempDir();
    const res = await runCli(['decisions'], { DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig()), DATABASE_URL: 'postgres://postgres@127.0.0.1:1/driftwatch' });
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^driftwatch: cannot reach the database at 127\.0\.0\.1:1\/driftwatch \(ECONNREFUSED/)]);
  });

  it('--help answers without reading configuration or opening anything', async () => {
    const res = await runCli(['run-once', '--help'], { DRIFT_CONFIG: '/nonexistent.yaml', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Usage: driftwatch run-once/);
    expect(res.stderr).toBe('');
  });
});

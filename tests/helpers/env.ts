import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { Redis } from 'ioredis';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'apps/cli/bin/driftwatch.js');
/** The Redis every integration test uses; each test isolates itself with its own key prefix. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(name = 't'): string {
  return `dwtest-${name}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function tempDir(name = 'driftwatch-test-'): string {
  return mkdtempSync(join(tmpdir(), name));
}

/** A drift config with small windows and samples suited to tests; override anything. */
export function testConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    baseline_days: 30,
    current_days: 7,
    min_samples: 50,
    seed: 7,
    embedding_thresholds: { permutations: 200, max_sample: 400 },
    prometheus_port: 0,
    actions: { dry_run: false, require_approval: false, cooldown_hours: 24 },
    models: [{ name: 'support-bot', schedule: '0 0 * * *' }],
    ...overrides,
  };
}

export function writeYaml(dir: string, name: string, value: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof value === 'string' ? value : stringify(value));
  return p;
}

/** Deployment settings with short locks so stalled-job tests finish quickly; override anything. */
export function testDeployment(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { http: { port: 0, host: '127.0.0.1' }, ...overrides };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the driftwatch CLI in a child process, as a user would. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`driftwatch ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Deletes every key of a test's prefix. */
export async function dropPrefix(prefix: string): Promise<void> {
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { deploymentConfigSchema, type DeploymentConfig } from '../../packages/core/src/config/deployment.js';
import { Queues } from '../../packages/core/src/queues/queues.js';
import { CLI, REDIS_URL, ROOT, dropPrefix } from './env.js';

/** Deployment settings as the schema parses them, with overrides (e.g. one queue's settings). */
export function deployment(overrides: Record<string, unknown> = {}): DeploymentConfig {
  return deploymentConfigSchema.parse({ http: { port: 0, host: '127.0.0.1' }, ...overrides });
}

export const quietLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Redis connections and producer queues of one test, on its own prefix; cleanup() closes them and drops the keys. */
export function redisFixture(prefix: string, dep: DeploymentConfig) {
  const worker = new Redis(REDIS_URL, { maxRetriesPerRequest: null, enableReadyCheck: false });
  const producer = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const queues = new Queues(producer, prefix, dep);
  return {
    worker,
    producer,
    queues,
    cleanup: async (closeFirst: { close(): Promise<unknown> }[] = []) => {
      await Promise.allSettled(closeFirst.map((c) => c.close()));
      await queues.close().catch(() => {});
      worker.disconnect();
      producer.disconnect();
      await dropPrefix(prefix);
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls until fn returns a truthy value or the time is up; returns that value. The default
 * bound is generous: it only ends a wait for something that will not happen, and a loaded
 * machine (CI_LOAD=1 .ci/run) must not fail a test that waits for an event.
 */
export async function waitFor<T>(fn: () => Promise<T> | T, what: string, timeoutMs = 60_000, everyMs = 50): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

/** A long-running driftwatch process (worker, scheduler, start) that a test drives. */
export interface FleetProcess {
  child: ChildProcess;
  /** The `{"event":"ready",...}` line the process prints when it serves. */
  ready: { metrics_port: number; http_port: number | null; queues: string[]; redis_url: string };
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Spawns `driftwatch <args>` as a user would, waits for its ready line. `preload` adds
 * a test module loaded before the CLI (e.g. tests/helpers/slow-actions.ts, which makes
 * action jobs take a set time so a test can act while one is running).
 */
export async function spawnDriftwatch(args: string[], env: Record<string, string | undefined>, opts: { preload?: string; readyTimeoutMs?: number } = {}): Promise<FleetProcess> {
  const nodeArgs = opts.preload ? ['--import', 'tsx/esm', '--import', opts.preload, CLI, ...args] : [CLI, ...args];
  const child = spawn(process.execPath, nodeArgs, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', REDIS_URL, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const ready = await new Promise<FleetProcess['ready']>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`driftwatch ${args.join(' ')} did not become ready\nstdout: ${out}\nstderr: ${err}`));
    }, opts.readyTimeoutMs ?? 120_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      out += line + '\n';
      if (line.startsWith('{"event":"ready"')) {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`driftwatch ${args.join(' ')} exited (${code}) before it was ready\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  return {
    child,
    ready,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Parses a Prometheus text exposition into samples. */
export function parseMetrics(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of a metric whose labels include `match`. */
export function metricSum(samples: ReturnType<typeof parseMetrics>, name: string, match: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

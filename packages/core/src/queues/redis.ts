import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { freePort } from '../net.js';
import { isClusterUrl, parseRedisNodes } from './cluster.js';

/** A connection BullMQ accepts: one Redis, or a Redis Cluster (see cluster.ts). */
export type RedisClient = Redis | Cluster;


/**
 * A connection as BullMQ requires it: workers block on Redis and must never give up
 * a command (maxRetriesPerRequest null); producers fail fast instead of hanging.
 */
export function redisConnection(url: string, role: 'worker' | 'producer'): RedisClient {
  const opts: RedisOptions = role === 'worker' ? { maxRetriesPerRequest: null, enableReadyCheck: false } : { maxRetriesPerRequest: 2, enableOfflineQueue: true };
  if (isClusterUrl(url)) return clusterConnection(url, opts);
  return new Redis(url, opts);
}

/**
 * A Redis Cluster client over the nodes of url (any subset; the rest are discovered). Through
 * a failover (a master dies, its replica takes over) commands wait in the offline queue and
 * are redirected (MOVED/ASK, CLUSTERDOWN retried) instead of failing: a worker's blocking
 * call and its lock renewals carry on against the new master.
 */
export function clusterConnection(url: string, redisOptions: RedisOptions = {}, extra: ClusterOptions = {}): Cluster {
  const spec = parseRedisNodes(url);
  if (!spec) throw new RedisUnavailableError(`not a list of Redis Cluster nodes: ${url}`);
  return new Cluster(spec.nodes, {
    redisOptions: { ...redisOptions, username: spec.username, password: spec.password, ...(spec.tls ? { tls: {} } : {}) },
    enableOfflineQueue: true,
    enableReadyCheck: true,
    // Refresh the slot map soon after a failover moves a master.
    slotsRefreshTimeout: 2_000,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 200,
    clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
    ...extra,
  });
}

function answers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.connect(port, host, () => {
      s.write('PING\r\n');
      s.once('data', (d) => done(d.toString().startsWith('+PONG') || d.toString().startsWith('-NOAUTH')));
    });
  });
}

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/** A Redis for this process: REDIS_URL, the default port, or one started here for the life of the process. */
export interface RedisEndpoint {
  url: string;
  /** True when this process started the redis-server: it and its jobs end with the process. */
  started: boolean;
  /** Present when this process started redis-server; stop() ends it. */
  stop(): Promise<void>;
}

/**
 * REDIS_URL set: use it as it is. Unset: redis://127.0.0.1:6379 if something answers
 * there; otherwise start `redis-server` from PATH on a free loopback port (no
 * persistence, noeviction as BullMQ needs) and stop it when the process ends.
 */
export async function ensureRedis(
  redisUrl: string | undefined,
  /** Where to look before starting one, and which binary to start (tests point these elsewhere). */
  opts: { probePort?: number; bin?: string } = {},
): Promise<RedisEndpoint> {
  const none = { started: false, stop: async () => {} };
  const probePort = opts.probePort ?? 6379;
  const bin = opts.bin ?? 'redis-server';
  if (redisUrl) return { url: redisUrl, ...none };
  if (await answers('127.0.0.1', probePort)) return { url: `redis://127.0.0.1:${probePort}`, ...none };
  const found = spawnSync(bin, ['--version'], { stdio: 'ignore' });
  if (found.error || found.status !== 0) {
    throw new RedisUnavailableError(
      `no Redis answers on 127.0.0.1:${probePort} and ${bin} is not on PATH. Install one (Debian/Ubuntu: 'apt-get install -y redis-server'; macOS: 'brew install redis') or set REDIS_URL=redis://host:port to an existing Redis.`,
    );
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'driftwatch-redis-'));
  const child: ChildProcess = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'],
    { stdio: 'ignore' },
  );
  const kill = () => child.kill('SIGTERM');
  process.once('exit', kill);
  for (let i = 0; i < 100; i++) {
    if (await answers('127.0.0.1', port, 200)) {
      return {
        url: `redis://127.0.0.1:${port}`,
        started: true,
        stop: async () => {
          process.off('exit', kill);
          if (child.exitCode === null) {
            const exited = new Promise((r) => child.once('exit', r));
            kill();
            await exited;
          }
        },
      };
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  kill();
  throw new RedisUnavailableError(`redis-server was started on port ${port} but did not answer; set REDIS_URL to an existing Redis`);
}

/**
 * Checks that a Redis answers at url, trying for up to timeoutMs; a Redis that does
 * not is one clear RedisUnavailableError instead of a client reconnecting forever.
 */
export async function probeRedis(url: string, timeoutMs = 5_000): Promise<void> {
  if (isClusterUrl(url)) return probeCluster(url, timeoutMs);
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: Math.min(2_000, timeoutMs), retryStrategy: () => null });
  const last = await keepTrying(client, timeoutMs, async () => {
    if (client.status !== 'ready') await client.connect();
    await client.ping();
  });
  if (last === null) return;
  let where = url;
  try {
    const u = new URL(url);
    where = `${u.hostname}:${u.port || 6379}`;
  } catch {
    /* keep the url */
  }
  throw new RedisUnavailableError(`no Redis answers at ${where} (${(last as Error)?.message ?? 'no answer'}) after ${Math.round(timeoutMs / 1000)} s; check REDIS_URL and that redis-server is running`);
}

/**
 * Runs attempt every 250 ms until it resolves or timeoutMs has passed, disconnecting the
 * client after each failure and at the end; returns null on success, else the last error.
 */
async function keepTrying(client: { on(event: 'error', fn: () => void): unknown; disconnect(): void }, timeoutMs: number, attempt: () => Promise<void>): Promise<unknown> {
  client.on('error', () => {});
  const deadline = Date.now() + timeoutMs;
  let last: unknown = new Error('no answer');
  try {
    for (;;) {
      try {
        await attempt();
        return null;
      } catch (e) {
        last = e;
        client.disconnect();
      }
      if (Date.now() > deadline) return last;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    client.disconnect();
  }
}

/** probeRedis for a cluster: some node answers and the cluster says its state is ok. */
async function probeCluster(url: string, timeoutMs: number): Promise<void> {
  const client = clusterConnection(url, { maxRetriesPerRequest: 1, connectTimeout: Math.min(2_000, timeoutMs) }, { lazyConnect: true, clusterRetryStrategy: () => null });
  const last = await keepTrying(client, timeoutMs, async () => {
    if (client.status === 'wait' || client.status === 'end' || client.status === 'close') await client.connect();
    const info = String(await client.cluster('INFO'));
    if (!/cluster_state:ok/.test(info)) throw new Error('cluster_state is not ok');
  });
  if (last === null) return;
  throw new RedisUnavailableError(`the Redis Cluster at ${url.replace(/\/\/[^@/]*@/g, '//')} does not answer with cluster_state:ok (${(last as Error)?.message ?? 'no answer'}) after ${Math.round(timeoutMs / 1000)} s; check REDIS_URL / REDIS_CLUSTER_NODES`);
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { freePort } from '@driftwatch/core';
import { tempDir } from '../helpers/env.js';

export interface TestCluster {
  /** 127.0.0.1:port of every node, masters first. */
  nodes: { port: number; child: ChildProcess }[];
  /** REDIS_URL naming every node. */
  url: string;
  /** The master serving a key's slot, and its replica. */
  ownerOf(key: string): Promise<{ master: number; replica: number }>;
  kill(port: number): Promise<void>;
  /** Waits until every live node says cluster_state:ok and `port` (a former replica) is a master. */
  waitPromoted(port: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ask<T>(port: number, ...args: string[]): Promise<T> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.call(args[0], ...args.slice(1))) as T;
  } finally {
    r.disconnect();
  }
}

/** 3 masters + 3 replicas of redis-server on loopback ports, in a temp folder, created with redis-cli --cluster create. */
export async function startCluster(): Promise<TestCluster> {
  const dir = tempDir('driftwatch-redis-cluster-');
  const nodes: TestCluster['nodes'] = [];
  for (let i = 0; i < 6; i++) {
    const port = await freePort();
    // The cluster bus listens on port + 10000: pick again if that one is taken.
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '1500',
        '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'],
      { stdio: 'ignore' },
    );
    nodes.push({ port, child });
  }
  const alive = async (port: number) => ask<string>(port, 'PING').then((x) => x === 'PONG', () => false);
  for (const n of nodes) for (let i = 0; !(await alive(n.port)); i++) {
    if (i > 200) throw new Error(`redis-server on ${n.port} did not start`);
    await sleep(50);
  }
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { encoding: 'utf8', timeout: 120_000 });
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}\n${create.stderr}`);
  const dead = new Set<number>();
  const waitOk = async (timeoutMs: number, extra: () => Promise<boolean> = async () => true) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(nodes.filter((n) => !dead.has(n.port)).map((n) => ask<string>(n.port, 'CLUSTER', 'INFO').catch(() => '')));
      if (states.every((s) => s.includes('cluster_state:ok')) && (await extra())) return;
      if (Date.now() > until) throw new Error(`cluster not ok after ${timeoutMs} ms`);
      await sleep(200);
    }
  };
  // cluster_state:ok comes before the replicas have attached: wait until every slot range has a
  // replica and every replica's link to its master is up, so that a failover has somewhere to go.
  await waitOk(120_000, async () => {
    const slots = await ask<unknown[][]>(nodes[0].port, 'CLUSTER', 'SLOTS').catch(() => []);
    if (slots.length === 0 || slots.some((range) => range.length < 4)) return false;
    const infos = await Promise.all(nodes.map((n) => ask<string>(n.port, 'INFO', 'replication').catch(() => '')));
    return infos.every((i) => i.includes('role:master') || i.includes('master_link_status:up'));
  });
  const cluster: TestCluster = {
    nodes,
    url: nodes.map((n) => `redis://127.0.0.1:${n.port}`).join(','),
    async ownerOf(key) {
      const live = nodes.find((n) => !dead.has(n.port))!.port;
      const slot = await ask<number>(live, 'CLUSTER', 'KEYSLOT', key);
      const slots = await ask<[number, number, [string, number, string], ...[string, number, string][]][]>(live, 'CLUSTER', 'SLOTS');
      const range = slots.find(([a, b]) => slot >= a && slot <= b)!;
      return { master: range[2][1], replica: range[3][1] };
    },
    async kill(port) {
      const n = nodes.find((x) => x.port === port)!;
      dead.add(port);
      const exited = new Promise((r) => n.child.once('exit', r));
      n.child.kill('SIGKILL');
      await exited;
    },
    async waitPromoted(port, timeoutMs = 60_000) {
      await waitOk(timeoutMs, async () => String(await ask<string>(port, 'ROLE').then((r) => r[0]).catch(() => '')) === 'master');
    },
    async stop() {
      await Promise.all(
        nodes.map(async (n) => {
          if (n.child.exitCode !== null || n.child.signalCode !== null) return;
          const exited = new Promise((r) => n.child.once('exit', r));
          n.child.kill('SIGTERM');
          await exited;
        }),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import { PGlite, types } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PgDb } from '../../packages/core/src/db/pg.js';
import { migrate } from '../../packages/core/src/db/migrations.js';
import { freePort } from '../../packages/core/src/net.js';
// The guard that keeps each client's Parse..Sync batch together on the PGlite socket server.
import { keepBatchesTogether } from '../../tests/helpers/pglite-server.js';

export const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'apps/cli/bin/driftwatch.js');
const PROBE = join(ROOT, 'bench/chaos/probe.mjs');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value or the time is up (then returns null). */
export async function waitUntil<T>(fn: () => Promise<T> | T, timeoutMs: number, everyMs = 500): Promise<T | null> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) return null;
    await sleep(everyMs);
  }
}

/** A redis-server of the bench's own, without persistence: a restart loses every key. */
export interface BenchRedis {
  url: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<BenchRedis> {
  const port = await freePort();
  let child: ChildProcess;
  const up = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((res, rej) => {
      let out = '';
      const t = setTimeout(() => rej(new Error(`redis-server did not start: ${out}`)), 15_000);
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('Ready to accept connections')) {
          clearTimeout(t);
          res();
        }
      });
      child.once('exit', (code) => rej(new Error(`redis-server exited (${code}): ${out}`)));
    });
  };
  const down = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  await up();
  return { url: `redis://127.0.0.1:${port}`, restart: async () => (await down(), await up()), stop: down };
}


/**
 * A database the fleet shares: in-memory PGlite with pgvector behind the socket server.
 * outage() stops the socket server (every connection drops, new ones are refused) and
 * restore() starts it again on the same port with the same data.
 */
export interface BenchPostgres {
  url: string;
  db: PgDb;
  outage(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startPostgres(): Promise<BenchPostgres> {
  const pglite = await PGlite.create('memory://', {
    extensions: { vector },
    parsers: { [types.INT8]: (v: string) => Number(v), [types.NUMERIC]: (v: string) => Number(v) },
  });
  const port = await freePort();
  let server: PGLiteSocketServer | null = null;
  const up = async () => {
    for (let tries = 0; ; tries++) {
      const s = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port, maxConnections: 100 });
      keepBatchesTogether(s);
      try {
        await s.start();
        server = s;
        return;
      } catch (e) {
        if (tries >= 20) throw e;
        await sleep(500);
      }
    }
  };
  const down = async () => {
    const s = server;
    server = null;
    await s?.stop().catch(() => {});
    // A transaction a dropped client left open would block the next session.
    if (pglite.isInTransaction()) await pglite.exec('ROLLBACK').catch(() => {});
  };
  await up();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const db = new PgDb(url, { max: 2 });
  await migrate(db);
  return {
    url,
    db,
    outage: down,
    restore: up,
    close: async () => {
      await db.close().catch(() => {});
      await down();
      await pglite.close().catch(() => {});
    },
  };
}

/** A `driftwatch` process of the bench fleet. */
export interface Proc {
  name: string;
  child: ChildProcess;
  ready: { metrics_port: number; http_port: number | null };
  /** Jobs this process has started and not ended (from the probe's lines). */
  active: Set<string>;
  exited: Promise<number | string>;
  log(): string;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

export async function spawnDriftwatch(name: string, args: string[], env: Record<string, string>, readyTimeoutMs = 120_000): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', PROBE, CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const keep = (l: string) => {
    tail.push(l);
    if (tail.length > 200) tail.shift();
  };
  const active = new Set<string>();
  createInterface({ input: child.stderr! }).on('line', keep);
  const exited = new Promise<number | string>((r) => child.once('exit', (code, signal) => r(code ?? signal ?? -1)));
  const ready = await new Promise<Proc['ready']>((res, rej) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`${name} did not become ready:\n${tail.join('\n')}`));
    }, readyTimeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{"chaos":')) {
        const e = JSON.parse(line) as { chaos: string; queue: string; id: string };
        const k = `${e.queue}/${e.id}`;
        if (e.chaos === 'start') active.add(k);
        else active.delete(k);
        return;
      }
      keep(line);
      if (line.startsWith('{"event":"ready"')) {
        clearTimeout(t);
        res(JSON.parse(line));
      }
    });
    void exited.then((code) => {
      clearTimeout(t);
      rej(new Error(`${name} exited (${code}) before it was ready:\n${tail.join('\n')}`));
    });
  });
  return {
    name,
    child,
    ready,
    active,
    exited,
    log: () => tail.join('\n'),
    kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

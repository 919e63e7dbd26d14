import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { RedisClient as Redis } from '@driftwatch/core';
import {
  createProviders,
  Queues,
  deploymentId,
  ensureRedis,
  probeRedis,
  loadDeploymentConfig,
  loadDriftConfig,
  loadEnvironment,
  migrate,
  openDb,
  redisAddress,
  redisConnection,
  systemClock,
  type AppContext,
  type Db,
  type DeploymentConfig,
  type DriftConfig,
  type Environment,
} from '@driftwatch/core';

export interface Settings {
  env: Environment;
  config: DriftConfig;
  deployment: DeploymentConfig;
  logger: Logger;
}

/** Reads and validates the environment and both config files; throws ConfigError before anything starts. */
export function loadSettings(): Settings {
  const env = loadEnvironment();
  const config = loadDriftConfig(env.DRIFT_CONFIG);
  const deployment = loadDeploymentConfig(env.DEPLOYMENT_CONFIG);
  // Logs go to stderr: stdout is reserved for the JSON a command prints.
  const logger = pino({ level: env.LOG_LEVEL, base: { pid: process.pid } }, pino.destination(2));
  return { env, config, deployment, logger };
}

/** The embedded data folder is held by another live process. */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
  constructor(
    message: string,
    /** The process holding it. */
    readonly pid: number,
  ) {
    super(message);
  }
}

/** DATABASE_URL does not answer (refused, unknown host, timed out, bad credentials). */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', '28P01', '28000', '3D000']);

/** Runs fn; a failure to reach DATABASE_URL becomes one line naming the server and the fix. */
export async function wrapDatabaseError<T>(s: Settings, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const err = e as Error & { code?: string; errors?: { code?: string }[] };
    const code = err.code ?? err.errors?.[0]?.code;
    if (s.env.DATABASE_URL && code && CONNECT_CODES.has(code)) {
      let where = 'DATABASE_URL';
      try {
        const u = new URL(s.env.DATABASE_URL);
        where = `${u.hostname}:${u.port || 5432}${u.pathname}`;
      } catch {
        /* keep the generic name */
      }
      throw new DatabaseUnavailableError(`cannot reach the database at ${where} (${code}: ${err.message.split('\n')[0] || code}); check DATABASE_URL and that Postgres is running, or unset it to use the embedded database`);
    }
    throw e;
  }
}

/**
 * One process owns an embedded data folder at a time (PGlite is single-process);
 * a second one gets a clear error instead of a corrupted database.
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, 'driftwatch.pid');
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, 'utf8'));
    let alive = false;
    try {
      if (pid && pid !== process.pid) {
        process.kill(pid, 0);
        alive = true;
      }
    } catch {
      alive = false;
    }
    if (alive) {
      throw new DataDirInUseError(
        `the embedded database in ${dir} is in use by process ${pid}. Stop it, use another DRIFTWATCH_DATA_DIR, or run a fleet on a shared Postgres with DATABASE_URL`,
        pid,
      );
    }
  }
  writeFileSync(lock, String(process.pid));
  return () => rmSync(lock, { force: true });
}

/** Whether a process of this pid is alive (and is not this one). */
function aliveOther(pid: number): boolean {
  if (!pid || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: alive, owned by another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The HTTP API of the process that holds an embedded data folder, and its local admin credential. */
export interface HeldHttp {
  pid: number;
  /** Base URL, e.g. http://127.0.0.1:3000 */
  url: string;
  /** Accepted as admin by that process only (apps/scheduler/src/http/auth.ts allowLocalAdmin). */
  token: string;
}

/** `<data dir>/http.json`: written (mode 0600) by `start`/`scheduler` while it holds the folder. */
export const HTTP_INFO_FILE = 'http.json';

/**
 * Who holds the embedded data folder `dir` now: null when nobody (or a dead process);
 * else its pid and, when it serves the HTTP API, how to reach it.
 */
export function heldDataDir(dir: string): { pid: number; http: HeldHttp | null } | null {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, 'driftwatch.pid'), 'utf8'));
  } catch {
    return null;
  }
  if (!aliveOther(pid)) return null;
  let http: HeldHttp | null = null;
  try {
    const info = JSON.parse(readFileSync(join(dir, HTTP_INFO_FILE), 'utf8')) as Partial<HeldHttp>;
    if (info.pid === pid && typeof info.url === 'string' && typeof info.token === 'string') http = { pid, url: info.url, token: info.token };
  } catch {
    http = null;
  }
  return { pid, http };
}

/**
 * Publishes this process's HTTP address and local admin credential in the data folder
 * it holds, readable by its owner only, so that the CLI's state commands reach it
 * instead of failing on the held folder. Returns the function that removes the file
 * (also removed at process exit).
 */
export function publishHttp(dir: string, http: { url: string; token: string }): () => void {
  const file = join(dir, HTTP_INFO_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ pid: process.pid, url: http.url, token: http.token }) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    process.off('exit', remove);
    try {
      const info = JSON.parse(readFileSync(file, 'utf8')) as { pid?: number };
      if (info.pid === process.pid) rmSync(file, { force: true });
    } catch {
      /* gone already */
    }
  };
  process.on('exit', remove);
  return remove;
}

export async function openDatabase(s: Settings): Promise<{ db: Db; close(): Promise<void> }> {
  const unlock = s.env.DATABASE_URL ? () => {} : lockDataDir(s.env.DRIFTWATCH_DATA_DIR);
  try {
    const db = await openDb({ databaseUrl: s.env.DATABASE_URL, dataDir: s.env.DRIFTWATCH_DATA_DIR });
    try {
      await wrapDatabaseError(s, async () => {
        // A Postgres that does not answer fails here within connect_timeout, not at the first job.
        await withTimeout(db.query('SELECT 1'), 10_000, () => new DatabaseUnavailableError('the database at DATABASE_URL did not answer within 10 s; check DATABASE_URL and that Postgres is running'));
        await migrate(db);
      });
    } catch (e) {
      await db.close().catch(() => {});
      throw e;
    }
    return {
      db,
      close: async () => {
        await db.close();
        unlock();
      },
    };
  } catch (e) {
    unlock();
    throw e;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms)))]).finally(() => clearTimeout(timer));
}

export interface Runtime {
  ctx: AppContext;
  redisUrl: string;
  /** This process started its own redis-server: queued work does not outlive the process. */
  redisEphemeral: boolean;
  /** Connection for workers (blocking commands, never give up). */
  workerConnection: Redis;
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

/** Database, Redis, queues and providers of one process. */
export async function startRuntime(s: Settings): Promise<Runtime> {
  // Redis first: it answers (or fails to) in seconds, while opening the embedded database takes longer.
  const redis = await ensureRedis(redisAddress(s.env));
  let database;
  try {
    await probeRedis(redis.url);
    database = await openDatabase(s);
  } catch (e) {
    await redis.stop();
    throw e;
  }
  const producer = redisConnection(redis.url, 'producer');
  const workerConnection = redisConnection(redis.url, 'worker');
  const queues = new Queues(producer, s.env.DRIFTWATCH_QUEUE_PREFIX, s.deployment, await deploymentId(database.db));
  const ctx: AppContext = {
    env: s.env,
    config: s.config,
    deployment: s.deployment,
    db: database.db,
    queues,
    providers: createProviders(s.env),
    clock: systemClock,
    logger: s.logger,
  };
  return {
    ctx,
    redisUrl: redis.url,
    redisEphemeral: redis.started,
    workerConnection,
    ready: async () => {
      await Promise.all([database.db.query('SELECT 1'), producer.ping()]);
      return true;
    },
    close: async () => {
      await queues.close();
      await Promise.allSettled([producer.quit(), workerConnection.quit()]);
      await database.close();
      await redis.stop();
    },
  };
}

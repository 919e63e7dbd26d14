import { randomBytes } from 'node:crypto';
import type { Worker } from 'bullmq';
import { handBackRunningJobs, startMetricsServer, type QueueName } from '@driftwatch/core';
import { allowLocalAdmin, startScheduler } from '@driftwatch/scheduler';
import { startWorkers } from '@driftwatch/workers';
import { publishHttp, startRuntime, type Settings } from './runtime.js';

/**
 * A long-running process: scheduler and/or workers, /metrics on prometheus_port.
 * SIGTERM or SIGINT: stop the HTTP server and taking jobs, let running ones finish
 * within worker.shutdown_timeout_ms, then hand the rest back to their queues (another
 * worker takes them at once, not after their lock expires); close queues, Redis and
 * the database; exit 0. A second signal hands running jobs back at once.
 */
export async function serve(s: Settings, role: { scheduler: boolean; queues: QueueName[] }): Promise<number> {
  const rt = await startRuntime(s);
  const { ctx } = rt;
  const metricsPort = s.env.DRIFTWATCH_METRICS_PORT ?? s.config.prometheus_port;
  let metrics;
  let scheduler;
  let workers: Worker[] = [];
  try {
    // On the configured http.host (not every interface when it says loopback).
    metrics = await startMetricsServer(metricsPort, rt.ready, s.deployment.http.host);
    if (role.scheduler) scheduler = await startScheduler(ctx, rt.workerConnection, { ready: rt.ready });
    workers = await startWorkers(ctx, rt.workerConnection, role.queues);
  } catch (e) {
    await Promise.allSettled([metrics?.close(), scheduler?.close(), ...workers.map((w) => w.close(true))]);
    await rt.close();
    throw e;
  }
  // Holding the embedded database: the CLI's state commands (decisions, approve, run-once, ...)
  // reach this process through its HTTP API with a credential only this process accepts.
  let unpublish = () => {};
  if (scheduler && !s.env.DATABASE_URL) {
    const token = randomBytes(32).toString('base64url');
    allowLocalAdmin(ctx, token);
    unpublish = publishHttp(s.env.DRIFTWATCH_DATA_DIR, { url: localUrl(scheduler.server.address()), token });
  }
  ctx.logger.info({ metrics: metrics.port, http: scheduler?.port ?? null, queues: role.queues, redis: rt.redisUrl, database: s.env.DATABASE_URL ? 'postgres' : `pglite:${s.env.DRIFTWATCH_DATA_DIR}` }, 'driftwatch running');
  // One line on stdout that tools and tests can wait for.
  process.stdout.write(JSON.stringify({ event: 'ready', metrics_port: metrics.port, http_port: scheduler?.port ?? null, queues: role.queues, redis_url: rt.redisUrl }) + '\n');

  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  const signal = await new Promise<NodeJS.Signals>((resolve) => signals.forEach((sig) => process.once(sig, () => resolve(sig))));
  // A second SIGTERM/SIGINT during the shutdown means "now": running jobs are handed back at once.
  const again = new Promise<'again'>((resolve) => signals.forEach((sig) => process.once(sig, () => resolve('again'))));
  const bound = s.deployment.worker.shutdown_timeout_ms;
  ctx.logger.info({ signal, bound }, 'shutting down: taking no new jobs; waiting for running ones (send the signal again to hand them back now)');
  unpublish();
  await scheduler?.closeHttp();
  const all: Worker[] = [...workers, ...(scheduler ? [scheduler.worker] : [])];
  // close() stops fetching at once and resolves when the running jobs have finished.
  const graceful = Promise.all(all.map((w) => w.close())).then(() => 'done' as const);
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), bound).unref());
  const outcome = await Promise.race([graceful, timer, again]);
  if (outcome !== 'done') {
    const handed = (await Promise.all(all.map((w) => handBackRunningJobs(w)))).flat();
    ctx.logger.warn(
      { bound, handed_back: handed },
      `${outcome === 'timeout' ? `running jobs did not finish within worker.shutdown_timeout_ms (${bound} ms)` : 'second signal'}; handed ${handed.length} back to their queues for another worker`,
    );
  }
  await metrics.close();
  await rt.close();
  ctx.logger.info({ outcome }, 'stopped');
  // Abandoned processors may still hold sockets or timers; they must not keep the process alive.
  if (outcome !== 'done') setTimeout(() => process.exit(0), 500).unref();
  return 0;
}

/** How a local client reaches a server listening on `address` (the wildcard: loopback). */
function localUrl(address: ReturnType<import('node:net').Server['address']>): string {
  const a = address as import('node:net').AddressInfo;
  let host = a.address;
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
  else if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${a.port}`;
}

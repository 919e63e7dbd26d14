import type { Worker } from 'bullmq';
import { startMetricsServer, type QueueName } from '@driftwatch/core';
import { startScheduler } from '@driftwatch/scheduler';
import { startWorkers } from '@driftwatch/workers';
import { startRuntime, type Settings } from './runtime.js';

/**
 * A long-running process: scheduler and/or workers, /metrics on prometheus_port.
 * SIGTERM or SIGINT: stop taking jobs, let running ones finish within
 * worker.shutdown_timeout_ms (then hand them back), close everything, exit 0.
 */
export async function serve(s: Settings, role: { scheduler: boolean; queues: QueueName[] }): Promise<number> {
  const rt = await startRuntime(s);
  const { ctx } = rt;
  const metricsPort = s.env.DRIFTWATCH_METRICS_PORT ?? s.config.prometheus_port;
  let metrics;
  let scheduler;
  let workers: Worker[] = [];
  try {
    metrics = await startMetricsServer(metricsPort, rt.ready);
    if (role.scheduler) scheduler = await startScheduler(ctx, rt.workerConnection, { ready: rt.ready });
    workers = await startWorkers(ctx, rt.workerConnection, role.queues);
  } catch (e) {
    await Promise.allSettled([metrics?.close(), scheduler?.close(), ...workers.map((w) => w.close(true))]);
    await rt.close();
    throw e;
  }
  ctx.logger.info({ metrics: metrics.port, http: scheduler?.port ?? null, queues: role.queues, redis: rt.redisUrl, database: s.env.DATABASE_URL ? 'postgres' : `pglite:${s.env.DRIFTWATCH_DATA_DIR}` }, 'driftwatch running');
  // One line on stdout that tools and tests can wait for.
  process.stdout.write(JSON.stringify({ event: 'ready', metrics_port: metrics.port, http_port: scheduler?.port ?? null, queues: role.queues, redis_url: rt.redisUrl }) + '\n');

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const bound = s.deployment.worker.shutdown_timeout_ms;
  ctx.logger.info({ signal, bound }, 'shutting down: no new jobs; waiting for running ones');
  const all: Worker[] = [...workers, ...(scheduler ? [scheduler.worker] : [])];
  const graceful = Promise.all(all.map((w) => w.close()));
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), bound).unref());
  if ((await Promise.race([graceful.then(() => 'done' as const), timer])) === 'timeout') {
    ctx.logger.warn({ bound }, 'running jobs did not finish in time; handing them back (their locks lapse and another worker takes them)');
    await Promise.all(all.map((w) => w.close(true)));
  }
  await scheduler?.close();
  await metrics.close();
  await rt.close();
  ctx.logger.info('stopped');
  return 0;
}

import type { Server } from 'node:http';
import type { Worker } from 'bullmq';
import type { RedisClient as Redis } from '@driftwatch/core';
import { QUEUE_NAMES, applyFleetSettings, metricsOfRecord, onScrape, queueJobs, registerProcessor, type AppContext } from '@driftwatch/core';
import { createHttpApp } from './http/app.js';
import { listenHost } from './http/auth.js';
import { pipelineProcessor } from './pipeline.js';
import { syncJobSchedulers } from './schedules.js';
import { reconcile, startReconciler } from './reconcile.js';

export { createHttpApp, syncJobSchedulers, pipelineProcessor, reconcile };
export { allowLocalAdmin, authenticatorFor, listenHost, requireScope } from './http/auth.js';

const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed', 'waiting-children'] as const;

/**
 * Queue depth by state, exported by the scheduler only so that worker replicas don't
 * multiply it. `waiting` counts every job ready to run, prioritized ones included
 * (action jobs carry a priority, so BullMQ keeps them apart from plain waiting ones).
 */
export async function refreshQueueDepth(ctx: AppContext): Promise<void> {
  await Promise.all(
    QUEUE_NAMES.map(async (name) => {
      const c = await ctx.queues.get(name).getJobCounts(...STATES);
      const depth: Record<string, number> = {
        waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
        active: c.active ?? 0,
        delayed: c.delayed ?? 0,
        failed: c.failed ?? 0,
        completed: c.completed ?? 0,
        'waiting-children': c['waiting-children'] ?? 0,
      };
      for (const [state, n] of Object.entries(depth)) queueJobs.set({ queue: name, state }, n);
    }),
  );
}

export interface SchedulerHandle {
  worker: Worker;
  server: Server;
  port: number;
  /** Stops the HTTP server and the queue-depth refresh (the pipeline worker keeps running). */
  closeHttp(): Promise<void>;
  /** closeHttp(), then closes the pipeline worker, waiting for a running tick. */
  close(): Promise<void>;
}

/**
 * The control plane: job schedulers from config, the pipeline worker that turns ticks
 * into runs, queue-depth metrics and the figures of record from the database, and the HTTP API.
 */
export async function startScheduler(
  ctx: AppContext,
  connection: Redis,
  opts: { ready: () => Promise<boolean>; port?: number; host?: string },
): Promise<SchedulerHandle> {
  const synced = await syncJobSchedulers(ctx);
  ctx.logger.info(synced, 'job schedulers in place');
  await applyFleetSettings(ctx.queues.get('pipeline'), ctx.deployment.queues.pipeline);
  const worker = registerProcessor('pipeline', pipelineProcessor(ctx), {
    connection,
    prefix: ctx.env.DRIFTWATCH_QUEUE_PREFIX,
    deployment: ctx.deployment,
    logger: ctx.logger,
    owner: ctx.queues.owner,
  });
  // Repairs what Redis or an outage lost (schedulers, action jobs, unfinished runs): now, then periodically.
  const reconciler = startReconciler(ctx);
  await reconciler.runNow();
  // Read at each scrape of this process's /metrics.
  const stopDepth = onScrape(() => refreshQueueDepth(ctx).catch((e) => ctx.logger.warn({ err: e.message }, 'queue depth refresh failed')));
  await refreshQueueDepth(ctx);
  // The figures of record (drift, model rates, decisions, action events, application cost) come from the database, exported by this role only.
  const ofRecord = metricsOfRecord(ctx.db, { models: ctx.config.models.map((m) => m.name), baselineDays: ctx.config.baseline_days, currentDays: ctx.config.current_days, now: () => ctx.clock.now() });
  const stopRecord = onScrape(() => ofRecord.refresh().catch((e) => ctx.logger.warn({ err: e.message }, 'metrics of record refresh failed')));
  await ofRecord.refresh().catch((e) => ctx.logger.warn({ err: e.message }, 'metrics of record refresh failed'));

  const app = createHttpApp(ctx, { ready: opts.ready });
  const port = opts.port ?? ctx.deployment.http.port;
  // No credential configured: loopback only (see listenHost).
  const host = await listenHost(ctx, opts.host ?? ctx.deployment.http.host);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new Error(`HTTP port ${port} is in use; set http.port in ${ctx.env.DEPLOYMENT_CONFIG}`) : e),
    );
  });
  const actualPort = (server.address() as { port: number }).port;
  ctx.logger.info({ port: actualPort, board: ctx.env.DRIFTWATCH_ADMIN_TOKEN ? `/admin/queues` : 'off (no DRIFTWATCH_ADMIN_TOKEN)' }, 'scheduler HTTP listening');
  let httpClosed: Promise<void> | undefined;
  const closeHttp = () =>
    (httpClosed ??= new Promise<void>((r) => {
      stopDepth();
      stopRecord();
      reconciler.stop();
      // Once the calls have finished, the gateway writes its waiting interactions.
      const gateway = app.locals.gateway as { close(): Promise<void> } | undefined;
      server.close(() => void (gateway ? gateway.close().catch(() => {}) : Promise.resolve()).then(() => r()));
      server.closeIdleConnections();
      // A browser keeping a board tab open must not hold the shutdown.
      setTimeout(() => server.closeAllConnections(), 2000).unref();
    }));
  return {
    worker,
    server,
    port: actualPort,
    closeHttp,
    close: async () => {
      await closeHttp();
      await worker.close();
    },
  };
}

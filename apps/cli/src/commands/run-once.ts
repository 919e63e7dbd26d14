import { Job, QueueEvents, type Worker } from 'bullmq';
import { startRun, WORKER_QUEUES } from '@driftwatch/core';
import { startWorkers, type RunSummary } from '@driftwatch/workers';
import type { Runtime } from '../runtime.js';

/**
 * One pipeline run now for each monitored model (or one), through the real queues
 * and processors running in this process: monitors, trigger, then the actions it
 * queued. Returns the summary the CLI prints.
 */
export async function runOnce(rt: Runtime, opts: { dryRun: boolean; model?: string; timeoutMs?: number }) {
  const { ctx } = rt;
  const models = ctx.config.models.filter((m) => !opts.model || m.name === opts.model);
  if (models.length === 0) throw new Error(`--model: "${opts.model}" is not in the configuration's models (${ctx.config.models.map((m) => m.name).join(', ')})`);
  const timeout = opts.timeoutMs ?? 10 * 60_000;
  const workers: Worker[] = await startWorkers(ctx, rt.workerConnection, [...WORKER_QUEUES]);
  const events = new Map<string, QueueEvents>();
  const eventsFor = async (name: string) => {
    let e = events.get(name);
    if (!e) {
      e = new QueueEvents(name, { connection: rt.workerConnection.duplicate(), prefix: ctx.env.DRIFTWATCH_QUEUE_PREFIX });
      await e.waitUntilReady();
      events.set(name, e);
    }
    return e;
  };
  try {
    const runs: (RunSummary & { actions: unknown[] })[] = [];
    for (const m of models) {
      const triggerEvents = await eventsFor('trigger');
      const { trigger_job_id } = await startRun(ctx.queues, { model: m.name, now: ctx.clock.now(), dry_run: opts.dryRun });
      const job = await Job.fromId(ctx.queues.get('trigger'), trigger_job_id);
      if (!job) throw new Error(`trigger job ${trigger_job_id} vanished`);
      const summary = (await job.waitUntilFinished(triggerEvents, timeout)) as RunSummary;
      const actions = [];
      for (const a of summary.action_jobs) {
        const aj = await Job.fromId(ctx.queues.get(a.queue as 'reindex'), a.job_id);
        if (!aj) continue;
        try {
          actions.push({ queue: a.queue, job_id: a.job_id, ...(await aj.waitUntilFinished(await eventsFor(a.queue), timeout)) });
        } catch (e) {
          actions.push({ queue: a.queue, job_id: a.job_id, state: 'failed', error: (e as Error).message });
        }
      }
      runs.push({ ...summary, actions });
    }
    return { dry_run: opts.dryRun || ctx.config.actions.dry_run, runs };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    for (const e of events.values()) await e.close();
  }
}

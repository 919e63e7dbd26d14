import { Job, QueueEvents, type Worker } from 'bullmq';
import type { Queue } from 'bullmq';
import { startRun, WORKER_QUEUES, type QueueName } from '@driftwatch/core';
import { startWorkers, type RunSummary } from '@driftwatch/workers';
import { mapBounded } from '../bounded.js';
import type { Runtime } from '../runtime.js';

/** Models run-once has in flight at once unless told otherwise. */
export const DEFAULT_MODEL_CONCURRENCY = 8;


/**
 * One pipeline run now for each monitored model (or one), through the real queues
 * and processors running in this process: monitors, trigger, then the actions it
 * queued. Returns the summary the CLI prints.
 */
export async function runOnce(
  rt: Runtime,
  opts: {
    dryRun: boolean;
    model?: string;
    timeoutMs?: number;
    wait?: boolean;
    progress?: (line: string) => void;
    /** Models in flight at once (default DEFAULT_MODEL_CONCURRENCY); the queues' own concurrency still bounds the jobs. */
    concurrency?: number;
  },
) {
  const progress = opts.progress ?? (() => {});
  const { ctx } = rt;
  const models = ctx.config.models.filter((m) => !opts.model || m.name === opts.model);
  if (models.length === 0) throw new Error(`--model: "${opts.model}" is not in the configuration's models (${ctx.config.models.map((m) => m.name).join(', ')})`);
  const timeout = opts.timeoutMs ?? 30 * 60_000;
  // With a Redis that ends with this process, an action left waiting would be lost: see it through.
  const wait = Boolean(opts.wait) || rt.redisEphemeral;
  const workers: Worker[] = await startWorkers(ctx, rt.workerConnection, [...WORKER_QUEUES]);
  const eventsConnection = rt.workerConnection.duplicate();
  const triggerEvents = new QueueEvents('trigger', { connection: eventsConnection, prefix: ctx.env.DRIFTWATCH_QUEUE_PREFIX });
  const failures: string[] = [];
  try {
    await triggerEvents.waitUntilReady();
    const one = async (m: (typeof models)[number]): Promise<RunSummary & { actions: unknown[] }> => {
      progress(`${m.name}: running the embedding, behavior and accuracy monitors`);
      const { trigger_job_id } = await startRun(ctx.queues, { model: m.name, now: ctx.clock.now(), dry_run: opts.dryRun });
      const job = await Job.fromId(ctx.queues.get('trigger'), trigger_job_id);
      if (!job) throw new Error(`trigger job ${trigger_job_id} vanished`);
      const summary = (await job.waitUntilFinished(triggerEvents, timeout)) as RunSummary;
      for (const [child, reason] of Object.entries(summary.monitor_failures)) failures.push(`${m.name}: monitor ${child.split('.').pop()} failed: ${reason}`);
      progress(`${m.name}: ${summary.decisions.length} decision(s)${summary.decisions.length ? ': ' + summary.decisions.map((d) => `${d.action} ${d.state}`).join(', ') : ''}`);
      const actions = [];
      for (const a of summary.action_jobs) {
        progress(`${m.name}: ${a.queue} (${a.job_id}) running${wait ? '; waiting for it to finish' : ''}`);
        const settled = await settle(ctx.queues.get(a.queue as QueueName), a.job_id, timeout, wait, (state) => progress(`${m.name}: ${a.queue} still ${state}`));
        if (settled.job_state === 'failed') failures.push(`${m.name}: ${a.queue} (${a.job_id}) failed: ${settled.error}`);
        else if (settled.job_state !== 'completed' && !(settled.job_state === 'delayed' && !wait)) failures.push(`${m.name}: ${a.queue} (${a.job_id}) ${settled.job_state}${settled.note ? `: ${settled.note}` : ''}`);
        progress(`${m.name}: ${a.queue} ${settled.job_state}`);
        actions.push({ queue: a.queue, job_id: a.job_id, ...settled });
      }
      return { ...summary, actions };
    };
    // Models run concurrently, at most `concurrency` at a time; the summary lists them in configuration order.
    const runs = await mapBounded(models, opts.concurrency ?? DEFAULT_MODEL_CONCURRENCY, one);
    return { dry_run: opts.dryRun || ctx.config.actions.dry_run, waited_for_actions: wait, runs, failures };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await triggerEvents.close();
    eventsConnection.disconnect();
  }
}

/**
 * Waits until an action job has finished. Unless `wait`, a job that has gone to wait
 * in delayed (a fine-tune polling its provider, a retry backing off) is left there:
 * it stays in Redis and the fleet (`driftwatch start` or workers) carries it on.
 */
async function settle(queue: Queue, jobId: string, timeoutMs: number, wait: boolean, still: (state: string) => void): Promise<{ job_state: string; error?: string; note?: string } & Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  let told = Date.now();
  for (;;) {
    const job = await Job.fromId(queue, jobId);
    if (!job) return { job_state: 'removed' };
    const state = await job.getState();
    if (state === 'completed') return { job_state: state, ...(job.returnvalue as Record<string, unknown>) };
    if (state === 'failed') return { job_state: state, error: job.failedReason };
    if (!wait && state === 'delayed' && job.attemptsStarted > 0) {
      return { job_state: state, note: 'waiting on the provider or retrying; the fleet (driftwatch start or workers) carries it on' };
    }
    if (Date.now() > deadline) return { job_state: state, note: `still ${state} after ${timeoutMs} ms` };
    if (Date.now() - told > 10_000) {
      told = Date.now();
      still(state);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

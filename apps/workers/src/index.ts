import type { Worker } from 'bullmq';
import type { RedisClient as Redis } from '@driftwatch/core';
import { WORKER_QUEUES, applyFleetSettings, registerProcessor, type AppContext, type QueueName } from '@driftwatch/core';
import { actionProcessor } from './processors/action.js';
import { actionWithRetries, markDecisionsOfFailedJobs } from './action-lifecycle.js';
import { monitorProcessor } from './processors/monitor.js';
import { triggerProcessor } from './processors/trigger.js';
import { embedProcessor } from './processors/embed.js';
import { notifyProcessor } from './processors/notify.js';

export { monitorProcessor, triggerProcessor, actionProcessor };
export { computeMonitor, type MonitorDeps } from './processors/monitor.js';
export { freezeBaselines } from './baselines.js';
export type { RunSummary } from './processors/trigger.js';

/** Parses `--queues a,b`; an unknown name is an error that lists the valid ones. */
export function parseQueueList(value: string | undefined): QueueName[] {
  if (!value) return [...WORKER_QUEUES];
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(WORKER_QUEUES as readonly string[]).includes(n));
  if (bad.length || names.length === 0) {
    throw new Error(`--queues: unknown queue${bad.length > 1 ? 's' : ''} ${bad.join(', ') || '(none given)'}; choose from ${WORKER_QUEUES.join(', ')}`);
  }
  return [...new Set(names)] as QueueName[];
}

/** Starts one BullMQ worker per queue this process serves. */
export async function startWorkers(ctx: AppContext, connection: Redis, queues: QueueName[]): Promise<Worker[]> {
  const common = { connection, prefix: ctx.env.DRIFTWATCH_QUEUE_PREFIX, deployment: ctx.deployment, logger: ctx.logger, owner: ctx.queues.owner };
  const workers: Worker[] = [];
  for (const q of queues) {
    await applyFleetSettings(ctx.queues.get(q), ctx.deployment.queues[q]);
    if (q === 'monitor') workers.push(registerProcessor('monitor', monitorProcessor(ctx), common));
    else if (q === 'trigger') workers.push(registerProcessor('trigger', triggerProcessor(ctx), common));
    else if (q === 'reindex' || q === 'finetune' || q === 'safety') {
      const w = registerProcessor(q, actionWithRetries(ctx, q), common);
      markDecisionsOfFailedJobs(ctx, w);
      workers.push(w);
    }
    else if (q === 'embed') workers.push(registerProcessor('embed', embedProcessor(ctx), common));
    else if (q === 'notify') workers.push(registerProcessor('notify', notifyProcessor(ctx), common));
    else throw new Error(`queue ${q} is not served by workers`);
  }
  return workers;
}

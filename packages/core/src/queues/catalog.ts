import { z } from 'zod';
import type { JobsOptions } from 'bullmq';
import type { QueueSettings } from '../config/deployment.js';
import { notificationSchema } from '../notifications/events.js';

/**
 * The job catalog: every queue's name, payload schema and default job options.
 * Producers and workers import names from here; no queue name is typed twice.
 * Job data carries ids, never documents or embeddings.
 */

const modelName = z.string().min(1);
/** ISO timestamp of the run's "now": windows are computed from it, so a retry sees the same windows. */
const isoTime = z.string().datetime({ offset: true });
const runId = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'run ids use letters, digits, _ . and - only');

export const payloads = {
  /** A scheduler tick for one model: starts one run (a flow of monitors under a trigger). */
  pipeline: z.object({ model: modelName, dry_run: z.boolean().optional() }),
  /** One monitor of one run. */
  monitor: z.object({ run_id: runId, model: modelName, monitor: z.enum(['embedding', 'behavior', 'accuracy']), now: isoTime }),
  /** The trigger of one run: reads its children's results and decides. */
  trigger: z.object({ run_id: runId, model: modelName, now: isoTime, dry_run: z.boolean() }),
  /** Action jobs point at a stored decision. */
  reindex: z.object({ decision_id: z.number().int().positive() }),
  finetune: z.object({ decision_id: z.number().int().positive() }),
  safety: z.object({ decision_id: z.number().int().positive() }),
  /** Interactions stored without an embedding: embed their (scrubbed) queries, in one provider call. */
  embed: z.object({ interaction_ids: z.array(z.number().int().positive()).min(1).max(2048) }),
  /** One notification to one configured webhook (by url), retried until delivered (notifications/). */
  notify: z.object({ webhook_url: z.string().url(), notification: notificationSchema }),
} as const;

export type QueueName = keyof typeof payloads;
export const QUEUE_NAMES = Object.keys(payloads) as QueueName[];
/** Queues a `driftwatch worker --queues` process can serve (pipeline is the scheduler's own). */
export const WORKER_QUEUES: readonly QueueName[] = ['monitor', 'trigger', 'reindex', 'finetune', 'safety', 'embed', 'notify'];
export type Payload<Q extends QueueName> = z.infer<(typeof payloads)[Q]>;

/** Default job options of a queue, from its deployment settings. */
export function jobOptions(settings: QueueSettings): JobsOptions {
  return {
    attempts: settings.attempts,
    backoff: { type: settings.backoff.type, delay: settings.backoff.delay_ms, jitter: settings.backoff.jitter },
    removeOnComplete: { count: settings.remove_on_complete.count, age: settings.remove_on_complete.age_seconds },
    removeOnFail: { count: settings.remove_on_fail.count, age: settings.remove_on_fail.age_seconds },
  };
}

/** Validates a payload against the catalog; a bad payload is a permanent error (see errors.ts). */
export function parsePayload<Q extends QueueName>(q: Q, data: unknown): Payload<Q> {
  return payloads[q].parse(data) as Payload<Q>;
}

/**
 * Deterministic ids, so re-adding the same thing is a no-op in BullMQ. BullMQ ids may not contain ':'.
 * `owner` is the database's deployment id (driftwatch_deployment, created by the first migration
 * run): two databases on one Redis and prefix (a recreated database, a second deployment) never
 * share a job id, so one cannot mistake the other's finished job for its own.
 */
const owned = (owner: string | undefined, id: string) => (owner ? `${owner}.${id}` : id);
export const jobIds = {
  trigger: (run: string, owner?: string) => `trigger.${owned(owner, run)}`,
  monitor: (run: string, kind: string, owner?: string) => `monitor.${owned(owner, run)}.${kind}`,
  action: (decisionId: number, owner?: string) => `decision.${owned(owner, String(decisionId))}`,
  /** One range of interaction ids: the same range in two databases is two different jobs. */
  embed: (ids: number[], owner?: string) => `embed.${owned(owner, `${ids[0]}.${ids[ids.length - 1]}.${ids.length}`)}`,
};

/** A run id from a model and the tick time: letters, digits and . _ - only. */
export function makeRunId(model: string, at: Date): string {
  return `${at.toISOString().replace(/[-:]/g, '').replace('.', '_')}-${model.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

import { FlowProducer, Queue } from 'bullmq';
import type { RedisClient as Redis } from './redis.js';
import type { DeploymentConfig } from '../config/deployment.js';
import { QUEUE_NAMES, jobOptions, parsePayload, type Payload, type QueueName } from './catalog.js';

/**
 * The producer side of every queue in the catalog, over one Redis connection.
 * Jobs added through add() are validated against the catalog before they reach Redis.
 */
export class Queues {
  readonly flow: FlowProducer;
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    readonly connection: Redis,
    readonly prefix: string,
    readonly deployment: DeploymentConfig,
    /**
     * The deployment id of the database these queues serve (see jobIds): part of every
     * job id and carried in every job's data, so workers of another database leave the job alone.
     */
    readonly owner = '',
  ) {
    this.flow = new FlowProducer({ connection, prefix });
  }

  get(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix, defaultJobOptions: jobOptions(this.deployment.queues[name]) });
      this.queues.set(name, q);
    }
    return q;
  }

  all(): Queue[] {
    return QUEUE_NAMES.map((n) => this.get(n));
  }

  /** Adds one job; `jobId` makes the add idempotent (BullMQ ignores a second add with the same id). */
  async add<Q extends QueueName>(name: Q, data: Payload<Q>, opts: { jobId?: string; priority?: number } = {}) {
    const payload = parsePayload(name, data);
    return this.get(name).add(name, this.owner ? { ...payload, owner: this.owner } : payload, { jobId: opts.jobId, priority: opts.priority });
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.flow.close();
  }
}

import type { Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import {
  OfflineModerationProvider,
  OpenAIAnswerProvider,
  OpenAIFineTuneProvider,
  PgliteDb,
  Queues,
  deploymentConfigSchema,
  driftConfigSchema,
  getDecision,
  insertDecision,
  jobIds,
  loadEnvironment,
  metricsOfRecord,
  migrate,
  registry,
  systemClock,
  type ActionKind,
  type AppContext,
  type DecisionRow,
  type Providers,
  type Queryable,
  openAIClient,
} from '@driftwatch/core';
import type { FakeOpenAI } from './fake-openai.js';
import { startWorkers } from '@driftwatch/workers';
import { dropPrefix, REDIS_URL, tempDir, testConfig, uniquePrefix } from './env.js';

/**
 * Action workers (apps/workers startWorkers) on real Redis over an in-memory PGlite
 * database, with the providers a test gives. Short polls and retry delays.
 */
export interface ActionFixture {
  ctx: AppContext;
  prefix: string;
  dataDir: string;
  workers: Worker[];
  /** Stores a queued decision and enqueues its action job, as the trigger would. */
  decide(action: ActionKind, opts?: { windowEnd?: Date; model?: string }): Promise<{ decision: DecisionRow; job: Job }>;
  /** Waits for a decision to leave queued/running; calls `tick` every 10 ms meanwhile. */
  settle(decisionId: number, tick?: () => Promise<void>, timeoutMs?: number): Promise<DecisionRow>;
  /** The job once BullMQ has finished it (the decision is stored a moment before the job completes). */
  finishedJob(action: ActionKind, jobId: string, timeoutMs?: number): Promise<Job>;
  cleanup(): Promise<void>;
}

export async function actionFixture(o: {
  providers: Providers | ((dataDir: string) => Providers);
  workers: ActionKind[];
  config?: Record<string, unknown>;
  queues?: Record<string, unknown>;
}): Promise<ActionFixture> {
  const prefix = uniquePrefix('actions');
  const dataDir = tempDir('driftwatch-actions-');
  const db = await PgliteDb.open('memory://');
  await migrate(db);
  const quick = { attempts: 3, backoff: { type: 'fixed', delay_ms: 100, jitter: 0 }, poll_interval_ms: 150 };
  const deployment = deploymentConfigSchema.parse({
    worker: { lock_duration_ms: 5000, stalled_interval_ms: 5000 },
    queues: { reindex: { ...quick, ...(o.queues?.reindex as object) }, finetune: { ...quick, ...(o.queues?.finetune as object) }, safety: quick },
  });
  const config = driftConfigSchema.parse(testConfig(o.config ?? {}));
  const producer = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const workerConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null, enableReadyCheck: false });
  const queues = new Queues(producer, prefix, deployment);
  const ctx: AppContext = {
    env: loadEnvironment({ DRIFTWATCH_QUEUE_PREFIX: prefix, REDIS_URL, DRIFTWATCH_DATA_DIR: dataDir }),
    config,
    deployment,
    db,
    queues,
    providers: typeof o.providers === 'function' ? o.providers(dataDir) : o.providers,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
  };
  const workers = await startWorkers(ctx, workerConnection, o.workers);
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  let n = 0;
  return {
    ctx,
    prefix,
    dataDir,
    workers,
    async decide(action, opts = {}) {
      const now = new Date();
      const { row } = await insertDecision(db, {
        run_id: `test-${prefix}-${++n}`,
        model: opts.model ?? 'support-bot',
        action,
        state: 'queued',
        priority: 0,
        reason: 'test',
        dedup_key: `${prefix}:${action}:${n}`,
        window_start: new Date(now.getTime() - 7 * 86_400_000),
        window_end: opts.windowEnd ?? new Date(now.getTime() + 3_600_000),
        details: {},
      });
      const job = await queues.add(action, { decision_id: row.id }, { jobId: jobIds.action(row.id) });
      return { decision: row, job };
    },
    async settle(decisionId, tick, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const d = (await getDecision(db, decisionId))!;
        if (d.state !== 'queued' && d.state !== 'running') return d;
        if (Date.now() > until) throw new Error(`decision ${decisionId} still ${d.state} after ${timeoutMs} ms: ${JSON.stringify(d.result)}`);
        if (tick) await tick();
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async finishedJob(action, jobId, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const job = await queues.get(action).getJob(jobId);
        if (job?.finishedOn) return job;
        if (Date.now() > until) throw new Error(`job ${jobId} of ${action} not finished after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async cleanup() {
      await Promise.allSettled(workers.map((w) => w.close()));
      await queues.close();
      await Promise.allSettled([producer.quit(), workerConnection.quit()]);
      await db.close();
      await dropPrefix(prefix);
    },
  };
}

/** Sum of a metric's values whose labels include `labels`. */
/** A figure of record (e.g. retrain_events_total) as the scheduler would export it now: read from the database first. */
export async function recordedValue(db: Queryable, name: string, labels: Record<string, string>): Promise<number> {
  await metricsOfRecord(db, { models: ['support-bot'], baselineDays: 30, currentDays: 7 }).refresh();
  return metricValue(name, labels);
}

export async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const m = await registry.getSingleMetric(name)!.get();
  return m.values.filter((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x)).reduce((a, v) => a + v.value, 0);
}

/** The providers of an action run against the fake OpenAI server: its fine-tunes and answers through the official client, the offline moderation. */
export function openAIProviders(f: FakeOpenAI): Providers {
  const client = openAIClient({ apiKey: f.apiKey, baseURL: f.url });
  return { moderation: new OfflineModerationProvider(), finetune: new OpenAIFineTuneProvider(client), answers: new OpenAIAnswerProvider(client) };
}

import { OfflineAnswerProvider, OfflineEmbeddingProvider, enqueueEmbeddings, type AppContext, type Queues } from '@driftwatch/core';
import type { RequestHandler } from 'express';
import { InteractionLog, type InteractionLogOptions } from './interaction-log.js';
import { gatewayRouter, type GatewayContext } from './router.js';
import { ServingCache } from './serving-cache.js';
import { OfflineUpstream, OpenAIUpstream, type Upstream } from './upstream.js';

export * from './interaction-log.js';
export * from './router.js';
export * from './serving-cache.js';
export * from './upstream.js';

/** The upstream of this process: OPENAI_API_KEY (and OPENAI_BASE_URL) set, that server; else the offline providers. */
export function upstreamFor(ctx: Pick<AppContext, 'env' | 'providers'>): Upstream {
  if (ctx.env.OPENAI_API_KEY) return new OpenAIUpstream(ctx.env.OPENAI_API_KEY, ctx.env.OPENAI_BASE_URL);
  return new OfflineUpstream({
    answers: ctx.providers.answers ?? new OfflineAnswerProvider({ dir: `${ctx.env.DRIFTWATCH_DATA_DIR}/local-models` }),
    embeddings: ctx.providers.embeddings ?? new OfflineEmbeddingProvider(),
  });
}

export interface Gateway {
  router: ReturnType<typeof gatewayRouter>;
  log: InteractionLog;
  cache: ServingCache;
  /** Writes the interactions still waiting. */
  close(): Promise<void>;
}

/** The gateway's routes (mount under /openai/v1) with their interaction log and serving cache. */
export function createGateway(ctx: GatewayContext, o: { auth: RequestHandler; upstream?: Upstream; log?: InteractionLogOptions; cacheMs?: number; queues?: Queues }): Gateway {
  // With queues (scheduler, start), written rows get their query embedding queued at once; without, the scheduler's sweep queues them.
  const queues = o.queues;
  const onWritten = queues ? (ids: number[]) => enqueueEmbeddings(queues, ids, ctx.config.ingest.embed_batch) : undefined;
  const log = new InteractionLog(ctx.db, ctx.logger, { onWritten, ...o.log });
  const cache = new ServingCache(ctx.db, o.cacheMs);
  const router = gatewayRouter(ctx, { auth: o.auth, upstream: o.upstream ?? upstreamFor(ctx), log, cache });
  return { router, log, cache, close: () => log.close() };
}
export * from './server.js';

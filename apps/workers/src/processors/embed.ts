import { embedInteractions, type AppContext, type Processor } from '@driftwatch/core';

/** The embed queue: computes query embeddings of interactions stored without one (see core ingest/embed.ts). */
export function embedProcessor(ctx: AppContext): Processor<'embed'> {
  return async (_job, data) => embedInteractions({ db: ctx.db, config: ctx.config, provider: ctx.providers.embeddings }, data.interaction_ids);
}

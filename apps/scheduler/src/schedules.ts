import type { AppContext } from '@driftwatch/core';

/** The id of a model's job scheduler. */
export const schedulerId = (model: string) => `pipeline-${model}`;

/**
 * One BullMQ job scheduler per monitored model, upserted from config on every start,
 * so a changed cron takes effect at once and a removed model stops being monitored.
 */
export async function syncJobSchedulers(ctx: AppContext): Promise<{ upserted: string[]; removed: string[] }> {
  const q = ctx.queues.get('pipeline');
  const wanted = new Set(ctx.config.models.map((m) => schedulerId(m.name)));
  const upserted: string[] = [];
  for (const m of ctx.config.models) {
    await q.upsertJobScheduler(schedulerId(m.name), { pattern: m.schedule, tz: m.timezone }, { name: 'tick', data: { model: m.name } });
    upserted.push(schedulerId(m.name));
  }
  const removed: string[] = [];
  for (const s of await q.getJobSchedulers()) {
    const id = s.key;
    if (id.startsWith('pipeline-') && !wanted.has(id)) {
      await q.removeJobScheduler(id);
      removed.push(id);
    }
  }
  return { upserted, removed };
}

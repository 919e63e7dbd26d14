import type { AppContext } from '@driftwatch/core';

/**
 * The id of a model's job scheduler. It carries the database's deployment id, so two
 * deployments on one Redis and prefix keep their own schedulers (and neither removes the
 * other's as "no longer configured").
 */
export const schedulerId = (model: string, owner = '') => (owner ? `pipeline-${owner}-${model}` : `pipeline-${model}`);

/**
 * One BullMQ job scheduler per monitored model, upserted from config on every start,
 * so a changed cron takes effect at once and a removed model stops being monitored.
 * Each tick carries the deployment id, so only this database's pipeline worker runs it.
 */
export async function syncJobSchedulers(ctx: AppContext): Promise<{ upserted: string[]; removed: string[] }> {
  const q = ctx.queues.get('pipeline');
  const owner = ctx.queues.owner;
  const wanted = new Set(ctx.config.models.map((m) => schedulerId(m.name, owner)));
  const upserted: string[] = [];
  for (const m of ctx.config.models) {
    const id = schedulerId(m.name, owner);
    await q.upsertJobScheduler(id, { pattern: m.schedule, tz: m.timezone }, { name: 'tick', data: { model: m.name, ...(owner ? { owner } : {}) } });
    upserted.push(id);
  }
  // Ours: this deployment's ids, and the ids of this deployment's models from before ids carried one.
  const legacy = new Set(owner ? ctx.config.models.map((m) => schedulerId(m.name)) : []);
  const mine = (id: string) => (owner ? id.startsWith(`pipeline-${owner}-`) || legacy.has(id) : id.startsWith('pipeline-'));
  const removed: string[] = [];
  for (const s of await q.getJobSchedulers()) {
    const id = s.key;
    if (mine(id) && !wanted.has(id)) {
      await q.removeJobScheduler(id);
      removed.push(id);
    }
  }
  return { upserted, removed };
}

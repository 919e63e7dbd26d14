import { join } from 'node:path';
import { OfflineAnswerProvider, createProviders } from '@driftwatch/core';
import { progressOn } from '../progress.js';
import { loadSettings, openDatabase, startRuntime } from '../runtime.js';
import { parseCommand, UsageError, type Io } from './table.js';

/**
 * `driftwatch demo`: seeds the demo scenario and prints what it seeded.
 * `driftwatch demo --days N`: simulates the N days after the fine-tune (answered by the
 * served version, through the gateway) and prints the before / during / after table measured from the logs.
 * `driftwatch demo --story`: prints that table only. The demo's users talk to the offline
 * chat model (the one the offline fine-tune trains), whatever OPENAI_API_KEY says.
 */
export async function demoCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommand('demo', args, { model: { type: 'string' }, reset: { type: 'boolean' }, days: { type: 'string' }, story: { type: 'boolean' }, json: { type: 'boolean' } });
  const s = loadSettings();
  const model = (values.model as string | undefined) ?? s.config.models[0].name;
  const modelCfg = s.config.models.find((m) => m.name === model);
  if (!modelCfg) throw new UsageError(`demo: --model "${model}" is not in the configuration's models (${s.config.models.map((m) => m.name).join(', ')})`);
  const days = values.days === undefined ? null : Number(values.days);
  if (days !== null && (!Number.isInteger(days) || days <= 0 || days > 60)) throw new UsageError(`demo: --days expects a whole number of days from 1 to 60, got "${values.days}"`);
  // --days talks to the gateway and the ingest API of `start`'s HTTP server, which need Redis (the rate limit, the embed queue).
  const runtime = days !== null && !values.story ? await startRuntime(s) : null;
  const database = runtime ? { db: runtime.ctx.db, close: () => runtime.close() } : await openDatabase(s);
  try {
    const demo = await import('./demo.js');
    const answers = new OfflineAnswerProvider({ dir: join(s.env.DRIFTWATCH_DATA_DIR, 'local-models') });
    const common = { model, now: new Date(), currentDays: s.config.current_days, answers, baseModel: modelCfg.base_model };
    let out: Record<string, unknown>;
    const progress = progressOn();
    if (values.story) out = { model };
    else if (runtime && days !== null) {
      progress(`${model}: simulating ${days} day(s) of users through the gateway, answered by the served version`);
      // The demo's users talk to the offline providers (the model the offline fine-tune trains), whatever OPENAI_API_KEY says.
      const offline = createProviders({ ...s.env, OPENAI_API_KEY: undefined });
      const ctx = { ...runtime.ctx, env: { ...runtime.ctx.env, OPENAI_API_KEY: undefined }, providers: { ...offline, answers } };
      out = await demo.continueDemo(ctx, { model, now: common.now, days, progress });
    } else {
      progress(`${model}: seeding ${s.config.baseline_days + s.config.current_days} days of interactions, embeddings and evaluations`);
      out = await demo.seedDemo(database.db, { ...common, baselineDays: s.config.baseline_days, reset: Boolean(values.reset) });
    }
    if (!values.story) progress(`${model}: done`);
    progress.done();
    if (days !== null || values.story) {
      const story = await demo.demoStory(database.db, model, new Date());
      out = { ...out, story };
      if (!values.json) {
        io.stdout(demo.formatStory(story) + '\n');
        return 0;
      }
    }
    io.stdout(JSON.stringify(out, null, 2) + '\n');
    return 0;
  } finally {
    await database.close();
  }
}

import { loadSettings, openDatabase } from '../runtime.js';
import { parseCommand, UsageError, type Io } from './table.js';

/** `driftwatch demo`: seeds the demo scenario and prints what it seeded. */
export async function demoCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommand('demo', args, { model: { type: 'string' }, reset: { type: 'boolean' } });
  const s = loadSettings();
  const model = (values.model as string | undefined) ?? s.config.models[0].name;
  if (!s.config.models.some((m) => m.name === model)) throw new UsageError(`demo: --model "${model}" is not in the configuration's models (${s.config.models.map((m) => m.name).join(', ')})`);
  const database = await openDatabase(s);
  try {
    const { seedDemo } = await import('./demo.js');
    const out = await seedDemo(database.db, { model, now: new Date(), baselineDays: s.config.baseline_days, currentDays: s.config.current_days, reset: Boolean(values.reset) });
    io.stdout(JSON.stringify(out, null, 2) + '\n');
    return 0;
  } finally {
    await database.close();
  }
}

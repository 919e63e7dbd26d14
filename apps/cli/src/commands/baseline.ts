import { MONITOR_KINDS, createProviders, listBaselines, releaseBaselines, type MonitorKind } from '@driftwatch/core';
import { freezeBaselines } from '@driftwatch/workers';
import { loadSettings, openDatabase } from '../runtime.js';
import { parseCommand, UsageError, type Io } from './table.js';

export const baselineUsage = `Usage: driftwatch baseline freeze MODEL [--from ISO] [--to ISO] [--monitors embedding,behavior,accuracy] [--json]
       driftwatch baseline show [MODEL] [--json]
       driftwatch baseline release MODEL

freeze: samples MODEL's baseline window once per monitor, as a run would (same seeded
uniform sample, same sizes; the behaviour sample is moderated) and stores the samples and
figures as the baseline in force. Every run then compares its current window with it, without
re-reading the history, until the next freeze replaces it or release takes it out of force.
Runs record which baseline they used (drift_runs.baseline_id, and the result's reason).
  --from ISO, --to ISO   the window to freeze (default: the rolling baseline window as of now:
                         baseline_days ending current_days ago)
  --monitors LIST        only these monitors (default all three)
  --json                 print the stored baselines as JSON
show: baselines of MODEL (or every model), newest first, with the one in force marked.
release: runs of MODEL go back to the rolling baseline window.`;

function date(value: string | boolean | undefined, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(String(value));
  if (Number.isNaN(d.getTime())) throw new UsageError(`baseline: ${flag} expects an ISO date or timestamp (e.g. 2026-05-01 or 2026-05-01T00:00:00Z), got "${value}"`);
  return d;
}

/** `driftwatch baseline freeze|show|release`. */
export async function baselineCommand(args: string[], io: Io): Promise<number> {
  if (args.includes('--help') || args.includes('-h') || args.length === 0) {
    io.stdout(baselineUsage + '\n');
    return args.length === 0 ? 2 : 0;
  }
  const [sub, ...rest] = args;
  const { values, positionals } = parseCommand(
    `baseline ${sub}`,
    rest,
    { from: { type: 'string' }, to: { type: 'string' }, monitors: { type: 'string' }, json: { type: 'boolean' } },
    true,
  );
  const s = loadSettings();
  const model = positionals[0];
  if ((sub === 'freeze' || sub === 'release') && !model) throw new UsageError(`baseline ${sub}: expected a MODEL (one of ${s.config.models.map((m) => m.name).join(', ')})`);
  if (model && !s.config.models.some((m) => m.name === model)) throw new UsageError(`baseline: "${model}" is not in the configuration's models (${s.config.models.map((m) => m.name).join(', ')})`);
  if (!['freeze', 'show', 'release'].includes(sub)) throw new UsageError(`baseline: unknown subcommand "${sub}"; expected freeze, show or release`);
  const { db, close } = await openDatabase(s);
  try {
    if (sub === 'freeze') {
      const monitors = values.monitors ? String(values.monitors).split(',').map((x) => x.trim()) : [...MONITOR_KINDS];
      const bad = monitors.filter((m) => !(MONITOR_KINDS as readonly string[]).includes(m));
      if (bad.length) throw new UsageError(`baseline freeze: --monitors: unknown ${bad.join(', ')}; choose from ${MONITOR_KINDS.join(', ')}`);
      const from = date(values.from, '--from');
      const to = date(values.to, '--to') ?? (from ? new Date() : undefined);
      let window;
      if (from || to) {
        const start = from ?? new Date(to!.getTime() - s.config.baseline_days * 86_400_000);
        if (!(start < to!)) throw new UsageError(`baseline freeze: --from (${start.toISOString()}) must be before --to (${to!.toISOString()})`);
        window = { start, end: to! };
      }
      const providers = createProviders(s.env);
      const frozen = await freezeBaselines({ db, config: s.config, moderation: providers.moderation }, model, { window, monitors: monitors as MonitorKind[] });
      if (values.json) io.stdout(JSON.stringify(frozen, null, 2) + '\n');
      else {
        for (const b of frozen) io.stdout(`${model}: ${b.monitor} baseline ${b.id} frozen: ${b.n} ${b.monitor === 'accuracy' ? 'labelled items' : 'rows'} from ${b.window_start.toISOString()} to ${b.window_end.toISOString()}\n`);
        if (frozen.some((b) => b.n === 0)) io.stderr(`driftwatch: baseline freeze: some baselines are empty: those monitors will say insufficient_data until the next freeze\n`);
      }
      return 0;
    }
    if (sub === 'release') {
      const n = await releaseBaselines(db, model);
      io.stdout(`${model}: ${n} baseline(s) released; runs use the rolling baseline window again\n`);
      return 0;
    }
    const rows = await listBaselines(db, model);
    if (values.json) io.stdout(JSON.stringify(rows, null, 2) + '\n');
    else if (rows.length === 0) io.stdout(`no frozen baselines${model ? ` for ${model}` : ''}: runs use the rolling baseline window\n`);
    else for (const b of rows) io.stdout(`${String(b.id).padStart(5)}  ${b.model}  ${b.monitor.padEnd(9)}  n=${String(b.n).padEnd(6)} ${b.window_start.toISOString()} .. ${b.window_end.toISOString()}  ${b.replaced_at ? `replaced ${b.replaced_at.toISOString()}` : 'IN FORCE'}\n`);
    return 0;
  } finally {
    await close();
  }
}

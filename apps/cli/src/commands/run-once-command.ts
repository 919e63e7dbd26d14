import { loadSettings, startRuntime } from '../runtime.js';
import { progressOn } from '../progress.js';
import { remoteFor, remoteRunOnce } from '../remote.js';
import { runOnce } from './run-once.js';
import { parseCommand, UsageError, type Io } from './table.js';

/** `driftwatch run-once`: prints the summary; exit 1 when a monitor or action failed, naming it on stderr. */
export async function runOnceCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommand('run-once', args, { 'dry-run': { type: 'boolean' }, model: { type: 'string' }, wait: { type: 'boolean' }, timeout: { type: 'string' }, concurrency: { type: 'string' } });
  const timeoutS = values.timeout === undefined ? 1800 : Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError(`run-once: --timeout expects seconds (a positive number), got "${values.timeout}"`);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) throw new UsageError(`run-once: --concurrency expects a positive integer, got "${values.concurrency}"`);
  const s = loadSettings();
  if (values.model !== undefined && !s.config.models.some((m) => m.name === values.model)) {
    throw new UsageError(`run-once: --model "${values.model}" is not in the configuration's models (${s.config.models.map((m) => m.name).join(', ')})`);
  }
  const opts = { dryRun: Boolean(values['dry-run']), model: values.model as string | undefined, wait: Boolean(values.wait), timeoutMs: timeoutS * 1000 };
  // `start` holds the embedded database: its workers run it, started and followed over HTTP (POST/GET /v1/runs).
  const remote = remoteFor(s);
  const rt = remote ? null : await startRuntime(s);
  const progress = progressOn();
  try {
    const summary = rt
      ? await runOnce(rt, { ...opts, progress, concurrency })
      : await remoteRunOnce(remote!, { ...opts, models: s.config.models.filter((m) => !opts.model || m.name === opts.model).map((m) => m.name), configDryRun: s.config.actions.dry_run, progress });
    progress.done();
    io.stdout(JSON.stringify(summary, null, 2) + '\n');
    if (summary.failures.length) {
      for (const f of summary.failures) io.stderr(`driftwatch: run-once: ${f}\n`);
      return 1;
    }
    return 0;
  } finally {
    progress.done();
    await rt?.close();
  }
}

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, RedisUnavailableError, PermanentError, WORKER_QUEUES, migrate } from '@driftwatch/core';
import { parseQueueList } from '@driftwatch/workers';
import { DECISION_STATES, approveCommand, decisionsCommand, formatDecisions, rejectCommand } from './commands/decisions.js';
import { runOnce } from './commands/run-once.js';
import { DataDirInUseError, loadSettings, openDatabase, startRuntime } from './runtime.js';
import { serve } from './serve.js';

const HELP = `driftwatch: drift-aware retraining pipeline for LLM applications

Usage: driftwatch <command> [options]

Commands:
  start                       scheduler, every worker and the HTTP server in one process
  scheduler                   job schedulers, HTTP API (ingest, approvals, Bull Board), queue metrics
  worker --queues a,b         workers for some queues (${WORKER_QUEUES.join(', ')}; default: all)
  run-once [--dry-run] [--model NAME] [--wait] [--timeout SECONDS]
                              one pipeline run now; prints a JSON summary of results and decisions.
                              Actions that wait on a provider are left to the fleet unless --wait
                              (always waited for when this process started its own Redis)
  migrate                     apply sql/schema.sql (idempotent)
  demo [--model NAME] [--reset]
                              seed the original design's demo: music questions drifting to
                              programming questions (accuracy 92% -> 78%, refusals 3% -> 12%)
  compare --baseline F --current F [--kind embedding|behavior|accuracy] [--json]
          [--html OUT] [--config F] [--seed N] [--fail-on-drift]
                              compare two files offline (see README)
  decisions [--state S] [--model M] [--limit N] [--json]
                              recent decisions and their state
  approve ID [--by NAME]      approve a decision waiting for approval
  reject ID [--by NAME]       reject a decision waiting for approval

Environment: DRIFT_CONFIG (default config/drift_config.yaml), DEPLOYMENT_CONFIG,
DATABASE_URL (unset: embedded PGlite in DRIFTWATCH_DATA_DIR, default .driftwatch),
REDIS_URL (unset: 127.0.0.1:6379, or a redis-server started for this process),
OPENAI_API_KEY, OPENAI_BASE_URL, DRIFTWATCH_ADMIN_TOKEN, DRIFTWATCH_METRICS_PORT, LOG_LEVEL.
`;

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };
const stdio: Out = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

function positiveId(value: string | undefined, cmd: string): number {
  const id = Number(value);
  if (!value || !Number.isInteger(id) || id <= 0) throw new UsageError(`${cmd}: expected a decision ID (a positive integer), got ${value === undefined ? 'nothing' : `"${value}"`}; list them with \`driftwatch decisions\``);
  return id;
}

class UsageError extends Error {}

async function dispatch(argv: string[], io: Out): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    io.stdout(HELP);
    return 0;
  }
  if (cmd === 'compare') {
    const { compareCommand } = await import('./commands/compare.js');
    return compareCommand(rest, io);
  }

  type Parsed = { values: Record<string, string | boolean | undefined>; positionals: string[] };
  const parse = (options: NonNullable<ParseArgsConfig['options']> = {}, allowPositionals = false): Parsed => {
    try {
      return parseArgs({ args: rest, options, allowPositionals, strict: true }) as Parsed;
    } catch (e) {
      throw new UsageError(`${cmd}: ${(e as Error).message}`);
    }
  };

  switch (cmd) {
    case 'migrate': {
      parse();
      const s = loadSettings();
      const database = await openDatabase(s);
      await migrate(database.db);
      await database.close();
      io.stdout(`schema applied to ${s.env.DATABASE_URL ? 'Postgres (DATABASE_URL)' : `embedded database in ${s.env.DRIFTWATCH_DATA_DIR}`}\n`);
      return 0;
    }
    case 'demo': {
      const { values } = parse({ model: { type: 'string' }, reset: { type: 'boolean' } });
      const s = loadSettings();
      const model = (values.model as string | undefined) ?? s.config.models[0].name;
      if (!s.config.models.some((m) => m.name === model)) throw new UsageError(`demo: --model "${model}" is not in the configuration's models (${s.config.models.map((m) => m.name).join(', ')})`);
      const database = await openDatabase(s);
      try {
        const { seedDemo } = await import('./commands/demo.js');
        const out = await seedDemo(database.db, { model, now: new Date(), baselineDays: s.config.baseline_days, currentDays: s.config.current_days, reset: Boolean(values.reset) });
        io.stdout(JSON.stringify(out, null, 2) + '\n');
        return 0;
      } finally {
        await database.close();
      }
    }
    case 'start':
      parse();
      return serve(loadSettings(), { scheduler: true, queues: [...WORKER_QUEUES] });
    case 'scheduler':
      parse();
      return serve(loadSettings(), { scheduler: true, queues: [] });
    case 'worker': {
      const { values } = parse({ queues: { type: 'string' } });
      let queues;
      try {
        queues = parseQueueList(values.queues as string | undefined);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      return serve(loadSettings(), { scheduler: false, queues });
    }
    case 'run-once': {
      const { values } = parse({ 'dry-run': { type: 'boolean' }, model: { type: 'string' }, wait: { type: 'boolean' }, timeout: { type: 'string' } });
      const timeoutS = values.timeout === undefined ? 1800 : Number(values.timeout);
      if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError(`run-once: --timeout expects seconds (a positive number), got "${values.timeout}"`);
      const rt = await startRuntime(loadSettings());
      try {
        const summary = await runOnce(rt, { dryRun: Boolean(values['dry-run']), model: values.model as string | undefined, wait: Boolean(values.wait), timeoutMs: timeoutS * 1000 });
        io.stdout(JSON.stringify(summary, null, 2) + '\n');
        return 0;
      } finally {
        await rt.close();
      }
    }
    case 'decisions': {
      const { values } = parse({ state: { type: 'string' }, model: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } });
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit <= 0) throw new UsageError(`decisions: --limit expects a positive integer, got "${values.limit}"`);
      if (values.state !== undefined && !(DECISION_STATES as readonly string[]).includes(values.state as string)) {
        throw new UsageError(`decisions: --state expects one of ${DECISION_STATES.join(', ')}, got "${values.state}"`);
      }
      const s = loadSettings();
      const database = await openDatabase(s);
      try {
        const rows = await decisionsCommand(database.db, { state: values.state as string, model: values.model as string, limit });
        io.stdout(values.json ? JSON.stringify({ decisions: rows }, null, 2) + '\n' : formatDecisions(rows) + '\n');
        return 0;
      } finally {
        await database.close();
      }
    }
    case 'approve':
    case 'reject': {
      const { values, positionals } = parse({ by: { type: 'string' } }, true);
      const id = positiveId(positionals[0], cmd);
      const by = (values.by as string | undefined) ?? process.env.USER ?? 'cli';
      const rt = await startRuntime(loadSettings());
      try {
        const row = cmd === 'approve' ? await approveCommand(rt, id, by) : await rejectCommand(rt, id, by);
        io.stdout(`decision ${row.id} (${row.action} for ${row.model}) is now ${row.state}, by ${row.decided_by}\n`);
        return 0;
      } finally {
        await rt.close();
      }
    }
    default:
      throw new UsageError(`unknown command "${cmd}"; run \`driftwatch --help\``);
  }
}

/** Runs a command; returns the exit code. Configuration and usage errors exit 2 before anything starts. */
export async function main(argv: string[], io: Out = stdio): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError || e instanceof RedisUnavailableError || e instanceof PermanentError || e instanceof DataDirInUseError) {
      io.stderr(`driftwatch: ${e.message}\n`);
      return 2;
    }
    io.stderr(`driftwatch: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}

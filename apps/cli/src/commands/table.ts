import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Where a command writes: stdout for its result, stderr for messages. */
export interface Io {
  stdout(s: string): void;
  stderr(s: string): void;
}

/** Bad words on the command line: exit 2 with the message. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * One subcommand. `summary` is its line in `driftwatch --help`; `usage` is what
 * `driftwatch NAME --help` prints; `run` gets the words after the command's name.
 * A command's code lives in its own module, imported when it runs, so that
 * `driftwatch --help` loads nothing heavy.
 */
export interface Command {
  summary: string;
  usage: string;
  /** The command prints its own --help (its usage lives beside its parser). */
  ownHelp?: boolean;
  run(args: string[], io: Io): Promise<number>;
}

export type Parsed = { values: Record<string, string | boolean | undefined>; positionals: string[] };

/** node:util parseArgs, strict, with its errors as usage errors naming the command. */
export function parseCommand(cmd: string, args: string[], options: NonNullable<ParseArgsConfig['options']> = {}, allowPositionals = false): Parsed {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true }) as Parsed;
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message}; see \`driftwatch ${cmd} --help\``);
  }
}

/** A positive integer id from the command line, or a usage error saying where to find one. */
export function positiveId(value: string | undefined, cmd: string, what = 'a decision ID', listWith = 'driftwatch decisions'): number {
  const id = Number(value);
  if (!value || !Number.isInteger(id) || id <= 0) throw new UsageError(`${cmd}: expected ${what} (a positive integer), got ${value === undefined ? 'nothing' : `"${value}"`}; list them with \`${listWith}\``);
  return id;
}

/**
 * Every subcommand, in the order `driftwatch --help` lists them. To add one: a module
 * in commands/ with its code, and one entry here.
 */
export const COMMANDS: Record<string, Command> = {
  start: {
    summary: 'scheduler, every worker and the HTTP server in one process',
    usage: `Usage: driftwatch start

Runs the scheduler (job schedulers, HTTP API, Bull Board, metrics of record) and a worker for
every queue in one process, until SIGTERM or Ctrl-C. Prints {"event":"ready",...} on stdout
when it serves.`,
    run: async (args) => {
      parseCommand('start', args);
      const [{ serve }, { loadSettings }, { WORKER_QUEUES }] = await Promise.all([import('../serve.js'), import('../runtime.js'), import('@driftwatch/core')]);
      return serve(loadSettings(), { scheduler: true, queues: [...WORKER_QUEUES] });
    },
  },
  scheduler: {
    summary: 'job schedulers, HTTP API (ingest, approvals, Bull Board), queue metrics',
    usage: `Usage: driftwatch scheduler

The control plane: one job scheduler per monitored model, the pipeline worker, the HTTP API
and the queue-depth metrics. One per fleet.`,
    run: async (args) => {
      parseCommand('scheduler', args);
      const [{ serve }, { loadSettings }] = await Promise.all([import('../serve.js'), import('../runtime.js')]);
      return serve(loadSettings(), { scheduler: true, queues: [] });
    },
  },
  worker: {
    summary: 'workers for some queues (--queues monitor,trigger,reindex,finetune,safety)',
    usage: `Usage: driftwatch worker [--queues a,b,...]

Processes jobs of the named queues (default: every worker queue). Start as many as you like
against the same Redis and database; SIGTERM drains, a second SIGTERM hands jobs back.`,
    run: async (args) => {
      const { values } = parseCommand('worker', args, { queues: { type: 'string' } });
      const [{ serve }, { loadSettings }, { parseQueueList }] = await Promise.all([import('../serve.js'), import('../runtime.js'), import('@driftwatch/workers')]);
      let queues;
      try {
        queues = parseQueueList(values.queues as string | undefined);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      return serve(loadSettings(), { scheduler: false, queues });
    },
  },
  'run-once': {
    summary: 'one pipeline run now; prints a JSON summary (exit 1 if a monitor or action failed)',
    usage: `Usage: driftwatch run-once [--dry-run] [--model NAME] [--wait] [--timeout SECONDS] [--concurrency N]

Runs every monitor of every configured model (or one), the trigger and the actions it decides,
through the real queues, and prints one JSON summary. Actions that wait on a provider (a
fine-tune polling) are left to the fleet unless --wait (always waited for when this process
started its own Redis). Exit 0 when everything ran, 1 when a monitor or action failed (named
on stderr), 2 on bad usage or an unreachable Redis or database.
  --dry-run          record decisions as skipped; call nothing external
  --model NAME       only this model
  --wait             wait for actions that wait on their provider
  --timeout SECONDS  give up waiting after this long (default 1800)
  --concurrency N    models run at once (default 8; the queues' concurrency still applies)`,
    run: async (args, io) => (await import('./run-once-command.js')).runOnceCommand(args, io),
  },
  migrate: {
    summary: 'apply pending database migrations (--status: list them)',
    usage: `Usage: driftwatch migrate [--status]

Applies the numbered migrations in sql/ that the database has not seen yet, each once, in
order, each in its own transaction. --status lists every migration and when it was applied.`,
    run: async (args, io) => (await import('./migrate.js')).migrateCommand(args, io),
  },
  demo: {
    summary: "seed the original design's demo (music -> programming questions); --days N: the days after the fine-tune",
    usage: `Usage: driftwatch demo [--model NAME] [--reset]
       driftwatch demo --days N [--json]
       driftwatch demo --story [--json]

Seeds the demo scenario into the database: a chatbot about music whose users start asking
programming questions in the last current_days days. Every answer is the offline chat
model's (its base model knows music, not programming): accuracy about 92% -> 79%,
refusals about 2% -> 17%. --reset deletes the model's logs first.
--days N simulates the N days after a fine-tune (the history moves N days back; the same
users ask, answered by the version served now) and prints the before / during / after
table of accuracy, refusals, feedback and cost per day, measured from the logs.
--story prints that table only.`,
    run: async (args, io) => (await import('./demo-command.js')).demoCommand(args, io),
  },
  compare: {
    summary: 'compare two files offline (embeddings, interactions or evaluations)',
    usage: 'Usage: driftwatch compare --baseline FILE --current FILE [options]',
    ownHelp: true,
    run: async (args, io) => (await import('./compare.js')).compareCommand(args, io),
  },
  alerts: {
    summary: 'write the Prometheus alert rules with the thresholds of a drift config',
    usage: 'Usage: driftwatch alerts [--config FILE] [--output FILE] [--for DURATION]',
    ownHelp: true,
    run: async (args, io) => (await import('./alerts.js')).alertsCommand(args, io),
  },
  decisions: {
    summary: 'recent decisions and their state',
    usage: `Usage: driftwatch decisions [--state S] [--model M] [--limit N] [--json]
       driftwatch decisions show ID [--json]

Lists recent decisions, newest first: id, model, action, state, who decided and why.
\`decisions show ID\` prints one in full: for a fine-tune, the training file kept, its
examples, every exclusion and redaction, the cost estimate and final cost, and the gate.`,
    run: async (args, io) => (await import('./decisions.js')).decisionsListCommand(args, io),
  },
  approve: {
    summary: 'approve a decision waiting for approval',
    usage: `Usage: driftwatch approve ID [--by NAME]

Queues a decision that waits in awaiting_approval, recording who approved it and when.`,
    run: async (args, io) => (await import('./decisions.js')).verdictCommand('approve', args, io),
  },
  reject: {
    summary: 'reject a decision waiting for approval',
    usage: `Usage: driftwatch reject ID [--by NAME]

Rejects a decision that waits in awaiting_approval, recording who rejected it and when.`,
    run: async (args, io) => (await import('./decisions.js')).verdictCommand('reject', args, io),
  },
  gateway: {
    summary: 'the gateway role: only the OpenAI-compatible routes (/openai/v1), stateless, any number of replicas',
    usage: 'Usage: driftwatch gateway [--port N]',
    ownHelp: true,
    run: async (args, io) => {
      const m = await import('./gateway.js');
      if (args.includes('--help') || args.includes('-h')) {
        io.stdout(m.gatewayUsage + '\n');
        return 0;
      }
      return m.gatewayCommand(args, io);
    },
  },
  baseline: {
    summary: 'freeze, show or release the reference baseline runs compare with',
    usage: 'Usage: driftwatch baseline freeze MODEL [--from ISO] [--to ISO] | show [MODEL] | release MODEL',
    ownHelp: true,
    run: async (args, io) => (await import('./baseline.js')).baselineCommand(args, io),
  },
  models: {
    summary: 'serving state: the version and safety policy each model serves, and its versions',
    usage: 'Usage: driftwatch models [NAME] [--json]',
    ownHelp: true,
    run: async (args, io) => (await import('./models.js')).modelsCommand(args, io),
  },
  rollback: {
    summary: 'serve the previous (or a named) model version again, recorded as a decision',
    usage: 'Usage: driftwatch rollback NAME [--to VERSION|base] [--by WHO] [--reason TEXT] [--json]',
    ownHelp: true,
    run: async (args, io) => (await import('./models.js')).rollbackCommand(args, io),
  },
  policy: {
    summary: 'policy rollback NAME: put the previous safety policy back in force',
    usage: 'Usage: driftwatch policy rollback NAME [--by WHO] [--reason TEXT] [--json]',
    ownHelp: true,
    run: async (args, io) => (await import('./models.js')).policyCommand(args, io),
  },
  keys: {
    summary: 'API keys: keys create --name N --scope ingest|admin, keys list, keys revoke ID',
    usage: 'Usage: driftwatch keys create --name NAME --scope ingest|admin [--json] | keys list [--json] | keys revoke ID',
    ownHelp: true,
    run: async (args, io) => (await import('./keys.js')).keysCommand(args, io),
  },
  ingest: {
    summary: 'ingest FILE.jsonl [--type T] [--resume]: stream a file of events to POST /v1/ingest',
    usage: 'Usage: driftwatch ingest FILE.jsonl [--type T] [--resume] [--url URL] [--api-key KEY] [--batch N]',
    ownHelp: true,
    run: async (args, io) => (await import('./ingest.js')).ingestCommand(args, io),
  },
};

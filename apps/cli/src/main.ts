import { COMMANDS, UsageError, type Io } from './commands/table.js';

const ENVIRONMENT = `Environment: DRIFT_CONFIG (default config/drift_config.yaml), DEPLOYMENT_CONFIG,
DATABASE_URL (unset: embedded PGlite in DRIFTWATCH_DATA_DIR, default .driftwatch),
REDIS_URL (unset: 127.0.0.1:6379, or a redis-server started for this process),
OPENAI_API_KEY, OPENAI_BASE_URL, DRIFTWATCH_ADMIN_TOKEN, DRIFTWATCH_METRICS_PORT, LOG_LEVEL.`;

function help(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const lines = names.map((n) => `  ${n.padEnd(width)}${COMMANDS[n].summary}`);
  return `driftwatch: drift-aware retraining pipeline for LLM applications

Usage: driftwatch <command> [options]     (driftwatch <command> --help for its options)

Commands:
${lines.join('\n')}

${ENVIRONMENT}
`;
}

/** The error, or one of the classes it extends (DecisionStateError is a PermanentError), is expected. */
function expected(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (EXPECTED.has(e.name)) return true;
  for (let p = Object.getPrototypeOf(e); p && p !== Error.prototype; p = Object.getPrototypeOf(p)) {
    if (EXPECTED.has(p.constructor?.name)) return true;
  }
  return false;
}

const stdio: Io = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

/**
 * Errors whose message is the whole story: one line, exit 2. Matched by name so that
 * this module (and `driftwatch --help`) loads nothing of the core.
 */
const EXPECTED = new Set(['ConfigError', 'UsageError', 'RedisUnavailableError', 'PermanentError', 'DataDirInUseError', 'MigrationError', 'DatabaseUnavailableError', 'DecisionNotFoundError']);

/** Runs a command; returns the exit code. Configuration and usage errors exit 2 before anything starts. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      io.stdout(help());
      return 0;
    }
    const command = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
    if (!command) throw new UsageError(`unknown command "${cmd}"; run \`driftwatch --help\``);
    if (!command.ownHelp && (rest.includes('--help') || rest.includes('-h'))) {
      io.stdout(command.usage.endsWith('\n') ? command.usage : command.usage + '\n');
      return 0;
    }
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError || expected(e)) {
      io.stderr(`driftwatch: ${(e as Error).message}\n`);
      return 2;
    }
    io.stderr(`driftwatch: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}

import { approveDecision, listDecisions, rejectDecision, type Db, type DecisionRow, type DecisionState } from '@driftwatch/core';
import { loadSettings, openDatabase, startRuntime, type Runtime } from '../runtime.js';
import { remoteDecisions, remoteFor, remoteVerdict } from '../remote.js';
import { parseCommand, positiveId, UsageError, type Io } from './table.js';

/** The reason, and for a failed decision the error that ended it. */
function outcome(d: DecisionRow): string {
  const error = d.state === 'failed' && d.result && typeof d.result.error === 'string' ? ` -- failed: ${d.result.error}` : '';
  return d.reason + error;
}

export const DECISION_STATES: readonly DecisionState[] = ['queued', 'awaiting_approval', 'running', 'succeeded', 'failed', 'skipped', 'rejected'];

/** Recent decisions, newest first, as a table: who decided and when, and why. */
export function formatDecisions(rows: DecisionRow[]): string {
  if (rows.length === 0) return 'no decisions yet';
  const at = (t: Date | string | null) => (t ? new Date(t).toISOString().slice(0, 19) + 'Z' : '-');
  const head = ['ID', 'CREATED', 'MODEL', 'ACTION', 'STATE', 'BY', 'DECIDED', 'REASON'];
  const lines = rows.map((d) => [String(d.id), at(d.created_at), d.model, d.action, d.state, d.decided_by ?? '-', at(d.decided_at), outcome(d)]);
  const widths = head.map((h, i) => Math.min(40, Math.max(h.length, ...lines.map((l) => l[i].length))));
  const fmt = (cols: string[]) => cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [fmt(head), ...lines.map(fmt)].join('\n');
}

export async function decisionsCommand(db: Db, opts: { state?: string; model?: string; limit?: number }) {
  return listDecisions(db, { state: opts.state as DecisionState | undefined, model: opts.model, limit: opts.limit });
}

export async function approveCommand(rt: Runtime, id: number, by: string) {
  return approveDecision(rt.ctx.db, rt.ctx.queues, id, by);
}

export async function rejectCommand(rt: Runtime, id: number, by: string) {
  return rejectDecision(rt.ctx.db, id, by);
}

/** `driftwatch decisions`: the table, or --json; `driftwatch decisions show ID` (decision-show.ts). */
export async function decisionsListCommand(args: string[], io: Io): Promise<number> {
  if (args[0] === 'show') {
    const show = await import('./decision-show.js');
    if (args.includes('--help') || args.includes('-h')) {
      io.stdout(show.DECISION_SHOW_USAGE + '\n');
      return 0;
    }
    return show.decisionShowCommand(args.slice(1), io);
  }
  const { values } = parseCommand('decisions', args, { state: { type: 'string' }, model: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } });
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit <= 0) throw new UsageError(`decisions: --limit expects a positive integer, got "${values.limit}"`);
  if (values.state !== undefined && !(DECISION_STATES as readonly string[]).includes(values.state as string)) {
    throw new UsageError(`decisions: --state expects one of ${DECISION_STATES.join(', ')}, got "${values.state}"`);
  }
  const s = loadSettings();
  const opts = { state: values.state as string, model: values.model as string, limit };
  const print = (rows: DecisionRow[]) => io.stdout(values.json ? JSON.stringify({ decisions: rows }, null, 2) + '\n' : formatDecisions(rows) + '\n');
  // `start` holds the embedded database: ask it over HTTP.
  const remote = remoteFor(s);
  if (remote) {
    print(await remoteDecisions(remote, opts));
    return 0;
  }
  const database = await openDatabase(s);
  try {
    print(await decisionsCommand(database.db, opts));
    return 0;
  } finally {
    await database.close();
  }
}

/** `driftwatch approve ID` / `driftwatch reject ID`. */
export async function verdictCommand(cmd: 'approve' | 'reject', args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(cmd, args, { by: { type: 'string' } }, true);
  const id = positiveId(positionals[0], cmd);
  const by = (values.by as string | undefined) ?? process.env.USER ?? 'cli';
  const s = loadSettings();
  const print = (row: DecisionRow) => io.stdout(`decision ${row.id} (${row.action} for ${row.model}) is now ${row.state}, by ${row.decided_by}\n`);
  // `start` holds the embedded database: approve or reject through its HTTP API.
  const remote = remoteFor(s);
  if (remote) {
    print(await remoteVerdict(remote, cmd, id, by));
    return 0;
  }
  const rt = await startRuntime(s);
  try {
    print(cmd === 'approve' ? await approveCommand(rt, id, by) : await rejectCommand(rt, id, by));
    return 0;
  } finally {
    await rt.close();
  }
}

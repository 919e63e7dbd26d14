import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  PermanentError,
  Queues,
  deploymentId,
  getPolicyInForce,
  getServingState,
  notifyRollback,
  probeRedis,
  redisAddress,
  redisConnection,
  rollbackModel,
  rollbackPolicy,
  type Db,
  type PolicyInForce,
  type ServingState,
} from '@driftwatch/core';
import { loadSettings, openDatabase, type Settings } from '../runtime.js';
import { remoteFor, remoteRollback, remoteServing } from '../remote.js';

type Io = { stdout(s: string): void; stderr(s: string): void };

export const modelsUsage = `Usage: driftwatch models [NAME] [--json]

The serving state of every monitored model (or of NAME): the version served (the promoted
fine-tune, else the base model), its provider model, when it was promoted and by which
decision, the safety policy in force, and the history of versions with their evaluation-gate
figures. The same as GET /v1/models and GET /v1/models/NAME/policy.`;

export const rollbackUsage = `Usage: driftwatch rollback NAME [--to VERSION|base] [--by WHO] [--reason TEXT] [--json]

Serves the previously promoted version of NAME again (or VERSION, or the base model). The
version rolled back is kept as rolled_back. Recorded as a decision (action rollback, who, when,
why): see \`driftwatch decisions\`. Exit 2 with the reason when there is nothing to roll back to
or VERSION already serves. The gateway serves the new state within a second.`;

export const policyUsage = `Usage: driftwatch policy rollback NAME [--by WHO] [--reason TEXT] [--json]

Puts the safety policy in force before the current one back in force (the first policy rolls
back to the default), recorded as a rollback decision.`;

type Values = Record<string, string | boolean | undefined>;
function parse(cmd: string, args: string[], options: NonNullable<ParseArgsConfig['options']>): { values: Values; positionals: string[] } {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (e) {
    throw new PermanentError(`${cmd}: ${(e as Error).message}; see \`driftwatch ${cmd} --help\``);
  }
}

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString().replace(/\.\d+Z$/, 'Z') : '-');
const pct = (x: number | null) => (x === null || x === undefined ? '-' : `${(Number(x) * 100).toFixed(1)}%`);

type Pair = { champion?: number | null; challenger?: number | null; challenger_only?: number; champion_only?: number; p_value?: number | null };

/** The gate's figures on one line: n, both accuracies with the discordant pairs and p-value, refusal and toxicity, verdict. */
function formatGate(g: Record<string, unknown>): string {
  const a = (g.accuracy ?? {}) as Pair;
  const r = (g.refusal ?? {}) as Pair;
  const t = (g.toxicity ?? {}) as Pair;
  const p = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x < 0.001 ? x.toExponential(1) : x.toFixed(3));
  return (
    `${g.outcome ?? '?'} on ${g.n ?? '?'} held-out items: accuracy ${pct(a.challenger ?? null)} vs ${pct(a.champion ?? null)} served` +
    ` (only new right ${a.challenger_only ?? '-'}, only served right ${a.champion_only ?? '-'}, McNemar p=${p(a.p_value)}),` +
    ` refusals ${pct(r.challenger ?? null)} vs ${pct(r.champion ?? null)}, toxic ${pct(t.challenger ?? null)} vs ${pct(t.champion ?? null)}`
  );
}

export function formatServing(state: ServingState, policy: PolicyInForce): string {
  const s = state.serving;
  const lines = [
    `${state.model}: serving ${s.version ?? 'base model'} (${s.provider_model})${s.promoted_at ? `, promoted ${iso(s.promoted_at)}${s.decision_id ? ` by decision ${s.decision_id}` : ''}` : ''}`,
    `  base model: ${state.base_model}`,
    `  safety policy: ${policy.version === 0 ? 'default' : `v${policy.version}`}, moderation threshold ${policy.moderation_threshold}` +
      `${policy.blocked_terms.length ? `, ${policy.blocked_terms.length} blocked terms` : ''}${policy.system_prompt ? ', system prompt set' : ''}` +
      `${policy.decision_id ? ` (decision ${policy.decision_id})` : ''}${policy.restores !== null ? ` (restores v${policy.restores})` : ''}`,
  ];
  if (state.versions.length) {
    lines.push('  versions:');
    for (const v of state.versions) {
      lines.push(
        `    ${v.version.padEnd(5)} ${v.status.padEnd(11)} ${String(v.provider_model ?? '-').padEnd(40)} eval ${pct(v.eval_accuracy).padEnd(6)} baseline ${pct(v.baseline_accuracy).padEnd(6)} created ${iso(v.created_at)}${v.promoted_at ? ` promoted ${iso(v.promoted_at)}` : ''}`,
      );
      if (v.gate) lines.push(`          gate: ${formatGate(v.gate)}`);
    }
  } else lines.push('  versions: none yet (no fine-tune has run)');
  return lines.join('\n');
}

function baseOf(s: Settings, name: string): string | undefined {
  return s.config.models.find((m) => m.name === name)?.base_model;
}

/** `driftwatch models [NAME] [--json]`. */
export async function modelsCommand(args: string[], io: Io): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(modelsUsage + '\n');
    return 0;
  }
  const { values, positionals } = parse('models', args, { json: { type: 'boolean' } });
  const s = loadSettings();
  const names = positionals.length ? positionals : s.config.models.map((m) => m.name);
  // `start` holds the embedded database: read it through its HTTP API.
  const remote = remoteFor(s);
  const database = remote ? null : await openDatabase(s);
  try {
    const out = [];
    for (const name of names) {
      const base = baseOf(s, name);
      if (!base) throw new PermanentError(`models: "${name}" is not a monitored model (configured: ${s.config.models.map((m) => m.name).join(', ')})`);
      out.push(remote ? await remoteServing<ServingState, PolicyInForce>(remote, name) : { state: await getServingState(database!.db, name, base), policy: await getPolicyInForce(database!.db, name) });
    }
    if (values.json) io.stdout(JSON.stringify(positionals.length === 1 ? { ...out[0].state, policy: out[0].policy } : { models: out.map((o) => ({ ...o.state, policy: o.policy })) }, null, 2) + '\n');
    else io.stdout(out.map((o) => formatServing(o.state, o.policy)).join('\n\n') + '\n');
    return 0;
  } finally {
    await database?.close();
  }
}

/** `driftwatch rollback NAME [--to VERSION|base] [--by WHO] [--reason TEXT] [--json]`. */
export async function rollbackCommand(args: string[], io: Io): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(rollbackUsage + '\n');
    return 0;
  }
  const { values, positionals } = parse('rollback', args, { to: { type: 'string' }, by: { type: 'string' }, reason: { type: 'string' }, json: { type: 'boolean' } });
  const name = positionals[0];
  if (!name || positionals.length > 1) throw new PermanentError('rollback: expected one model NAME; see `driftwatch rollback --help`');
  const s = loadSettings();
  const base = baseOf(s, name);
  if (!base) throw new PermanentError(`rollback: "${name}" is not a monitored model (configured: ${s.config.models.map((m) => m.name).join(', ')})`);
  const remote = remoteFor(s);
  const database = remote ? null : await openDatabase(s);
  try {
    const by = (values.by as string | undefined) ?? process.env.USER ?? 'cli';
    const req = { model: name, to: values.to as string | undefined, by, reason: (values.reason as string | undefined) ?? 'manual rollback (CLI)', base_model: base };
    const out = remote ? await remoteRollback<Awaited<ReturnType<typeof rollbackModel>>>(remote, 'model', name, req) : await rollbackModel(database!.db, req);
    if (!remote) await notifyFromCli(s, database!.db, io, { model: name, kind: 'model', from: out.from.version ?? 'base', to: out.to.version ?? 'base', by, reason: req.reason, decision_id: Number(out.decision.id) });
    if (values.json) io.stdout(JSON.stringify(out, null, 2) + '\n');
    else
      io.stdout(
        `${name}: now serving ${out.to.version ?? 'the base model'} (${out.to.provider_model}), was ${out.from.version ?? 'the base model'} (${out.from.provider_model}); decision ${out.decision.id} by ${by}\n`,
      );
    return 0;
  } finally {
    await database?.close();
  }
}

/** `driftwatch policy rollback NAME [--by WHO] [--reason TEXT] [--json]`. */
export async function policyCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || rest.includes('--help')) {
    io.stdout(policyUsage + '\n');
    return sub ? 0 : 2;
  }
  if (sub !== 'rollback') throw new PermanentError(`policy: unknown subcommand "${sub}"; expected rollback`);
  const { values, positionals } = parse('policy rollback', rest, { by: { type: 'string' }, reason: { type: 'string' }, json: { type: 'boolean' } });
  const name = positionals[0];
  if (!name || positionals.length > 1) throw new PermanentError('policy rollback: expected one model NAME; see `driftwatch policy --help`');
  const s = loadSettings();
  if (!baseOf(s, name)) throw new PermanentError(`policy rollback: "${name}" is not a monitored model (configured: ${s.config.models.map((m) => m.name).join(', ')})`);
  const remote = remoteFor(s);
  const database = remote ? null : await openDatabase(s);
  try {
    const by = (values.by as string | undefined) ?? process.env.USER ?? 'cli';
    const req = { model: name, by, reason: (values.reason as string | undefined) ?? 'manual policy rollback (CLI)' };
    const out = remote ? await remoteRollback<Awaited<ReturnType<typeof rollbackPolicy>>>(remote, 'policy', name, req) : await rollbackPolicy(database!.db, req);
    if (!remote) await notifyFromCli(s, database!.db, io, { model: name, kind: 'policy', from: `v${out.from.version}`, to: `v${out.to.version}`, by, reason: req.reason, decision_id: Number(out.decision.id) });
    if (values.json) io.stdout(JSON.stringify(out, null, 2) + '\n');
    else
      io.stdout(
        `${name}: safety policy v${out.to.version} in force (restores ${out.to.restores === 0 ? 'the default' : `v${out.to.restores}`}, moderation threshold ${out.to.moderation_threshold}), was v${out.from.version} (threshold ${out.from.moderation_threshold}); decision ${out.decision.id} by ${by}\n`,
      );
    return 0;
  } finally {
    await database?.close();
  }
}

/**
 * The rollback notification of a rollback done here, on the database directly (the HTTP
 * route notifies by itself): queued on the configured Redis for the fleet's workers to
 * deliver, as every notification is. Only when a webhook subscribes to rollbacks; a Redis
 * that does not answer is one warning line, never a failed rollback.
 */
async function notifyFromCli(s: Settings, db: Db, io: Io, r: Parameters<typeof notifyRollback>[1]): Promise<void> {
  if (!(s.config.notifications?.webhooks ?? []).some((h) => h.events.includes('rollback'))) return;
  const url = redisAddress(s.env);
  const warn = (why: string) => io.stderr(`warning: the rollback is done, but its webhook notification was not queued: ${why}\n`);
  if (!url) return warn('no REDIS_URL is set for the workers that deliver notifications');
  try {
    await probeRedis(url, 3_000);
  } catch (e) {
    return warn((e as Error).message);
  }
  const conn = redisConnection(url, 'producer');
  const queues = new Queues(conn, s.env.DRIFTWATCH_QUEUE_PREFIX, s.deployment, await deploymentId(db));
  try {
    if ((await notifyRollback({ config: s.config, queues, logger: s.logger }, r)) === 0) warn('queueing failed (see the log line above)');
  } finally {
    await queues.close();
    conn.disconnect();
  }
}

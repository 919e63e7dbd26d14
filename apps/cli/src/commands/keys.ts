import { parseArgs, type ParseArgsConfig } from 'node:util';
import { KEY_SCOPES, PermanentError, createApiKey, listApiKeys, revokeApiKey, type ApiKeyRow, type KeyScope } from '@driftwatch/core';
import { loadSettings, openDatabase } from '../runtime.js';
import { remoteFor, remoteKeys } from '../remote.js';

type Io = { stdout(s: string): void; stderr(s: string): void };

export const keysUsage = `Usage: driftwatch keys create --name NAME --scope ingest|admin [--json]
       driftwatch keys list [--json]
       driftwatch keys revoke ID

API keys for the HTTP API and the gateway (Authorization: Bearer KEY).
  ingest  ingest, read the serving state (GET /v1/models), use the gateway (/openai/v1)
  admin   everything: rollback, approvals, keys
create prints the new key once (--json: {"id":..., "key":...}); only its hash is stored.
With no key and no DRIFTWATCH_ADMIN_TOKEN the HTTP server listens on 127.0.0.1 only.`;

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>, positionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true }) as { values: Record<string, string | boolean | undefined>; positionals: string[] };
  } catch (e) {
    throw new PermanentError(`keys: ${(e as Error).message}; see \`driftwatch keys --help\``);
  }
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString().replace(/\.\d+Z$/, 'Z') : '-');

export function formatKeys(rows: ApiKeyRow[]): string {
  if (rows.length === 0) return 'no API keys; create one with `driftwatch keys create --name NAME --scope ingest`';
  const lines = rows.map((k) =>
    [String(k.id).padEnd(4), k.name.padEnd(20), k.scope.padEnd(7), `${k.key_prefix}...`.padEnd(18), iso(k.created_at).padEnd(21), iso(k.last_used_at).padEnd(21), k.revoked_at ? `revoked ${iso(k.revoked_at)}` : 'active'].join(' '),
  );
  return [['ID'.padEnd(4), 'NAME'.padEnd(20), 'SCOPE'.padEnd(7), 'KEY'.padEnd(18), 'CREATED'.padEnd(21), 'LAST USED'.padEnd(21), 'STATE'].join(' '), ...lines].join('\n');
}

/** `driftwatch keys create|list|revoke`. */
export async function keysCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || rest.includes('--help')) {
    io.stdout(keysUsage + '\n');
    return sub ? 0 : 2;
  }
  if (!['create', 'list', 'revoke'].includes(sub)) throw new PermanentError(`keys: unknown subcommand "${sub}"; expected create, list or revoke`);
  if (sub === 'create') {
    // Bad words fail before anything is opened.
    const { values } = parse(rest, { name: { type: 'string' }, scope: { type: 'string' }, json: { type: 'boolean' } });
    if (typeof values.name !== 'string' || !values.name.trim()) throw new PermanentError('keys create: --name NAME is required (who the key is for, e.g. support-app)');
    if (!KEY_SCOPES.includes(values.scope as KeyScope)) throw new PermanentError(`keys create: --scope must be ${KEY_SCOPES.join(' or ')}, got ${values.scope === undefined ? 'nothing' : `"${values.scope}"`}`);
  }
  const s = loadSettings();
  // `start` holds the embedded database: manage keys through its HTTP API (the running server sees them at once).
  const remote = remoteFor(s);
  const database = remote ? null : await openDatabase(s);
  try {
    if (sub === 'create') {
      const { values } = parse(rest, { name: { type: 'string' }, scope: { type: 'string' }, json: { type: 'boolean' } });
      if (typeof values.name !== 'string' || !values.name.trim()) throw new PermanentError('keys create: --name NAME is required (who the key is for, e.g. support-app)');
      if (!KEY_SCOPES.includes(values.scope as KeyScope)) throw new PermanentError(`keys create: --scope must be ${KEY_SCOPES.join(' or ')}, got ${values.scope === undefined ? 'nothing' : `"${values.scope}"`}`);
      const created = remote
        ? await remoteKeys.create(remote, { name: values.name, scope: values.scope as string, by: process.env.USER ?? 'cli' }).then((k) => ({ row: { id: k.id, name: k.name, scope: k.scope }, key: k.key }))
        : await createApiKey(database!.db, { name: values.name, scope: values.scope as KeyScope, created_by: process.env.USER ?? 'cli' });
      const { row, key } = created;
      if (values.json) io.stdout(JSON.stringify({ id: Number(row.id), key, name: row.name, scope: row.scope }) + '\n');
      else {
        io.stdout(`${key}\n`);
        io.stderr(`key ${row.id} "${row.name}" (scope ${row.scope}) created. It is shown only now: store it. Use it as Authorization: Bearer <key>; revoke it with \`driftwatch keys revoke ${row.id}\`.\n`);
      }
      return 0;
    }
    if (sub === 'list') {
      const { values } = parse(rest, { json: { type: 'boolean' } });
      const rows = remote ? await remoteKeys.list<ApiKeyRow>(remote) : await listApiKeys(database!.db);
      io.stdout(values.json ? JSON.stringify({ keys: rows.map((k) => ({ ...k, id: Number(k.id) })) }, null, 2) + '\n' : formatKeys(rows) + '\n');
      return 0;
    }
    const { positionals } = parse(rest, {}, true);
    const id = Number(positionals[0]);
    if (!positionals[0] || !Number.isInteger(id) || id <= 0) throw new PermanentError(`keys revoke: expected a key ID (a positive integer), got ${positionals[0] === undefined ? 'nothing' : `"${positionals[0]}"`}; list them with \`driftwatch keys list\``);
    const row = remote ? await remoteKeys.revoke<ApiKeyRow>(remote, id) : await revokeApiKey(database!.db, id);
    if (!row) throw new PermanentError(`keys revoke: no API key ${id}; list them with \`driftwatch keys list\``);
    io.stdout(`key ${row.id} "${row.name}" revoked at ${iso(row.revoked_at)}; running servers refuse it within 2 s\n`);
    return 0;
  } finally {
    await database?.close();
  }
}

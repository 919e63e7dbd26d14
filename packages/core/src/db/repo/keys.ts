import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../types.js';

/**
 * API keys (table api_keys). A key is `dw_<scope>_<48 hex>`; only its SHA-256 is stored,
 * so a lost key cannot be shown again, only revoked and replaced. Scopes:
 * - ingest: ingest, read the serving state, use the gateway;
 * - admin: everything (rollback, approvals, keys, Bull Board).
 */
export type KeyScope = 'ingest' | 'admin';
export const KEY_SCOPES: readonly KeyScope[] = ['ingest', 'admin'];

export interface ApiKeyRow {
  id: number;
  name: string;
  scope: KeyScope;
  key_prefix: string;
  created_by: string | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'id, name, scope, key_prefix, created_by, created_at, last_used_at, revoked_at';

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Creates a key; the returned `key` is the only time the secret exists outside its holder. */
export async function createApiKey(db: Queryable, k: { name: string; scope: KeyScope; created_by?: string }): Promise<{ row: ApiKeyRow; key: string }> {
  if (!KEY_SCOPES.includes(k.scope)) throw new Error(`scope: expected ingest or admin, got "${k.scope}"`);
  if (!k.name.trim()) throw new Error('name: expected a non-empty name');
  const key = `dw_${k.scope}_${randomBytes(24).toString('hex')}`;
  const r = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (name, scope, key_prefix, key_hash, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [k.name.trim(), k.scope, key.slice(0, 14), hashKey(key), k.created_by ?? null],
  );
  return { row: r.rows[0], key };
}

export async function listApiKeys(db: Queryable, opts: { includeRevoked?: boolean } = {}): Promise<ApiKeyRow[]> {
  return (await db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE ($1 OR revoked_at IS NULL) ORDER BY id`, [opts.includeRevoked ?? true])).rows;
}

/** Revokes a key (idempotent); null when no key has this id. */
export async function revokeApiKey(db: Queryable, id: number): Promise<ApiKeyRow | null> {
  const r = await db.query<ApiKeyRow>(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`, [id]);
  return r.rows[0] ?? null;
}

/** The live (not revoked) key with this secret, or null. */
export async function findApiKey(db: Queryable, key: string): Promise<ApiKeyRow | null> {
  const r = await db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [hashKey(key)]);
  return r.rows[0] ?? null;
}

/** Whether any live key exists (with none and no admin token, the HTTP server stays on loopback). */
export async function hasLiveApiKey(db: Queryable): Promise<boolean> {
  return (await db.query('SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1')).rows.length > 0;
}

/** Records use, at most once a minute per key (a write per request would cost more than the request). */
export async function touchApiKey(db: Queryable, id: number): Promise<void> {
  await db.query(`UPDATE api_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, [id]);
}

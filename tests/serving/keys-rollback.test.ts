import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import express from 'express';
import {
  PgliteDb,
  RollbackConflictError,
  getPolicyInForce,
  getServingState,
  insertModelVersion,
  listDecisions,
  migrate,
  promoteModelVersion,
  rollbackModel,
  rollbackPolicy,
  setPolicy,
  type Db,
} from '@driftwatch/core';
import { listenHost, requireScope } from '../../apps/scheduler/src/http/auth.js';
import { servingRouter } from '../../apps/scheduler/src/http/serving.js';
import { testContext } from '../helpers/context.js';
import { deployment } from '../helpers/fleet.js';
import { runCli, tempDir, testConfig, writeYaml } from '../helpers/env.js';

/** A promoted version as the fine-tune action leaves it. */
async function promote(db: Db, model: string, version: string, providerModel: string) {
  const v = await insertModelVersion(db, { model, version, provider: 'offline', base_model: 'gpt-4o-mini', status: 'candidate', provider_model_id: providerModel });
  await promoteModelVersion(db, v.id, { eval_accuracy: 0.9, baseline_accuracy: 0.7 });
}

describe('API keys, scopes, serving state and rollback over HTTP', () => {
  let db: Db;
  let server: Server;
  let base: string;
  const ctx = () => testContext({ db, queues: {} as never, deployment: deployment(), config: { models: [{ name: 'support-bot', base_model: 'gpt-4o-mini' }] } });
  let c: ReturnType<typeof ctx>;

  beforeAll(async () => {
    db = await PgliteDb.open('memory://');
    await migrate(db);
    c = ctx();
    const app = express();
    app.use(servingRouter(c));
    // An ingest-scope route that reads its body after authentication.
    app.post('/v1/echo', requireScope(c, 'ingest'), express.json(), (req, res) => void res.json(req.body));
    server = await new Promise<Server>((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await db.close();
  });

  const call = (path: string, key?: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...(init.headers as object) } });

  it('with no credential configured: loopback only, ingest open, admin off; another address refused', async () => {
    expect((await call('/v1/models')).status).toBe(200);
    expect((await call('/v1/models/support-bot/rollback', undefined, { method: 'POST', body: '{}' })).status).toBe(404);
    await expect(listenHost(c, '0.0.0.0')).resolves.toBe('127.0.0.1');
    await expect(listenHost(c, '127.0.0.1')).resolves.toBe('127.0.0.1');
    await expect(listenHost(c, '10.1.2.3')).rejects.toThrow(/driftwatch keys create --name NAME --scope/);
  });

  it('keys: created by the CLI (hashed), scopes enforced, revoked key 401 before the body is read', { timeout: 900_000 }, async () => {
    const dir = tempDir('driftwatch-keys-');
    const env = { DRIFTWATCH_DATA_DIR: dir, DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig()) };
    const slow = { timeoutMs: 280_000 }; // each call opens the embedded database: about a minute on a machine with load 25
    const created = await runCli(['keys', 'create', '--name', 'ops', '--scope', 'admin', '--json'], env, slow);
    expect(created.code, created.stderr).toBe(0);
    const { id, key } = JSON.parse(created.stdout) as { id: number; key: string };
    expect(id).toBe(1);
    expect(key).toMatch(/^dw_admin_[0-9a-f]{48}$/);
    const revoked = await runCli(['keys', 'revoke', '1'], env, slow);
    expect(revoked.code, revoked.stderr).toBe(0);
    const listed = await runCli(['keys', 'list'], env, slow);
    expect(listed.stdout).toMatch(/ops .* admin .*revoked/);
    expect(listed.stdout).not.toContain(key);
    // A bad scope is refused before anything is opened.
    const bad = await runCli(['keys', 'create', '--name', 'x', '--scope', 'root'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--scope must be ingest or admin');

    // Over HTTP, on this test's database: create an admin key through the repository, then keys through the API.
    const { createApiKey } = await import('@driftwatch/core');
    const admin = (await createApiKey(db, { name: 'ops', scope: 'admin' })).key;
    // A credential now exists: no credential is 401, for ingest routes too.
    await expect(listenHost(c, '0.0.0.0')).resolves.toBe('0.0.0.0');
    const made = await call('/v1/keys', admin, { method: 'POST', body: JSON.stringify({ name: 'support-app', scope: 'ingest' }) });
    expect(made.status).toBe(201);
    const ingest = ((await made.json()) as { key: string; id: number });
    expect((await call('/v1/echo', undefined, { method: 'POST', body: '{"a":1}' })).status).toBe(401);
    expect((await call('/v1/echo', ingest.key, { method: 'POST', body: '{"a":1}' })).status).toBe(200);
    expect((await call('/v1/models/support-bot', ingest.key)).status).toBe(200);
    // An ingest key cannot roll back (403), nor manage keys.
    const denied = await call('/v1/models/support-bot/rollback', ingest.key, { method: 'POST', body: '{}' });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: string }).error).toContain('needs an admin key');
    expect((await call('/v1/keys', ingest.key)).status).toBe(403);
    // Authentication comes before the body: a bad key with a broken body is 401, not 400.
    expect((await call('/v1/models/support-bot/rollback', 'dw_admin_nope', { method: 'POST', body: '{not json' })).status).toBe(401);
    // Revoked: 401 at once on this process.
    expect((await call(`/v1/keys/${ingest.id}/revoke`, admin, { method: 'POST' })).status).toBe(200);
    expect((await call('/v1/echo', ingest.key, { method: 'POST', body: '{}' })).status).toBe(401);
    const rows = (await db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys')).rows;
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.key_hash) && r.key_hash !== ingest.key)).toBe(true);
  });

  it('rollback: previous version, then base; 409 with nothing to roll back to or when already served; recorded as decisions', async () => {
    const admin = (await (await import('@driftwatch/core')).createApiKey(db, { name: 'ops2', scope: 'admin' })).key;
    await expect(rollbackModel(db, { model: 'support-bot', by: 'x', reason: 'r' })).rejects.toBeInstanceOf(RollbackConflictError);
    await promote(db, 'support-bot', 'v1', 'local:support-bot:v1');
    await promote(db, 'support-bot', 'v2', 'local:support-bot:v2');
    let state = await getServingState(db, 'support-bot', 'gpt-4o-mini');
    expect(state.serving.version).toBe('v2');

    const res = await call('/v1/models/support-bot/rollback', admin, { method: 'POST', body: JSON.stringify({ by: 'alice', reason: 'answers got worse' }) });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { to: { version: string }; from: { version: string }; decision: { id: number; action: string; decided_by: string } };
    expect(out.from.version).toBe('v2');
    expect(out.to.version).toBe('v1');
    expect(out.decision).toMatchObject({ action: 'rollback', decided_by: 'alice' });
    const got = (await (await call('/v1/models/support-bot', admin)).json()) as typeof state;
    expect(got.serving).toMatchObject({ version: 'v1', provider_model: 'local:support-bot:v1' });
    expect(got.versions.map((v) => [v.version, v.status])).toEqual([['v1', 'promoted'], ['v2', 'rolled_back']]);

    // v1 already serves: 409; --to base works; then nothing to roll back to: 409.
    expect((await call('/v1/models/support-bot/rollback', admin, { method: 'POST', body: JSON.stringify({ to: 'v1' }) })).status).toBe(409);
    const toBase = await call('/v1/models/support-bot/rollback', admin, { method: 'POST', body: '{}' });
    expect(toBase.status).toBe(200);
    state = await getServingState(db, 'support-bot', 'gpt-4o-mini');
    expect(state.serving).toMatchObject({ version: null, provider_model: 'gpt-4o-mini', promoted_at: null });
    const none = await call('/v1/models/support-bot/rollback', admin, { method: 'POST', body: '{}' });
    expect(none.status).toBe(409);
    expect(((await none.json()) as { error: string }).error).toContain('nothing to roll back');
    // Explicitly back to v2 (rolled back once, promoted before).
    expect((await call('/v1/models/support-bot/rollback', admin, { method: 'POST', body: JSON.stringify({ to: 'v2' }) })).status).toBe(200);
    expect((await getServingState(db, 'support-bot', 'gpt-4o-mini')).serving.version).toBe('v2');
    expect((await call('/v1/models/nope', admin)).status).toBe(404);

    const decisions = await listDecisions(db, { model: 'support-bot' });
    expect(decisions.filter((d) => (d.action as string) === 'rollback')).toHaveLength(3);
    // The registry never has two promoted versions.
    const promoted = await db.query(`SELECT 1 FROM model_versions WHERE model = 'support-bot' AND status = 'promoted'`);
    expect(promoted.rows).toHaveLength(1);
  });

  it('policy: in force over HTTP, rolled back through history to the default, then 409', async () => {
    const admin = (await (await import('@driftwatch/core')).createApiKey(db, { name: 'ops3', scope: 'admin' })).key;
    expect(await getPolicyInForce(db, 'support-bot')).toMatchObject({ version: 0, moderation_threshold: 0.5 });
    await setPolicy(db, { model: 'support-bot', moderation_threshold: 0.4, system_prompt: 'Be kind.' });
    await setPolicy(db, { model: 'support-bot', moderation_threshold: 0.2, blocked_terms: ['refund'] });
    const p = (await (await call('/v1/models/support-bot/policy', admin)).json()) as { version: number; moderation_threshold: number; blocked_terms: string[] };
    expect(p).toMatchObject({ version: 2, moderation_threshold: 0.2, blocked_terms: ['refund'] });
    const r1 = await call('/v1/models/support-bot/policy/rollback', admin, { method: 'POST', body: JSON.stringify({ reason: 'too strict' }) });
    expect(r1.status).toBe(200);
    expect(await getPolicyInForce(db, 'support-bot')).toMatchObject({ version: 3, moderation_threshold: 0.4, system_prompt: 'Be kind.', restores: 1 });
    await rollbackPolicy(db, { model: 'support-bot', by: 'bob', reason: 'again' });
    expect(await getPolicyInForce(db, 'support-bot')).toMatchObject({ version: 4, moderation_threshold: 0.5, restores: 0 });
    expect((await call('/v1/models/support-bot/policy/rollback', admin, { method: 'POST' })).status).toBe(409);
  });
});

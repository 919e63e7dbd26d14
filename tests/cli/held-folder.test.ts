import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createApiKey, migrate, openDb } from '@driftwatch/core';
import { dropPrefix, REDIS_URL, runCli, tempDir, testConfig, uniquePrefix, writeYaml } from '../helpers/env.js';
import { startCli, type Running } from '../helpers/process.js';
import { waitFor } from '../helpers/fleet.js';
import { makeDecision } from '../helpers/decisions.js';

/**
 * While `driftwatch start` holds the embedded database (PGlite is single-process), the
 * state commands reach it through its HTTP API with the local admin credential it wrote
 * to <data dir>/http.json, and print what they print locally. POST /v1/runs (admin)
 * starts a run now. The metrics server listens on http.host, not on every interface.
 */

// 127.0.0.2 is loopback on Linux but not 127.0.0.1: a server bound to it is not reachable
// at 127.0.0.1, so the test sees which address each server really listens on.
const HOST = '127.0.0.2';
const prefix = uniquePrefix('held');
const dir = tempDir();
const dataDir = join(dir, 'data');
const env = {
  DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig({ actions: { dry_run: false, require_approval: true, cooldown_hours: 24 } })),
  DEPLOYMENT_CONFIG: writeYaml(dir, 'deployment.yaml', { http: { port: 0, host: HOST } }),
  DRIFTWATCH_DATA_DIR: dataDir,
  DRIFTWATCH_QUEUE_PREFIX: prefix,
  DRIFTWATCH_ADMIN_TOKEN: undefined,
  DATABASE_URL: undefined,
  REDIS_URL,
};
let p: Running;
let waiting: number[] = [];
let adminKey: string;
let ingestKey: string;

beforeAll(async () => {
  // Before start: decisions waiting for approval and two API keys, written to the folder directly.
  const db = await openDb({ dataDir });
  try {
    await migrate(db);
    waiting = [(await makeDecision(db, { state: 'awaiting_approval' })).id, (await makeDecision(db, { state: 'awaiting_approval', action: 'reindex' })).id].map(Number);
    adminKey = (await createApiKey(db, { name: 'ops', scope: 'admin' })).key;
    ingestKey = (await createApiKey(db, { name: 'app', scope: 'ingest' })).key;
  } finally {
    await db.close();
  }
  p = await startCli(['start'], env, 120_000);
}, 180_000);
afterAll(async () => {
  if (p) await p.stop('SIGKILL');
  await dropPrefix(prefix);
});

const cli = (args: string[]) => runCli(args, env, { timeoutMs: 180_000 });
const api = (path: string, init: RequestInit & { key?: string } = {}) =>
  fetch(`http://${HOST}:${p.ready.http_port}${path}`, { ...init, headers: { 'content-type': 'application/json', ...(init.key ? { authorization: `Bearer ${init.key}` } : {}) } });

// Each CLI call starts a process: 10-30 s apiece on a loaded machine.
describe('state commands while start holds the embedded database', { timeout: 900_000 }, () => {
  it('start publishes its address and a local credential in http.json, readable by its owner only', () => {
    const file = join(dataDir, 'http.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const info = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; url: string; token: string };
    expect(info.pid).toBe(p.child.pid);
    expect(info.url).toBe(`http://${HOST}:${p.ready.http_port}`);
    expect(info.token.length).toBeGreaterThanOrEqual(32);
  });

  it('decisions, approve, reject and run-once --dry-run succeed through the HTTP API', async () => {
    const list = await cli(['decisions']);
    expect(list.stderr).not.toMatch(/in use by process/);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+CREATED\s+MODEL\s+ACTION\s+STATE/);
    for (const id of waiting) expect(list.stdout).toMatch(new RegExp(`^${id}\\s.*awaiting_approval`, 'm'));

    const json = await cli(['decisions', '--json', '--state', 'awaiting_approval']);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { decisions: { id: number }[] }).decisions.map((d) => Number(d.id)).sort()).toEqual([...waiting].sort());

    const approve = await cli(['approve', String(waiting[0]), '--by', 'alice']);
    expect(approve.stderr).toBe('');
    expect(approve.code).toBe(0);
    expect(approve.stdout).toBe(`decision ${waiting[0]} (safety for support-bot) is now queued, by alice\n`);
    const reject = await cli(['reject', String(waiting[1]), '--by', 'bob']);
    expect(reject.code).toBe(0);
    expect(reject.stdout).toBe(`decision ${waiting[1]} (reindex for support-bot) is now rejected, by bob\n`);
    // The server's refusal is one line and exit 2, as locally.
    const again = await cli(['reject', String(waiting[1])]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^driftwatch: .*rejected/);
    expect(again.stderr.split('\n').filter(Boolean)).toHaveLength(1);

    const run = await cli(['run-once', '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as { dry_run: boolean; runs: { run_id: string; model: string; results: unknown[]; actions: unknown[] }[]; failures: string[] };
    expect(summary.dry_run).toBe(true);
    expect(summary.failures).toEqual([]);
    expect(summary.runs.map((r) => r.model)).toEqual(['support-bot']);
    expect(summary.runs[0].results).toHaveLength(3);
    expect(run.stderr).toMatch(/support-bot: running the embedding, behavior and accuracy monitors/);
    expect(run.stderr).not.toMatch(/no worker takes/);

    // The run happened in the server's database.
    const status = await api(`/v1/runs/${encodeURIComponent(summary.runs[0].run_id)}`, { key: adminKey });
    expect(status.status).toBe(200);
    expect(((await status.json()) as { drift_runs: unknown[] }).drift_runs).toHaveLength(3);
  });

  it('POST /v1/runs: an admin key starts a run now and its drift_runs appear; an ingest key gets 403, none 401', async () => {
    expect((await api('/v1/runs', { method: 'POST', body: JSON.stringify({ model: 'support-bot' }) })).status).toBe(401);
    const forbidden = await api('/v1/runs', { method: 'POST', key: ingestKey, body: JSON.stringify({ model: 'support-bot' }) });
    expect(forbidden.status).toBe(403);
    expect(await api('/v1/runs', { method: 'POST', key: adminKey, body: JSON.stringify({ model: 'nope' }) }).then((r) => r.status)).toBe(404);
    expect(await api('/v1/runs', { method: 'POST', key: adminKey, body: JSON.stringify({ model: 'support-bot', dry_run: 'yes' }) }).then((r) => r.status)).toBe(400);

    const res = await api('/v1/runs', { method: 'POST', key: adminKey, body: JSON.stringify({ model: 'support-bot', dry_run: true }) });
    expect(res.status).toBe(202);
    const started = (await res.json()) as { run_id: string; trigger_job_id: string; status_url: string; warning?: string };
    expect(started.trigger_job_id).toContain(started.run_id);
    // start runs monitor and trigger workers: nothing to warn about.
    expect(started.warning).toBeUndefined();
    const done = await waitFor(
      async () => {
        const s = (await (await api(started.status_url, { key: adminKey })).json()) as { state: string; drift_runs: { monitor: string }[]; summary: { run_id: string } | null };
        return s.state === 'completed' ? s : null;
      },
      'the run started over HTTP to complete',
      120_000,
      200,
    );
    expect(done.summary!.run_id).toBe(started.run_id);
    expect(done.drift_runs.map((r) => r.monitor).sort()).toEqual(['accuracy', 'behavior', 'embedding']);
    const listed = (await (await api('/v1/runs?model=support-bot', { key: adminKey })).json()) as { runs: { run_id: string }[] };
    expect(listed.runs.filter((r) => r.run_id === started.run_id)).toHaveLength(3);
    expect((await api(`/v1/runs/${encodeURIComponent(started.run_id)}`, { key: ingestKey })).status).toBe(403);
  });

  const remoteOutputs: Record<string, string> = {};
  it('keys, models, rollback and policy rollback go through the HTTP API too', async () => {
    const created = await cli(['keys', 'create', '--name', 'ci', '--scope', 'ingest', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const k = JSON.parse(created.stdout) as { id: number; key: string; scope: string };
    expect(k.scope).toBe('ingest');
    // The running server knows the new key at once.
    expect((await api('/v1/models', { key: k.key })).status).toBe(200);
    const list = await cli(['keys', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+NAME\s+SCOPE/);
    for (const name of ['ops', 'app', 'ci']) expect(list.stdout).toContain(name);
    const revoked = await cli(['keys', 'revoke', String(k.id)]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`^key ${k.id} "ci" revoked at `));
    expect((await cli(['keys', 'revoke', '9999'])).stderr).toMatch(/no API key 9999/);
    await waitFor(async () => (await api('/v1/models', { key: k.key })).status === 401, 'the revoked key to be refused', 30_000, 200);

    // Nothing to roll back to: the server's 409 is one line and exit 2, as locally.
    const rollback = await cli(['rollback', 'support-bot']);
    expect(rollback.code).toBe(2);
    expect(rollback.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    const policy = await cli(['policy', 'rollback', 'support-bot', '--by', 'carol', '--json']);
    expect([0, 2]).toContain(policy.code);

    const models = await cli(['models', 'support-bot']);
    expect(models.code, models.stderr).toBe(0);
    expect(models.stdout).toMatch(/^support-bot: serving /);
    remoteOutputs.models = models.stdout;
    remoteOutputs.modelsJson = (await cli(['models', '--json'])).stdout;
    remoteOutputs.rejected = (await cli(['decisions', '--state', 'rejected', '--json'])).stdout;
    remoteOutputs.keys = (await cli(['keys', 'list', '--json'])).stdout;
  });

  it('the metrics server listens on http.host only', async () => {
    expect((await fetch(`http://${HOST}:${p.ready.metrics_port}/healthz`)).status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${p.ready.metrics_port}/healthz`)).rejects.toThrow();
  });

  it('after SIGTERM http.json is gone and the commands open the folder themselves again', async () => {
    expect(await p.stop('SIGTERM')).toBe(0);
    expect(existsSync(join(dataDir, 'http.json'))).toBe(false);
    const list = await cli(['decisions', '--state', 'rejected']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${waiting[1]}\\s.*rejected\\s+bob`, 'm'));
    // What the commands printed through the HTTP API is what they print from the folder.
    expect((await cli(['models', 'support-bot'])).stdout).toBe(remoteOutputs.models);
    expect((await cli(['models', '--json'])).stdout).toBe(remoteOutputs.modelsJson);
    expect((await cli(['decisions', '--state', 'rejected', '--json'])).stdout).toBe(remoteOutputs.rejected);
    const keys = JSON.parse((await cli(['keys', 'list', '--json'])).stdout) as { keys: { last_used_at: unknown }[] };
    const remoteKeysOut = JSON.parse(remoteOutputs.keys) as { keys: { last_used_at: unknown }[] };
    // last_used_at moves while the server answers requests; everything else is the same.
    const strip = (o: { keys: { last_used_at: unknown }[] }) => o.keys.map((k) => ({ ...k, last_used_at: null }));
    expect(strip(keys)).toEqual(strip(remoteKeysOut));
  });
});

import { afterAll, beforeAll, describe, it, expect } from 'vitest';
import type { Server } from 'node:http';
import type { Worker } from 'bullmq';
import { triggerProcessor, type RunSummary } from '@driftwatch/workers';
import { createHttpApp } from '@driftwatch/scheduler';
import { getDecision } from '../../packages/core/src/db/repo/decisions.js';
import { storeDriftRun } from '../../packages/core/src/db/repo/runs.js';
import { windowsFor } from '../../packages/core/src/db/repo/windows.js';
import { jobIds, makeRunId } from '../../packages/core/src/queues/catalog.js';
import { registerProcessor } from '../../packages/core/src/queues/worker.js';
import { runCli, tempDir, testConfig, uniquePrefix, writeYaml } from '../helpers/env.js';
import { deployment, quietLogger, redisFixture, waitFor } from '../helpers/fleet.js';
import { startSharedPostgres, type SharedPostgres } from '../helpers/pglite-server.js';
import { driftResult, testContext } from '../helpers/context.js';
import { makeDecision } from '../helpers/decisions.js';
import { deploymentId } from '../../packages/core/src/db/migrations.js';
import { Queues } from '../../packages/core/src/queues/queues.js';

/**
 * actions.require_approval and actions.dry_run: decisions wait for a human, who
 * approves or rejects them from the CLI or the HTTP API (recorded: who and when);
 * a dry run records what it would have done and calls nothing.
 */

const TOKEN = 'test-admin-token-0123456789abcdef';
const prefix = uniquePrefix('approval');
const dep = deployment();
const f = redisFixture(prefix, dep);
const dir = tempDir();
let pg: SharedPostgres;
let cliEnv: Record<string, string>;
/** Producer queues with the database's deployment id, as the CLI's own (job ids carry it). */
let queues: Queues;

beforeAll(async () => {
  pg = await startSharedPostgres();
  queues = new Queues(f.producer, prefix, dep, await deploymentId(pg.db));
  cliEnv = {
    DATABASE_URL: pg.url,
    DRIFTWATCH_QUEUE_PREFIX: prefix,
    DRIFT_CONFIG: writeYaml(dir, 'drift.yaml', testConfig({ actions: { require_approval: true, dry_run: false, cooldown_hours: 24 } })),
    DEPLOYMENT_CONFIG: writeYaml(dir, 'deployment.yaml', { http: { port: 0, host: '127.0.0.1' } }),
    USER: 'oncall',
  };
});
afterAll(async () => {
  await queues?.close();
  await f.cleanup();
  await pg?.close();
});

/** Runs one trigger (toxicity drift for a model) through a real trigger worker with the given actions config. */
async function triggerOnce(actions: Record<string, unknown>, model: string): Promise<RunSummary> {
  const ctx = testContext({ db: pg.db, queues: queues, deployment: dep, config: { actions, models: [{ name: model, schedule: '0 0 * * *' }] } });
  const w: Worker = registerProcessor('trigger', triggerProcessor(ctx), { connection: f.worker, prefix, deployment: dep, logger: quietLogger, owner: queues.owner });
  try {
    const now = new Date();
    const run_id = makeRunId(model, now);
    await storeDriftRun(pg.db, run_id, model, windowsFor(now, 30, 7), driftResult('behavior', ['toxicity_rate']));
    await queues.add('trigger', { run_id, model, now: now.toISOString(), dry_run: false }, { jobId: jobIds.trigger(run_id, queues.owner) });
    const job = await waitFor(async () => {
      const j = await queues.get('trigger').getJob(jobIds.trigger(run_id, queues.owner));
      return j?.finishedOn ? j : undefined;
    }, 'the trigger');
    expect(job.failedReason).toBeUndefined();
    return job.returnvalue as RunSummary;
  } finally {
    await w.close();
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const body = async (r: Response) => (await r.json()) as any;
const safetyJob = (id: number) => queues.get('safety').getJob(jobIds.action(id, queues.owner));

describe('require_approval and dry_run', () => {
  it('require_approval: the decision waits; `driftwatch decisions` shows it; approve and reject from the CLI record who and when', async () => {
    const summary = await triggerOnce({ require_approval: true, dry_run: false, cooldown_hours: 24 }, 'approve-bot');
    expect(summary.decisions).toMatchObject([{ action: 'safety', state: 'awaiting_approval' }]);
    expect(summary.action_jobs).toEqual([]);
    const waiting = summary.decisions[0].id;
    expect(await safetyJob(waiting)).toBeUndefined();
    const other = await makeDecision(pg.db, { state: 'awaiting_approval', model: 'approve-bot' });

    const listed = await runCli(['decisions', '--state', 'awaiting_approval'], cliEnv);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+CREATED\s+MODEL\s+ACTION\s+STATE\s+BY\s+DECIDED\s+REASON/);
    expect(listed.stdout).toMatch(new RegExp(`^${waiting}\\s+\\S+\\s+approve-bot\\s+safety\\s+awaiting_approval\\s+-\\s+-\\s+safety because of behavior drift`, 'm'));

    const before = Date.now();
    const approved = await runCli(['approve', String(waiting), '--by', 'alice'], cliEnv);
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toBe(`decision ${waiting} (safety for approve-bot) is now queued, by alice\n`);
    const row = (await getDecision(pg.db, waiting))!;
    expect(row).toMatchObject({ state: 'queued', decided_by: 'alice' });
    expect(new Date(row.decided_at!).getTime()).toBeGreaterThanOrEqual(before - 5000);
    // The action job is on its queue, under the decision's id.
    expect(await (await safetyJob(waiting))!.getState()).toMatch(/^(waiting|prioritized)$/);

    const twice = await runCli(['approve', String(waiting)], cliEnv);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain(`decision ${waiting} is queued, not awaiting_approval`);

    const rejected = await runCli(['reject', String(other.id)], cliEnv);
    expect(rejected.code).toBe(0);
    // Without --by, the user running the command.
    expect(rejected.stdout).toContain('is now rejected, by oncall');
    expect(await safetyJob(other.id)).toBeUndefined();

    const missing = await runCli(['approve', '999999'], cliEnv);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('decision 999999 does not exist');

    const table = await runCli(['decisions', '--model', 'approve-bot'], cliEnv);
    expect(table.stdout).toMatch(new RegExp(`^${waiting}\\s+\\S+\\s+approve-bot\\s+safety\\s+queued\\s+alice\\s+20\\d\\d-\\d\\d-\\d\\dT[\\d:]+Z\\s+safety because`, 'm'));
    const badState = await runCli(['decisions', '--state', 'pending'], cliEnv);
    expect(badState.code).toBe(2);
    expect(badState.stderr).toContain('--state expects one of queued, awaiting_approval, running, succeeded, failed, skipped, rejected, got "pending"');

    const all = await runCli(['decisions', '--json', '--model', 'approve-bot'], cliEnv);
    const states = Object.fromEntries((JSON.parse(all.stdout).decisions as { id: number; state: string; decided_by: string }[]).map((d) => [d.id, [d.state, d.decided_by]]));
    expect(states).toEqual({ [waiting]: ['queued', 'alice'], [other.id]: ['rejected', 'oncall'] });
  });

  it('the HTTP API approves and rejects behind the admin token, recording who', async () => {
    const ctx = testContext({ db: pg.db, queues: queues, deployment: dep, env: { DRIFTWATCH_ADMIN_TOKEN: TOKEN } });
    const app = createHttpApp(ctx, { ready: async () => true });
    const server: Server = await new Promise((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const a = await makeDecision(pg.db, { state: 'awaiting_approval', model: 'http-bot' });
      const b = await makeDecision(pg.db, { state: 'awaiting_approval', model: 'http-bot' });
      const post = (path: string, headers: Record<string, string> = {}, body?: unknown) =>
        fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
      const bearer = { authorization: `Bearer ${TOKEN}` };

      expect((await post(`/v1/decisions/${a.id}/approve`)).status).toBe(401);
      expect((await post(`/v1/decisions/${a.id}/approve`, { authorization: 'Bearer not-the-token-at-all-xx' })).status).toBe(401);
      expect((await getDecision(pg.db, a.id))!.state).toBe('awaiting_approval');

      const ok = await post(`/v1/decisions/${a.id}/approve`, bearer, { by: 'carol' });
      expect(ok.status).toBe(200);
      expect((await body(ok)).decision).toMatchObject({ id: a.id, state: 'queued', decided_by: 'carol' });
      expect(await safetyJob(a.id)).toBeDefined();
      const again = await post(`/v1/decisions/${a.id}/approve`, bearer);
      expect(again.status).toBe(409);
      expect((await body(again)).error).toContain('is queued, not awaiting_approval');

      // Basic auth: any user name and the token as password; the user name is recorded.
      const basic = { authorization: `Basic ${Buffer.from(`dave:${TOKEN}`).toString('base64')}` };
      const rej = await post(`/v1/decisions/${b.id}/reject`, basic);
      expect(rej.status).toBe(200);
      const row = (await getDecision(pg.db, b.id))!;
      expect(row).toMatchObject({ state: 'rejected', decided_by: 'dave' });
      expect(row.decided_at).not.toBeNull();
      expect(await safetyJob(b.id)).toBeUndefined();

      // a's action is queued now: a second safety action for the same model must wait for it.
      const c = await makeDecision(pg.db, { state: 'awaiting_approval', model: 'http-bot' });
      const busy = await post(`/v1/decisions/${c.id}/approve`, bearer);
      expect(busy.status).toBe(409);
      expect((await body(busy)).error).toBe(`decision ${a.id} (safety for http-bot) is still queued; approve decision ${c.id} once it has finished, or reject it`);
      expect((await getDecision(pg.db, c.id))!.state).toBe('awaiting_approval');
      await post(`/v1/decisions/${c.id}/reject`, bearer);

      expect((await post('/v1/decisions/999999/approve', bearer)).status).toBe(404);
      expect((await post('/v1/decisions/abc/approve', bearer)).status).toBe(400);
      const list = await fetch(`${base}/v1/decisions?model=http-bot`, { headers: bearer });
      expect((await body(list)).decisions.map((d: { id: number; state: string }) => [d.id, d.state])).toEqual([
        [c.id, 'rejected'],
        [b.id, 'rejected'],
        [a.id, 'queued'],
      ]);
      expect((await fetch(`${base}/v1/decisions`)).status).toBe(401);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('without DRIFTWATCH_ADMIN_TOKEN the approval endpoints are off, not open', async () => {
    const ctx = testContext({ db: pg.db, queues: queues, deployment: dep });
    const app = createHttpApp(ctx, { ready: async () => true });
    const server: Server = await new Promise((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    try {
      const d = await makeDecision(pg.db, { state: 'awaiting_approval', model: 'open-bot' });
      const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/v1/decisions/${d.id}/approve`, { method: 'POST' });
      expect(res.status).toBe(404);
      expect((await body(res)).error).toContain('DRIFTWATCH_ADMIN_TOKEN');
      expect((await getDecision(pg.db, d.id))!.state).toBe('awaiting_approval');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('dry_run: the decision is recorded as skipped with the reason, and nothing is enqueued or applied', async () => {
    const summary = await triggerOnce({ require_approval: false, dry_run: true, cooldown_hours: 24 }, 'dry-bot');
    expect(summary.decisions).toHaveLength(1);
    expect(summary.decisions[0]).toMatchObject({ action: 'safety', state: 'skipped' });
    expect(summary.decisions[0].reason).toMatch(/^dry_run: would safety because of behavior drift/);
    expect(summary.action_jobs).toEqual([]);
    expect(await safetyJob(summary.decisions[0].id)).toBeUndefined();
    expect((await pg.db.query(`SELECT 1 FROM safety_policies WHERE model = 'dry-bot'`)).rowCount).toBe(0);
  });
});

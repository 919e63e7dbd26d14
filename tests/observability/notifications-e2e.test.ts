import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { PgliteDb, migrate, type Db } from '@driftwatch/core';
import { dropPrefix, REDIS_URL, runCli, tempDir, testConfig, uniquePrefix, writeYaml } from '../helpers/env.js';
import { deployment, redisFixture, spawnDriftwatch, waitFor, type FleetProcess } from '../helpers/fleet.js';
import { seedWindows } from '../helpers/seed.js';

/**
 * Webhook notifications from a real fleet: `driftwatch start` (scheduler, workers and the
 * notify queue in one process, real Redis, the embedded database) on a shifted window,
 * with approvals required. Each event reaches a local receiver because the pipeline
 * produced it (a run, an approval, a fine-tune and its gate, a rollback), not because the
 * test called an emitter.
 */

interface Received { path: string; headers: IncomingHttpHeaders; body: string; at: number }
interface Note { id: string; type: string; model: string; summary: string; details: Record<string, unknown> }

const prefix = uniquePrefix('notify-e2e');
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => {});
  await dropPrefix(prefix);
});

/** Support questions, their paraphrases (as the evaluation set asks them) and the right answers. */
const QA = Array.from({ length: 90 }, (_, i) => ({ q: `How do I configure feature number ${i + 1}?`, p: `how can i set up feature number ${i + 1}`, a: `Open settings and enable option ${i + 1}.` }));

/**
 * A shifted window (tests/helpers/seed.ts), plus what a fine-tune needs to be judged: answers
 * users rated 5 in the current window, and evaluation items (paraphrases) the served model
 * got wrong there. The fine-tuned model learns the answers; the gate measures it on the paraphrases.
 */
async function seed(db: Db, now: Date) {
  await seedWindows(db, { now, n: 150, shifted: true });
  await db.query(
    `INSERT INTO interaction_log (model, ts, query, response, feedback_score, task_success)
     SELECT 'support-bot', $3::timestamptz + make_interval(secs => i), q, a, 5, true FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(q, a, i)`,
    [QA.map((x) => x.q), QA.map((x) => x.a), new Date(now.getTime() - 2 * 3_600_000)],
  );
  await db.query(
    `INSERT INTO evaluation_log (model, ts, item_id, input, expected, predicted, correct)
     SELECT 'support-bot', $4::timestamptz, 'qa-' || i, p, a, w, false FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(p, a, w, i)`,
    [QA.map((x) => x.p), QA.map((x) => x.a), QA.map(() => 'It depends on your situation.'), new Date(now.getTime() - 3_600_000)],
  );
}

describe('webhook notifications from a real pipeline', () => {
  it('a run, an approval, a fine-tune with its gate and a rollback each reach the webhook, signed; the run does not wait on the webhook', async () => {
    // The receiver: records every request; while `holding`, answers none of them (a slow webhook).
    const received: Received[] = [];
    let holding = true;
    const held: (() => void)[] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
        const answer = () => {
          if (!res.destroyed) res.writeHead(204).end();
        };
        if (holding) held.push(answer);
        else answer();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise((r) => server.close(() => r(undefined))));
    const hook = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const release = () => {
      holding = false;
      for (const a of held.splice(0)) a();
    };

    const secret = 'whsec-' + Math.random().toString(36).slice(2);
    const adminToken = 'test-admin-token-' + Math.random().toString(36).slice(2).padEnd(16, '0');
    const dir = tempDir('driftwatch-notify-e2e-');
    const dataDir = `${dir}/data`;
    const now = new Date();
    const db = await PgliteDb.open(dataDir);
    await migrate(db);
    await seed(db, now);
    await db.close();

    const env = {
      DRIFT_CONFIG: writeYaml(
        dir,
        'drift.yaml',
        testConfig({
          actions: { dry_run: false, require_approval: true, cooldown_hours: 24 },
          notifications: {
            webhooks: [
              { url: `${hook}/json`, format: 'json', secret_env: 'DRIFTWATCH_TEST_WEBHOOK_SECRET' },
              { url: `${hook}/slack`, format: 'slack', events: ['awaiting_approval'], secret_env: 'DRIFTWATCH_TEST_WEBHOOK_SECRET' },
            ],
          },
        }),
      ),
      DEPLOYMENT_CONFIG: writeYaml(dir, 'deployment.yaml', {
        http: { port: 0, host: '127.0.0.1' },
        // A fine-tune polls its (offline, 20 s) provider every second; a failed delivery is retried soon.
        queues: { finetune: { poll_interval_ms: 1000 }, notify: { attempts: 20, backoff: { type: 'fixed', delay_ms: 200 } } },
      }),
      DRIFTWATCH_DATA_DIR: dataDir,
      DRIFTWATCH_QUEUE_PREFIX: prefix,
      DRIFTWATCH_METRICS_PORT: '0',
      DRIFTWATCH_ADMIN_TOKEN: adminToken,
      DRIFTWATCH_TEST_WEBHOOK_SECRET: secret,
      OPENAI_API_KEY: undefined,
      REDIS_URL,
    };
    // The test's own view of the queues (the notify jobs), on the fleet's prefix.
    const fx = redisFixture(prefix, deployment());
    closers.push(() => fx.cleanup());
    const fleet: FleetProcess = await spawnDriftwatch(['start'], env, { readyTimeoutMs: 180_000 });
    closers.push(() => fleet.stop());
    const api = `http://127.0.0.1:${fleet.ready.http_port}`;

    /** The notifications delivered to a path, one per fact (a delivery retried after a timeout counts once). */
    const notes = (path: string): (Note & { raw: Received })[] => {
      const seen = new Map<string, Note & { raw: Received }>();
      for (const r of received) if (r.path === path) seen.set(String(r.headers['x-driftwatch-id']), { ...(path === '/json' ? (JSON.parse(r.body) as Note) : ({} as Note)), raw: r });
      return [...seen.values()];
    };
    const ofType = (type: string) => notes('/json').filter((n) => n.type === type);

    // 1. The run (through `start`, as an operator runs it), while the webhook answers nothing.
    const run = await runCli(['run-once'], env, { timeoutMs: 600_000 });
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout).runs[0] as { run_id: string; decisions: { id: number; action: string; state: string }[]; action_jobs: unknown[] };
    expect(summary.decisions.map((d) => `${d.action} ${d.state}`).sort()).toEqual(['finetune awaiting_approval', 'reindex awaiting_approval']);
    expect(summary.action_jobs).toEqual([]);
    // The run has finished, and its drift notification is not delivered: the webhook has answered nothing
    // yet, so its notify job cannot have completed. The run did not wait on the webhook.
    const notifyJobs = await fx.queues.get('notify').getJobs(['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed']);
    const driftJob = notifyJobs.find((j) => j.data.notification.type === 'drift_detected');
    expect(driftJob, 'the drift_detected notify job').toBeDefined();
    expect(await driftJob!.getState()).toMatch(/^(waiting|active|delayed|prioritized)$/);
    // It did reach the receiver, which holds its answer.
    await waitFor(() => ofType('drift_detected').length === 1, 'the drift_detected request', 120_000);
    expect(held.length).toBeGreaterThan(0);
    release();
    // Answered now, the delivery completes (retried through the queue if the held attempt timed out).
    await waitFor(async () => (await driftJob!.getState()) === 'completed', 'the drift_detected notify job to complete', 120_000, 100);

    const drift = ofType('drift_detected')[0];
    expect(drift).toMatchObject({ id: `drift.${summary.run_id}`, model: 'support-bot', details: { run_id: summary.run_id } });
    expect((drift.details.monitors as { monitor: string }[]).map((m) => m.monitor).sort()).toEqual(['accuracy', 'behavior', 'embedding']);
    expect(drift.summary).toMatch(/^drift detected in run /);

    // 2. Decisions awaiting approval, each with the command that approves it (json and slack).
    const approvals = await waitFor(() => (ofType('awaiting_approval').length === 2 ? ofType('awaiting_approval') : undefined), 'two awaiting_approval deliveries', 120_000);
    const byAction = Object.fromEntries(approvals.map((a) => [a.details.action as string, a]));
    for (const d of summary.decisions) {
      expect(byAction[d.action].details).toMatchObject({ decision_id: d.id, approve_command: `driftwatch approve ${d.id}`, reject_command: `driftwatch reject ${d.id}` });
    }
    const slack = await waitFor(() => (notes('/slack').length === 2 ? notes('/slack') : undefined), 'two slack deliveries', 120_000);
    const slackTexts = slack.map((s) => (JSON.parse(s.raw.body) as { text: string }).text);
    for (const d of summary.decisions) expect(slackTexts.some((t) => t.includes(`\`driftwatch approve ${d.id}\``))).toBe(true);

    // 3. Approve: the fine-tune with the command the notification gave, the re-index through the HTTP route.
    const ft = byAction.finetune;
    const ri = byAction.reindex;
    const cmd = String(ft.details.approve_command).split(' ');
    expect(cmd.slice(0, 2)).toEqual(['driftwatch', 'approve']);
    const approved = await runCli([...cmd.slice(1), '--by', 'oncall'], env);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain(`decision ${ft.details.decision_id} (finetune for support-bot) is now queued, by oncall`);
    const viaHttp = await fetch(`${api}/v1/decisions/${ri.details.decision_id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'carol' }),
    });
    expect(viaHttp.status).toBe(200);

    // 4. The outcomes: the re-index succeeded; the fine-tune trained (offline provider), was judged by the gate and promoted.
    const outcomes = await waitFor(() => (ofType('action_outcome').length === 2 ? ofType('action_outcome') : undefined), 'two action_outcome deliveries', 300_000, 250);
    const outcome = Object.fromEntries(outcomes.map((o) => [o.details.action as string, o]));
    expect(outcome.reindex.details).toMatchObject({ decision_id: ri.details.decision_id, state: 'succeeded' });
    expect(outcome.finetune.details).toMatchObject({ decision_id: ft.details.decision_id, state: 'succeeded', outcome: 'promoted' });
    expect(outcome.finetune.summary).toBe(`finetune of support-bot (decision ${ft.details.decision_id}) promoted`);
    const gate = await waitFor(() => ofType('gate_verdict')[0], 'the gate_verdict delivery', 60_000);
    expect(gate.details).toMatchObject({ model: 'support-bot', decision_id: ft.details.decision_id, version: 'v1', verdict: 'promoted' });
    expect(gate.details.candidate_accuracy as number).toBeGreaterThan(gate.details.incumbent_accuracy as number);

    // 5. A rollback from the CLI (through `start`'s HTTP API, which holds the embedded database).
    const rolled = await runCli(['rollback', 'support-bot', '--by', 'oncall', '--reason', 'customer complaints'], env);
    expect(rolled.code, rolled.stderr).toBe(0);
    const rollback = await waitFor(() => ofType('rollback')[0], 'the rollback delivery', 60_000);
    expect(rollback.details).toMatchObject({ model: 'support-bot', kind: 'model', from: 'v1', to: 'base', by: 'oncall', reason: 'customer complaints' });

    // Every request: its event header and id match its body, and it is signed with the configured secret.
    expect(notes('/json').map((n) => n.type).sort()).toEqual(['action_outcome', 'action_outcome', 'awaiting_approval', 'awaiting_approval', 'drift_detected', 'gate_verdict', 'rollback']);
    for (const r of received) {
      if (r.path === '/json') {
        const n = JSON.parse(r.body) as Note;
        expect(r.headers['x-driftwatch-event']).toBe(n.type);
        expect(r.headers['x-driftwatch-id']).toBe(n.id);
      }
      const m = String(r.headers['x-driftwatch-signature']).match(/^t=(\d+),v1=([0-9a-f]{64})$/);
      expect(m, r.body).not.toBeNull();
      expect(createHmac('sha256', secret).update(`${m![1]}.${r.body}`).digest('hex')).toBe(m![2]);
      expect(createHmac('sha256', 'not-the-secret').update(`${m![1]}.${r.body}`).digest('hex')).not.toBe(m![2]);
      expect(Math.abs(r.at / 1000 - Number(m![1]))).toBeLessThan(120);
    }
  }, 900_000);
});

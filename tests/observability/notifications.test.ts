import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { registerProcessor } from '../../packages/core/src/queues/worker.js';
import { Queues } from '../../packages/core/src/queues/queues.js';
import type { Db } from '../../packages/core/src/db/types.js';
import {
  emitNotification,
  notifyActionOutcome,
  notifyAwaitingApproval,
  notifyDriftDetected,
  notifyGateVerdict,
  notifyRollback,
} from '../../packages/core/src/notifications/index.js';
import { notifyProcessor } from '../../apps/workers/src/processors/notify.js';
import { testContext } from '../helpers/context.js';
import { uniquePrefix } from '../helpers/env.js';
import { deployment, quietLogger, redisFixture, waitFor } from '../helpers/fleet.js';

interface Received { path: string; headers: IncomingHttpHeaders; body: string }

describe('webhook notifications', () => {
  const received: Received[] = [];
  let failNext = 0;
  let server: Server;
  let base = '';
  const secret = 'test-secret-' + Math.random().toString(36).slice(2);
  beforeAll(async () => {
    process.env.DRIFTWATCH_TEST_HOOK_SECRET = secret;
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (failNext > 0) {
          failNext--;
          res.writeHead(503).end('try later');
          return;
        }
        received.push({ path: req.url ?? '', headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    delete process.env.DRIFTWATCH_TEST_HOOK_SECRET;
    await new Promise((r) => server.close(r));
  });

  it('delivers each event, signed, in json and slack format, retrying a failed delivery through the queue', async () => {
    const prefix = uniquePrefix('notify');
    const dep = deployment({ queues: { notify: { attempts: 5, backoff: { type: 'fixed', delay_ms: 100 } } } });
    const fx = redisFixture(prefix, dep);
    const ctx = testContext({
      db: undefined as unknown as Db,
      queues: fx.queues,
      deployment: dep,
      config: {
        notifications: {
          webhooks: [
            { url: `${base}/json`, format: 'json', secret_env: 'DRIFTWATCH_TEST_HOOK_SECRET' },
            { url: `${base}/slack`, format: 'slack', events: ['awaiting_approval', 'rollback'], secret_env: 'DRIFTWATCH_TEST_HOOK_SECRET' },
          ],
        },
      },
    });
    const worker = registerProcessor('notify', notifyProcessor(ctx), { connection: fx.worker, prefix, deployment: dep, logger: quietLogger });
    try {
      failNext = 1; // the first delivery gets a 503 and is retried
      const decision = { id: 42, model: 'support-bot', action: 'finetune' as const, reason: 'accuracy drift' };
      expect(await notifyDriftDetected(ctx, { model: 'support-bot', run_id: 'run-1', overall_score: 0.95, monitors: [{ monitor: 'accuracy', score: 0.95, p_value: 0.001, reason: 'eval accuracy 92% -> 78%' }] })).toBe(1);
      expect(await notifyAwaitingApproval(ctx, decision)).toBe(2);
      expect(await notifyActionOutcome(ctx, decision, 'succeeded', { outcome: 'promoted' })).toBe(1);
      expect(await notifyGateVerdict(ctx, { model: 'support-bot', decision_id: 42, version: 'v2', verdict: 'promoted', candidate_accuracy: 0.9, incumbent_accuracy: 0.78 })).toBe(1);
      expect(await notifyRollback(ctx, { model: 'support-bot', kind: 'model', from: 'v2', to: 'v1', by: 'auto', reason: 'verification regressed', decision_id: 43 })).toBe(2);
      // The same fact emitted again (a replayed trigger) is not delivered twice.
      await notifyAwaitingApproval(ctx, decision);

      await waitFor(() => received.length >= 7, '7 deliveries', 60_000);
      // Every notify job has finished (7: the replayed approval was deduplicated), so no further delivery is on its way.
      await waitFor(async () => (await fx.queues.get('notify').getJobCounts('completed')).completed === 7, 'notify jobs done', 60_000);
      expect(await fx.queues.get('notify').getJobCounts('waiting', 'delayed', 'active', 'prioritized')).toEqual({ waiting: 0, delayed: 0, active: 0, prioritized: 0 });
      expect(received).toHaveLength(7);
      const json = received.filter((r) => r.path === '/json').map((r) => ({ ...r, n: JSON.parse(r.body) }));
      expect(json.map((r) => r.n.type).sort()).toEqual(['action_outcome', 'awaiting_approval', 'drift_detected', 'gate_verdict', 'rollback']);
      const approval = json.find((r) => r.n.type === 'awaiting_approval')!;
      expect(approval.n).toMatchObject({ model: 'support-bot', details: { decision_id: 42, approve_command: 'driftwatch approve 42' } });
      expect(approval.headers['x-driftwatch-event']).toBe('awaiting_approval');
      const slack = received.filter((r) => r.path === '/slack').map((r) => JSON.parse(r.body) as { text: string });
      expect(slack).toHaveLength(2);
      expect(slack.find((s) => s.text.includes('awaits approval'))!.text).toContain('`driftwatch approve 42`');
      // Every request is signed: HMAC-SHA256 of "<t>.<body>" with the secret.
      for (const r of received) {
        const m = String(r.headers['x-driftwatch-signature']).match(/^t=(\d+),v1=([0-9a-f]{64})$/);
        expect(m, r.body).not.toBeNull();
        expect(createHmac('sha256', secret).update(`${m![1]}.${r.body}`).digest('hex')).toBe(m![2]);
        expect(Math.abs(Date.now() / 1000 - Number(m![1]))).toBeLessThan(120);
      }
      expect(failNext).toBe(0);
    } finally {
      await fx.cleanup([worker]);
    }
  }, 60_000);

  it('an event no webhook subscribes to queues nothing, and an unreachable Redis does not hold the emitter', async () => {
    const dep = deployment();
    const fx = redisFixture(uniquePrefix('notify2'), dep);
    const ctx = testContext({ db: undefined as unknown as Db, queues: fx.queues, deployment: dep, config: { notifications: { webhooks: [{ url: `${base}/x`, events: ['rollback'] }] } } });
    try {
      expect(await notifyDriftDetected(ctx, { model: 'support-bot', run_id: 'r', overall_score: 1, monitors: [] })).toBe(0);
    } finally {
      await fx.cleanup();
    }
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: () => 1000 });
    dead.on('error', () => {});
    const queues = new Queues(dead, uniquePrefix('dead'), dep);
    const start = performance.now();
    const n = await emitNotification({ config: { notifications: { webhooks: [{ url: `${base}/x`, events: ['drift_detected'], format: 'json', secret_env: 'X' }] } }, queues, logger: quietLogger }, { id: 'drift.r', type: 'drift_detected', model: 'm', summary: 's', details: {} }, 500);
    expect(n).toBe(0);
    // Bounded by the 500 ms given (generous margin for a loaded machine), not by Redis's reconnects.
    expect(performance.now() - start).toBeLessThan(10_000);
    await queues.close().catch(() => {});
    dead.disconnect();
  }, 30_000);
});

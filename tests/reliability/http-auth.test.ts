import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import { PgliteDb, Queues, migrate } from '@driftwatch/core';
import { createHttpApp } from '@driftwatch/scheduler';
import { testContext } from '../helpers/context.js';
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/env.js';
import { deployment } from '../helpers/fleet.js';

/**
 * The whole scheduler app: no route reads a request body before it has authenticated
 * the caller, so an unauthenticated client cannot make the server parse megabytes.
 */
describe('authentication comes before the body, on every route', () => {
  const TOKEN = 'an-admin-token-of-enough-length';
  const prefix = uniquePrefix('httpauth');
  let db: PgliteDb;
  let producer: Redis;
  let queues: Queues;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    db = await PgliteDb.open('memory://');
    await migrate(db);
    producer = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
    const dep = deployment();
    queues = new Queues(producer, prefix, dep);
    const ctx = testContext({ db, queues, deployment: dep, env: { DRIFTWATCH_ADMIN_TOKEN: TOKEN } });
    const app = createHttpApp(ctx, { ready: async () => true });
    server = await new Promise<Server>((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await queues?.close();
    producer?.disconnect();
    await db?.close();
    await dropPrefix(prefix);
  });

  // A megabyte that is not even JSON: a server that parsed it first would answer 400 or 413.
  const junk = '{' + 'x'.repeat(1024 * 1024);
  const routes: [string, string][] = [
    ['POST', '/v1/decisions/1/approve'],
    ['POST', '/v1/decisions/1/reject'],
    ['POST', '/v1/ingest'],
    ['POST', '/v1/interactions'],
    ['POST', '/v1/feedback'],
    ['POST', '/v1/runs'],
    ['POST', '/v1/models/support-bot/rollback'],
    ['POST', '/openai/v1/chat/completions'],
  ];

  it.each(routes)('%s %s without credentials is 401 before its body is read', async (method, path) => {
    const res = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, body: junk });
    expect(res.status).toBe(401);
  });

  it('an unknown route with a body is 404, not a parse error', async () => {
    const res = await fetch(base + '/v1/nothing-here', { method: 'POST', headers: { 'content-type': 'application/json' }, body: junk });
    expect(res.status).toBe(404);
  });

  it('with the credential, the body is read and judged', async () => {
    const res = await fetch(base + '/v1/decisions/1/approve', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: junk });
    expect([400, 413]).toContain(res.status);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { PgliteDb, QUEUE_NAMES, createApiKey, migrate, revokeApiKey, type Db } from '@driftwatch/core';
import { authenticatorFor, createHttpApp } from '@driftwatch/scheduler';
import { testContext } from '../helpers/context.js';
import { uniquePrefix } from '../helpers/env.js';
import { deployment, redisFixture } from '../helpers/fleet.js';

/**
 * Bull Board takes any admin credential: an admin-scope API key (bearer, or as the
 * basic-auth password a browser sends) as well as DRIFTWATCH_ADMIN_TOKEN; an ingest key
 * is 403; nothing at all is 401 with a Basic challenge; with no credential configured the
 * board is off. Real HTTP requests against the scheduler's app, queues on the real Redis.
 */
describe('Bull Board with API keys', () => {
  const dep = deployment();
  const f = redisFixture(uniquePrefix('board-keys'), dep);
  let db: Db;
  let server: Server;
  let base: string;
  let ctx: ReturnType<typeof testContext>;

  beforeAll(async () => {
    db = await PgliteDb.open('memory://');
    await migrate(db);
    ctx = testContext({ db, queues: f.queues, deployment: dep });
    const app = createHttpApp(ctx, { ready: async () => true });
    server = await new Promise<Server>((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }, 120_000);
  afterAll(async () => {
    await (server && new Promise((r) => server.close(r)));
    await f.cleanup();
    await db?.close();
  });

  const get = (path: string, authorization?: string) => fetch(`${base}${path}`, { headers: authorization ? { authorization } : {} });
  const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

  it('off with no credential configured; then an admin key opens it (bearer or basic), an ingest key is 403, none is 401', async () => {
    expect((await get('/admin/queues', 'Bearer dw_admin_notakey')).status).toBe(404);

    const { key: adminKey, row } = await createApiKey(db, { name: 'ops', scope: 'admin' });
    const { key: ingestKey } = await createApiKey(db, { name: 'app', scope: 'ingest' });
    authenticatorFor(ctx).invalidate();

    const none = await get('/admin/queues');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await get('/admin/queues', 'Bearer dw_admin_notakey')).status).toBe(401);
    expect((await get('/admin/queues/api/queues', `Bearer ${ingestKey}`)).status).toBe(403);

    const page = await get('/admin/queues', `Bearer ${adminKey}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    // What a browser sends after the Basic prompt: any user name, the key as password.
    const api = await get('/admin/queues/api/queues', basic('alice', adminKey));
    expect(api.status).toBe(200);
    expect(((await api.json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort()).toEqual([...QUEUE_NAMES].sort());

    // A revoked admin key is refused again.
    await revokeApiKey(db, row.id);
    authenticatorFor(ctx).invalidate();
    expect((await get('/admin/queues/api/queues', basic('alice', adminKey))).status).toBe(401);
  }, 120_000);
});

import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { PgliteDb } from '../../packages/core/src/db/pglite.js';
import { migrate } from '../../packages/core/src/db/migrations.js';
import type { AppContext } from '../../packages/core/src/queues/context.js';
import { createHttpApp } from '../../apps/scheduler/src/http/app.js';
import { testContext } from '../helpers/context.js';
import { deployment, redisFixture } from '../helpers/fleet.js';
import { uniquePrefix } from '../helpers/env.js';

/** A scheduler HTTP app on an in-memory PGlite and its own Redis prefix, listening on a free loopback port. */
export async function ingestHarness(o: { config?: Record<string, unknown>; env?: Record<string, string>; providers?: Partial<AppContext['providers']>; headers?: Record<string, string> } = {}) {
  const db = await PgliteDb.open('memory://');
  await migrate(db);
  const prefix = uniquePrefix('ingest');
  const dep = deployment();
  const redis = redisFixture(prefix, dep);
  const ctx = testContext({ db, queues: redis.queues, deployment: dep, config: o.config, env: o.env });
  Object.assign(ctx.providers, o.providers ?? {});
  const app = createHttpApp(ctx, { ready: async () => true });
  const server: Server = await new Promise((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...o.headers, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json, headers: res.headers };
  };
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url + path, { headers: { ...o.headers, ...headers } });
    return { status: res.status, json: (await res.json()) as any };
  };
  return {
    db, ctx, url, post, get, redis,
    close: async () => {
      await new Promise((r) => server.close(r));
      await redis.cleanup();
      await db.close();
    },
  };
}

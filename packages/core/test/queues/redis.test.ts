import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { freePort } from '../../src/net.js';
import { RedisUnavailableError, ensureRedis } from '../../src/queues/redis.js';

describe('ensureRedis', () => {
  it('uses REDIS_URL as given', async () => {
    const r = await ensureRedis('redis://example.invalid:6390');
    expect(r.url).toBe('redis://example.invalid:6390');
  });

  it('starts redis-server for the life of the process when nothing answers, and stops it', async () => {
    const r = await ensureRedis(undefined, { probePort: await freePort() });
    const port = Number(new URL(r.url).port);
    const client = new Redis(r.url, { maxRetriesPerRequest: 1, lazyConnect: true });
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    // As BullMQ requires: never evict keys.
    expect(((await client.config('GET', 'maxmemory-policy')) as string[])[1]).toBe('noeviction');
    client.disconnect();
    await r.stop();
    const after = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    after.on('error', () => {});
    await expect(after.connect()).rejects.toThrow();
    after.disconnect();
  });

  it('says how to get a Redis when there is none to start', async () => {
    const err = await ensureRedis(undefined, { probePort: await freePort(), bin: 'redis-server-not-installed' }).catch((e) => e);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect(err.message).toMatch(/apt-get install -y redis-server/);
    expect(err.message).toMatch(/REDIS_URL/);
  });
});

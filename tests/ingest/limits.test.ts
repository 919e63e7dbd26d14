import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestHarness } from './harness.js';

const TOKEN = 'limits-admin-token';
let h: Awaited<ReturnType<typeof ingestHarness>>;
beforeAll(async () => {
  h = await ingestHarness({ env: { DRIFTWATCH_ADMIN_TOKEN: TOKEN }, config: { ingest: { rate_limit: 300, rate_limit_window_ms: 60_000, body_limit_bytes: 100_000, compute_embeddings: false } } });
});
afterAll(() => h?.close());
const auth = { authorization: `Bearer ${TOKEN}` };

describe('ingest limits', () => {
  it('authenticates before reading the body: a body over the limit without a credential is a 401, with one a 413 naming the limit', async () => {
    const big = JSON.stringify({ batch: [{ id: 'big', type: 'interaction', body: { model: 'm', query: 'x'.repeat(200_000) } }] });
    expect((await h.post('/v1/ingest', big)).status).toBe(401);
    expect((await h.post('/v1/ingest', big, { authorization: 'Bearer wrong' })).status).toBe(401);
    const r = await h.post('/v1/ingest', big, auth);
    expect(r.status).toBe(413);
    expect(r.json.error).toMatch(/larger than the limit of 100000 bytes \(ingest\.body_limit_bytes\)/);
  });

  it('no malformed input yields a 5xx', async () => {
    const bodies = [
      '', '{', '[', '[]', '{}', 'null', 'true', '1e999', '"\\u0000"', '{"batch":null}', '{"batch":"x"}', '{"batch":[null]}', '{"batch":[{"id":1,"type":"interaction","body":{}}]}',
      '{"batch":[{"id":"x","type":"interaction","body":{"model":"m","query":"q","ts":"0000-01-01T00:00:00Z"}}]}',
      '{"batch":[{"id":"y","type":"interaction","body":{"model":"m","query":"q","ts":99999999999999999}}]}',
      '{"batch":[{"id":"z","type":"interaction","timestamp":"not a time","body":{"model":"m","query":"q"}}]}',
      '{"batch":[{"id":"w","type":"document","body":{"model":"m","text":"t","metadata":{"a\\u0000":1}}}]}',
      '{"batch":[{"id":"v","type":"evaluation","body":{"model":"m","correct":true,"score":1e300}}]}',
      '{"batch":[{"id":"u","type":"embedding","body":{"model":"m","embedding":[1e39]}}]}',
      '{"batch":[{"id":"' + 'i'.repeat(200) + '","type":"feedback","body":{"interaction_id":"a","score":3}}]}',
      '{"batch":[{"id":"t","type":"feedback","body":{"interaction_id":123456789012345678901234567890,"score":3}}]}',
      '{"batch":[{"id":"s","type":"interaction","body":{"model":"m","query":"q","latency_ms":1e12}}]}',
      '{"__proto__":{"batch":[]}}',
    ];
    for (const path of ['/v1/ingest', '/v1/interactions', '/v1/feedback', '/v1/embeddings', '/v1/evaluations', '/v1/otel/v1/traces']) {
      for (const body of bodies) {
        const r = await h.post(path, body, auth);
        expect(r.status, `${path} ${body.slice(0, 80)}: ${JSON.stringify(r.json).slice(0, 200)}`).toBeLessThan(500);
      }
    }
    const ok = await h.post('/v1/ingest', { batch: [{ id: 'ok', type: 'interaction', body: { model: 'm', query: 'still fine' } }] }, auth);
    expect(ok.json.successes).toEqual([{ id: 'ok', status: 201, row_id: expect.any(Number) }]);
  });

  it('per-key rate limit: 429 with retry-after', async () => {
    let limited: { status: number; headers: Headers; json: any } | null = null;
    for (let k = 0; k < 400 && !limited; k++) {
      const r = await h.post('/v1/ingest', { batch: [] }, auth);
      if (r.status === 429) limited = r;
    }
    expect(limited).not.toBeNull();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited!.json.error).toMatch(/at most 300 requests per 60 s .*ingest\.rate_limit/);
  });
});

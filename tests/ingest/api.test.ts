import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry, runScrapeHooks } from '@driftwatch/core';
import { ingestHarness } from './harness.js';

let h: Awaited<ReturnType<typeof ingestHarness>>;
beforeAll(async () => {
  h = await ingestHarness({ config: { ingest: { body_limit_bytes: 200_000, max_batch: 50, rate_limit: 1000, chunk_rows: 7 } } });
});
afterAll(() => h?.close());

const count = async (sql: string, params: unknown[] = []) => (await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0].n;
const interaction = (id: string, extra: Record<string, unknown> = {}) => ({ id, type: 'interaction', body: { model: 'bot', query: `q ${id}`, response: 'a', ...extra } });

describe('POST /v1/ingest', () => {
  it('stores valid events, reports each invalid one with its field, writes nothing of it (207)', async () => {
    const before = await count('interaction_log');
    const r = await h.post('/v1/ingest', {
      batch: [
        interaction('ok-1', { embedding: [0.1, 0.2, 0.3] }),
        interaction('bad-type', { latency_ms: 'fast' }),
        interaction('bad-field', { colour: 'red' }),
        interaction('bad-future', { ts: new Date(Date.now() + 3 * 86_400_000).toISOString() }),
        { id: 'bad-kind', type: 'tweet', body: {} },
        interaction('ok-2'),
        { id: 'ev-1', type: 'evaluation', body: { model: 'bot', correct: true } },
        { id: 'emb-1', type: 'embedding', body: { model: 'bot', source: 'response', embedding: [1, 2] } },
        { type: 'interaction', body: {} },
        interaction('bad-nul', { query: 'a\u0000b' }),
      ],
    });
    expect(r.status).toBe(207);
    expect(r.json.successes.map((s: any) => [s.id, s.status])).toEqual([['ok-1', 201], ['ok-2', 201], ['ev-1', 201], ['emb-1', 201]]);
    const errs = Object.fromEntries(r.json.errors.map((e: any) => [e.id ?? 'null', e]));
    expect(errs['bad-type'].message).toMatch(/^batch\[1\]\.body\.latency_ms: expected number, got a string/);
    expect(errs['bad-field'].message).toMatch(/^batch\[2\]\.body\.colour: unknown field/);
    expect(errs['bad-future'].message).toMatch(/^batch\[3\]\.body\.ts: .* more than a day in the future/);
    expect(errs['bad-kind'].message).toMatch(/^batch\[4\]\.type: /);
    expect(errs['null'].message).toMatch(/^batch\[8\]\.id: /);
    expect(errs['bad-nul'].message).toMatch(/^batch\[9\]\.body\.query: contains a NUL/);
    expect(r.json.errors.every((e: any) => e.status === 400)).toBe(true);
    expect(await count('interaction_log') - before).toBe(2);
    expect(await count(`interaction_log WHERE event_id LIKE 'bad-%'`)).toBe(0);
    expect(await count(`ingest_events WHERE event_id LIKE 'bad-%'`)).toBe(0);
    await runScrapeHooks();
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/driftwatch_ingest_events_total\{type="interaction",status="201"\} [1-9]/);
    expect(metrics).toMatch(/driftwatch_ingest_events_total\{type="interaction",status="400"\} [1-9]/);
    expect(metrics).toMatch(/driftwatch_ingest_backlog\{kind="embeddings_pending"\} 1/);
  });

  it('non-finite numbers (1e999) are per-event errors naming the field', async () => {
    const raw = `{"batch":[{"id":"inf-1","type":"interaction","body":{"model":"bot","query":"x","cost_usd":1e999}},{"id":"inf-2","type":"embedding","body":{"model":"inf","embedding":[1,-1e999]}}]}`;
    const r = await h.post('/v1/ingest', raw);
    expect(r.status).toBe(207);
    expect(r.json.errors.map((e: any) => e.message)).toEqual([
      expect.stringMatching(/^batch\[0\]\.body\.cost_usd: expected a finite number/),
      expect.stringMatching(/^batch\[1\]\.body\.embedding\[1\]: expected a finite number/),
    ]);
  });

  it('is idempotent by event id: a retry is a 200 duplicate, another body under a used id a 409', async () => {
    const batch = [interaction('idem-1'), interaction('idem-2'), interaction('idem-1')];
    const first = await h.post('/v1/ingest', { batch });
    expect(first.json.successes.map((s: any) => [s.id, s.status, s.duplicate ?? false])).toEqual([['idem-1', 201, false], ['idem-2', 201, false], ['idem-1', 200, true]]);
    const retry = await h.post('/v1/ingest', { batch: [interaction('idem-1'), interaction('idem-2', { response: 'changed' })] });
    expect(retry.json.successes).toEqual([{ id: 'idem-1', status: 200, duplicate: true }]);
    expect(retry.json.errors).toEqual([{ id: 'idem-2', status: 409, message: expect.stringMatching(/already used for a different interaction event/) }]);
    expect(await count(`interaction_log WHERE event_id IN ('idem-1','idem-2')`)).toBe(2);
  });

  it('writes many events in chunks, concurrently, each id once', async () => {
    const batch = Array.from({ length: 40 }, (_, k) => interaction(`many-${k}`));
    const rs = await Promise.all([h.post('/v1/ingest', { batch }), h.post('/v1/ingest', { batch })]);
    const created = rs.flatMap((r) => r.json.successes.filter((s: any) => s.status === 201)).length;
    const dups = rs.flatMap((r) => r.json.successes.filter((s: any) => s.duplicate)).length;
    expect([created, dups]).toEqual([40, 40]);
    expect(await count(`interaction_log WHERE event_id LIKE 'many-%'`)).toBe(40);
  });

  it('rejects an embedding of another dimension naming both', async () => {
    await h.post('/v1/ingest', { batch: [interaction('dim-1', { model: 'dimbot', embedding: [1, 2, 3] })] });
    const r = await h.post('/v1/ingest', { batch: [interaction('dim-2', { model: 'dimbot', embedding: [1, 2] })] });
    expect(r.json.errors[0].message).toMatch(/body\.embedding: embedding has 2 dimensions, but model "dimbot" \(query embeddings\) has 3/);
    expect(await count(`interaction_log WHERE event_id = 'dim-2'`)).toBe(0);
  });

  it('limits: batch size, body size (413 naming the limit), malformed bodies are 4xx', async () => {
    const big = await h.post('/v1/ingest', { batch: Array.from({ length: 51 }, (_, k) => interaction(`big-${k}`)) });
    expect(big.status).toBe(413);
    expect(big.json.error).toMatch(/at most 50 per request \(ingest\.max_batch\)/);
    const huge = await h.post('/v1/ingest', { batch: [interaction('huge', { query: 'x'.repeat(300_000) })] });
    expect(huge.status).toBe(413);
    expect(huge.json.error).toMatch(/limit of 200000 bytes \(ingest\.body_limit_bytes\)/);
    for (const body of ['{', '[]', 'null', '"x"', '{"batch":{}}', '{"batch":[1,null,"x",[]]}', '{"batch":[],"extra":1}', '{"batch":[{"id":"x","type":"feedback","body":{"interaction_id":{}}}]}']) {
      const r = await h.post('/v1/ingest', body);
      expect(r.status, body).toBeGreaterThanOrEqual(200);
      expect(r.status, body).toBeLessThan(500);
    }
    const noType = await fetch(h.url + '/v1/ingest', { method: 'POST', body: 'batch' });
    expect(noType.status).toBe(400);
  });

  it('scrubs personal data before storing it (batch and shortcut)', async () => {
    await h.post('/v1/ingest', { batch: [interaction('pii-1', { query: 'I am jane@example.com, card 4111 1111 1111 1111', response: 'call +44 20 7946 0958' })] });
    const s = await h.post('/v1/interactions', { model: 'bot', query: 'my key is sk-abcdefghijklmnopqrstuvwxyz123456 from 10.1.2.3' });
    expect(s.status).toBe(201);
    const rows = (await h.db.query<{ query: string; response: string }>(`SELECT query, response FROM interaction_log WHERE event_id = 'pii-1' OR id = $1 ORDER BY id`, [s.json.ids[0]])).rows;
    expect(rows).toEqual([
      { query: 'I am [EMAIL], card [CARD]', response: 'call [PHONE]' },
      { query: 'my key is [SECRET] from [IP]', response: '' },
    ]);
  });

  it('shortcuts keep working: one object or an array, all or nothing', async () => {
    const ok = await h.post('/v1/evaluations', [{ model: 'bot', correct: true }, { model: 'bot', expected: 'a', predicted: 'a' }]);
    expect(ok.status).toBe(201);
    expect(ok.json.ids).toHaveLength(2);
    const bad = await h.post('/v1/interactions', { model: 'bot', query: 'x', feedback_score: 9 });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/^feedback_score: /);
    const future = await h.post('/v1/interactions', [{ model: 'bot', query: 'x' }, { model: 'bot', query: 'y', ts: '2999-01-01T00:00:00Z' }]);
    expect(future.status).toBe(400);
    expect(future.json.error).toMatch(/^\[1\]\.ts: 2999-01-01T00:00:00.000Z is more than a day in the future/);
  });

  it('document events feed the re-index corpus: upserted by (model, doc_key), stale until embedded unless sent with one', async () => {
    const r = await h.post('/v1/ingest', {
      batch: [
        { id: 'doc-1', type: 'document', body: { model: 'rag', text: 'Refunds take 5 days. Mail help@shop.example', metadata: { url: 'https://shop.example/refunds' } } },
        { id: 'doc-2', type: 'document', body: { model: 'rag', doc_key: 'faq/2', text: 'Shipping is free', embedding: [0.1, 0.2], embedding_model: 'mine' } },
        { id: 'doc-3', type: 'document', body: { model: 'rag', doc_key: 'doc-1', text: 'Refunds take 3 days' } },
      ],
    });
    expect(r.json.errors).toEqual([]);
    const docs = (await h.db.query<any>(`SELECT doc_key, content, metadata, indexed_hash IS NULL AS stale, embedding_model FROM documents WHERE model = 'rag' ORDER BY doc_key`)).rows;
    expect(docs).toEqual([
      { doc_key: 'doc-1', content: 'Refunds take 3 days', metadata: {}, stale: true, embedding_model: null },
      { doc_key: 'faq/2', content: 'Shipping is free', metadata: {}, stale: false, embedding_model: 'mine' },
    ]);
  });
});

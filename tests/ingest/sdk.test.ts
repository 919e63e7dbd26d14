import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { Driftwatch, interactionIdOf } from '@driftwatch/sdk';
import { FakeOpenAI } from '../helpers/fake-openai.js';
import { freePort } from '../../packages/core/src/net.js';
import { ingestHarness } from './harness.js';

let h: Awaited<ReturnType<typeof ingestHarness>>;
let fake: FakeOpenAI;
beforeAll(async () => {
  // Two requests a second per client: the SDK meets 429s and must retry them.
  h = await ingestHarness({ config: { ingest: { rate_limit: 2, rate_limit_window_ms: 1000, compute_embeddings: false } } });
  fake = await FakeOpenAI.start();
});
afterAll(async () => {
  await fake?.close();
  await h?.close();
});

describe('@driftwatch/sdk', () => {
  it('wrapOpenAI logs completions (scrubbed), feedback by the returned id, batches survive 429s', async () => {
    const errors: unknown[] = [];
    const dw = new Driftwatch({ baseUrl: h.url, flushIntervalMs: 20, maxBatch: 5, backoffMs: 50, onError: (e) => errors.push(e) });
    const openai = dw.wrapOpenAI(new OpenAI({ apiKey: fake.apiKey, baseURL: fake.url }), { model: 'sdk-bot' });
    const c = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello, I am jane@example.com' }] });
    expect(c.choices[0].message).toBeTruthy();
    const id = interactionIdOf(c)!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    dw.log.feedback({ interaction_id: id, score: 5 });
    for (let k = 0; k < 20; k++) dw.log.interaction({ model: 'sdk-bot', query: `q${k}`, response: 'a' }, { id: `sdk-${k}` });
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'stream please' }], stream: true });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
    await dw.shutdown();
    expect(errors).toEqual([]);
    expect(dw.stats.retries).toBeGreaterThan(0);
    const row = (await h.db.query<any>(`SELECT query, response, feedback_score, latency_ms FROM interaction_log WHERE event_id = $1`, [id])).rows[0];
    expect(row).toMatchObject({ query: 'Hello, I am [EMAIL]', response: c.choices[0].message.content, feedback_score: 5 });
    expect((await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM interaction_log WHERE model = 'sdk-bot'`)).rows[0].n).toBe(22);
    const s = (await h.db.query<any>(`SELECT response FROM interaction_log WHERE model = 'sdk-bot' AND query = 'stream please'`)).rows[0];
    expect(s.response).toBe(streamed);
  });

  it('never throws into the application: an unreachable server is reported, not raised', async () => {
    const errors: { status: number; message: string }[] = [];
    const dw = new Driftwatch({ baseUrl: `http://127.0.0.1:${await freePort()}`, maxAttempts: 2, backoffMs: 10, onError: (e) => errors.push(e) });
    expect(() => dw.log.interaction({ model: 'm', query: 'q' })).not.toThrow();
    await expect(dw.shutdown()).resolves.toBeUndefined();
    expect(errors).toEqual([expect.objectContaining({ message: 'not delivered after 2 attempts' })]);
    // A rejected event is reported with the server's message, the rest stored.
    const bad = new Driftwatch({ baseUrl: h.url, onError: (e) => errors.push(e) });
    bad.log.interaction({ model: 'm', query: 'q', latency_ms: -1 });
    await bad.shutdown();
    expect(errors.at(-1)).toMatchObject({ status: 400, message: expect.stringMatching(/body\.latency_ms/) });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import OpenAI from 'openai';
import { PgliteDb, createApiKey, migrate, setPolicy, type Db } from '@driftwatch/core';
import { createHttpApp } from '@driftwatch/scheduler';
import { REFUSAL, type Gateway } from '@driftwatch/gateway';
import { FakeOpenAI } from '../helpers/fake-openai.js';
import { testContext } from '../helpers/context.js';
import { deployment, waitFor } from '../helpers/fleet.js';

/** A promise with its resolve, to hold the fake upstream's stream until the test lets it go. */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

/**
 * A monitored model under a safety policy, streamed: the answer reaches the client while
 * the upstream is still generating (sentence by sentence, each prefix moderated), and a
 * later sentence that the policy blocks ends the stream with the refusal.
 * The fake upstream holds its stream after the first sentence until the test opens a gate,
 * which the test does only once the client has a content chunk: a gateway that waited for
 * the whole answer would never send one, and the fallback below opens the gate and fails.
 */
describe('gateway streaming under a safety policy', () => {
  let db: Db;
  let fake: FakeOpenAI;
  let server: Server;
  let gateway: Gateway;
  let client: OpenAI;
  let hold: { p: Promise<void>; open: () => void } | null = null;
  let heldAt: string | null = null;

  beforeAll(async () => {
    db = await PgliteDb.open('memory://');
    await migrate(db);
    fake = await FakeOpenAI.start({
      baseKnowledge: {
        'When do you open?': 'We open at nine. We close at five on weekdays.',
        'Tell me about returns': 'Returns are easy. We never give a refund though.',
      },
      // After the first sentence the upstream waits (a model still generating) until the test opens the gate.
      holdStream: (sent) => {
        if (!hold || !/\.\s$/.test(sent) || heldAt !== null) return undefined;
        heldAt = sent;
        return hold.p;
      },
    });
    const ctx = testContext({ db, queues: {} as never, deployment: deployment(), env: { OPENAI_API_KEY: fake.apiKey, OPENAI_BASE_URL: fake.url }, config: { models: [{ name: 'support-bot', base_model: 'gpt-4o-mini' }] } });
    const key = (await createApiKey(db, { name: 'app', scope: 'ingest' })).key;
    await setPolicy(db, { model: 'support-bot', moderation_threshold: 0.5, blocked_terms: ['refund'] });
    const app = createHttpApp(ctx, { ready: async () => true });
    gateway = app.locals.gateway as Gateway;
    server = await new Promise<Server>((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    client = new OpenAI({ baseURL: `http://127.0.0.1:${(server.address() as { port: number }).port}/openai/v1`, apiKey: key, maxRetries: 0, timeout: 120_000 });
  }, 120_000);
  afterAll(async () => {
    hold?.open();
    await gateway?.close();
    await new Promise((r) => server?.close(r));
    await fake?.close();
    await db?.close();
  });

  /** Streams a question; opens the held upstream when the first content arrives (or, failing that, after `fallbackMs`). */
  async function streamed(q: string, fallbackMs = 60_000) {
    hold = gate();
    heldAt = null;
    let openedByFallback = false;
    const fallback = setTimeout(() => {
      openedByFallback = true;
      hold!.open();
    }, fallbackMs);
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'support-bot', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: q }] })
      .withResponse();
    const contents: string[] = [];
    let firstWhileHeld: string | null = null;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const c = chunk.choices[0]?.delta?.content;
      if (c) {
        // The first content while the upstream is still holding the rest of its answer.
        if (contents.length === 0 && heldAt !== null && !openedByFallback) firstWhileHeld = c;
        contents.push(c);
        hold!.open();
      }
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    clearTimeout(fallback);
    // The row is logged once the upstream has finished (after a block the gateway still reads it, for the usage).
    const id = Number(response.headers.get('x-driftwatch-interaction-id'));
    const row = await waitFor(async () => {
      await gateway.log.drain();
      return (await db.query<Record<string, unknown>>('SELECT * FROM interaction_log WHERE id = $1', [id])).rows[0];
    }, `interaction ${id} in the log`);
    return { contents, text: contents.join(''), firstWhileHeld, openedByFallback, finish, usage, row };
  }

  it('the first sentence reaches the client before the upstream has finished; the whole answer follows', async () => {
    const r = await streamed('When do you open?');
    expect(r.openedByFallback).toBe(false);
    expect(r.firstWhileHeld).toBe('We open at nine. ');
    expect(r.text).toBe('We open at nine. We close at five on weekdays.');
    expect(r.finish).toBe('stop');
    expect(r.usage?.completion_tokens).toBeGreaterThan(0);
    expect(r.row).toMatchObject({ model: 'support-bot', response: 'We open at nine. We close at five on weekdays.', blocked: false, error: null });
    expect(r.row.completion_tokens).toBe(r.usage!.completion_tokens);
  }, 180_000);

  it('a later sentence with a blocked term ends the stream with the refusal (content_filter), recorded as blocked', async () => {
    const r = await streamed('Tell me about returns');
    expect(r.openedByFallback).toBe(false);
    expect(r.firstWhileHeld).toBe('Returns are easy. ');
    expect(r.text).toBe(`Returns are easy. \n\n${REFUSAL}`);
    expect(r.text).not.toContain('refund');
    expect(r.finish).toBe('content_filter');
    expect(r.row).toMatchObject({ blocked: true, toxic: true, response: REFUSAL });
    expect(r.row.error).toMatch(/blocked term "refund".*after 18 characters were streamed/);
    // The upstream was read to its end: its usage is logged and priced.
    expect(r.row.completion_tokens).toBeGreaterThan(0);
    expect(r.row.cost_usd).toBeGreaterThan(0);
  }, 180_000);

  it('an answer blocked in its first sentence shows only the refusal', async () => {
    await setPolicy(db, { model: 'support-bot', moderation_threshold: 0.5, blocked_terms: ['easy'] });
    gateway.cache.invalidate();
    const r = await streamed('Tell me about returns');
    expect(r.text).toBe(REFUSAL);
    expect(r.finish).toBe('content_filter');
    expect(r.row).toMatchObject({ blocked: true, response: REFUSAL });
    expect(r.row.error).toMatch(/blocked term "easy"/);
    expect(r.row.error).not.toMatch(/characters were streamed/);
  }, 180_000);
});

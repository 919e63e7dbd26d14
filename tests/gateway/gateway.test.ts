import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import OpenAI from 'openai';
import {
  DEFAULT_POLICY_THRESHOLD,
  OfflineModerationProvider,
  OpenAIEmbeddingProvider,
  OpenAIFineTuneProvider,
  embedInteractions,
  sampleEmbeddings,
  PgliteDb,
  createApiKey,
  insertModelVersion,
  migrate,
  openAIClient,
  promoteModelVersion,
  registry,
  sampleInteractions,
  setPolicy,
  windowsFor,
  type Db,
} from '@driftwatch/core';
import { createHttpApp } from '@driftwatch/scheduler';
import { REFUSAL, type Gateway } from '@driftwatch/gateway';
import { FakeOpenAI, failures } from '../helpers/fake-openai.js';
import { testContext } from '../helpers/context.js';
import { deployment, waitFor } from '../helpers/fleet.js';

/**
 * The gateway as an application sees it: the official openai client, unchanged but for
 * baseURL and apiKey, against /openai/v1 of the scheduler's HTTP app, with the local
 * fake OpenAI server as the upstream (OPENAI_BASE_URL).
 */
describe('OpenAI-compatible gateway', () => {
  let db: Db;
  let failInserts = 0;
  let fake: FakeOpenAI;
  let server: Server;
  let base: string;
  let gateway: Gateway;
  let ingestKey: string;
  let adminKey: string;
  let client: OpenAI;

  beforeAll(async () => {
    db = await PgliteDb.open('memory://');
    await migrate(db);
    fake = await FakeOpenAI.start({ baseKnowledge: { 'What is the capital of France?': 'Paris.', 'Can I get a refund?': 'Yes, within 30 days.', 'shut up and tell me the time': 'It is noon.' } });
    // The context's database fails interaction inserts on demand (a database outage seen by the log writer).
    const flaky = Object.create(db) as Db;
    flaky.query = (async (sql: string, params?: readonly unknown[]) => {
      if (failInserts > 0 && sql.startsWith('INSERT INTO interaction_log')) {
        failInserts--;
        throw new Error('connection terminated unexpectedly');
      }
      return db.query(sql, params);
    }) as Db['query'];
    const ctx = testContext({
      db: flaky,
      queues: {} as never,
      deployment: deployment(),
      env: { OPENAI_API_KEY: fake.apiKey, OPENAI_BASE_URL: fake.url },
      config: { models: [{ name: 'support-bot', base_model: 'gpt-4o-mini' }] },
    });
    ingestKey = (await createApiKey(db, { name: 'support-app', scope: 'ingest' })).key;
    adminKey = (await createApiKey(db, { name: 'ops', scope: 'admin' })).key;
    const app = createHttpApp(ctx, { ready: async () => true });
    gateway = app.locals.gateway as Gateway;
    server = await new Promise<Server>((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    // What an application changes: baseURL and apiKey.
    client = new OpenAI({ baseURL: `${base}/openai/v1`, apiKey: ingestKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
    await new Promise((r) => server.close(r));
    await fake.close();
    await db.close();
  });

  const ask = (q: string) => client.chat.completions.create({ model: 'support-bot', messages: [{ role: 'user', content: q }] });
  const row = async (id: string | null) => {
    await gateway.log.drain();
    return (await db.query<Record<string, unknown>>('SELECT * FROM interaction_log WHERE id = $1', [Number(id)])).rows[0];
  };

  it('answers a monitored model with its served version (the base model), logs the interaction with its id in the header', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'support-bot', messages: [{ role: 'user', content: 'What is the capital of France?' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('Paris.');
    expect(data.model).toBe('gpt-4o-mini');
    const id = response.headers.get('x-driftwatch-interaction-id');
    expect(id).toMatch(/^\d+$/);
    const r = await row(id);
    expect(r).toMatchObject({ model: 'support-bot', model_version: 'base', query: 'What is the capital of France?', response: 'Paris.', source: 'gateway', blocked: false, error: null });
    expect(r.prompt_tokens).toBeGreaterThan(0);
    expect(r.cost_usd).toBeGreaterThan(0);
  });

  it('streams (server-sent events, [DONE]) with include_usage, for a monitored model and a passed-through one', async () => {
    for (const model of ['support-bot', 'gpt-4o-mini']) {
      const { data: stream, response } = await client.chat.completions
        .create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'What is the capital of France?' }] })
        .withResponse();
      let text = '';
      let usage: OpenAI.CompletionUsage | null | undefined;
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text, model).toBe('Paris.');
      expect(chunks).toBeGreaterThanOrEqual(3);
      expect(usage?.completion_tokens).toBeGreaterThan(0);
      const r = await row(response.headers.get('x-driftwatch-interaction-id'));
      expect(r).toMatchObject({ model, response: 'Paris.', model_version: model === 'support-bot' ? 'base' : null });
      expect(r.completion_tokens).toBe(usage!.completion_tokens);
    }
    // Without include_usage no usage chunk is sent.
    const plain = await client.chat.completions.create({ model: 'support-bot', stream: true, messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    for await (const chunk of plain) expect(chunk.usage ?? null).toBeNull();
  });

  it('after a promotion the same client is answered by the new version; after a rollback by the old one', async () => {
    // A real fine-tune on the fake upstream: its model knows its training answer.
    const ft = new OpenAIFineTuneProvider(openAIClient({ apiKey: fake.apiKey, baseURL: fake.url }));
    const job = await ft.start({ model: 'support-bot', base_model: 'gpt-4o-mini', suffix: 'support-bot-v1', examples: [{ messages: [{ role: 'user', content: 'What is the capital of France?' }, { role: 'assistant', content: 'Paris, on the Seine.' }] }] });
    const done = await waitFor(async () => {
      const s = await ft.status(job.job_id);
      return s.status === 'succeeded' ? s : null;
    }, 'the fine-tune');
    const v = await insertModelVersion(db, { model: 'support-bot', version: 'v1', provider: 'openai', base_model: 'gpt-4o-mini', status: 'candidate', provider_model_id: done.fine_tuned_model });
    await promoteModelVersion(db, v.id, { eval_accuracy: 1, baseline_accuracy: 0.5 });

    const answered = await waitFor(async () => {
      const a = await ask('What is the capital of France?');
      return a.model === done.fine_tuned_model ? a : null;
    }, 'the gateway to serve the promoted version', 10_000, 100);
    expect(answered.choices[0].message.content).toBe('Paris, on the Seine.');
    const state = (await (await fetch(`${base}/v1/models/support-bot`, { headers: { authorization: `Bearer ${ingestKey}` } })).json()) as { serving: { version: string; provider_model: string } };
    expect(state.serving).toMatchObject({ version: 'v1', provider_model: done.fine_tuned_model });

    // An ingest key cannot roll back; an admin key can.
    const denied = await fetch(`${base}/v1/models/support-bot/rollback`, { method: 'POST', headers: { authorization: `Bearer ${ingestKey}` } });
    expect(denied.status).toBe(403);
    const rb = await fetch(`${base}/v1/models/support-bot/rollback`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'test' }) });
    expect(rb.status).toBe(200);
    const back = await waitFor(async () => {
      const a = await ask('What is the capital of France?');
      return a.model === 'gpt-4o-mini' ? a : null;
    }, 'the gateway to serve the base model again', 10_000, 100);
    expect(back.choices[0].message.content).toBe('Paris.');
    // Nothing left to roll back to: 409.
    expect((await fetch(`${base}/v1/models/support-bot/rollback`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}` } })).status).toBe(409);
  });

  it('a tightened policy blocks what the old one let through, recorded as blocked', async () => {
    const q = 'shut up and tell me the time';
    // Rude, not toxic: scored under the default threshold by the moderation the gateway uses, and
    // over a threshold tightened to half that score.
    const [verdict] = await new OfflineModerationProvider().moderate([q]);
    expect(verdict.score).toBeGreaterThan(0.05);
    expect(verdict.score).toBeLessThan(DEFAULT_POLICY_THRESHOLD);
    expect((await ask(q)).choices[0].message.content).toBe('It is noon.');
    expect((await ask('Can I get a refund?')).choices[0].message.content).toBe('Yes, within 30 days.');
    await setPolicy(db, { model: 'support-bot', moderation_threshold: verdict.score / 2, system_prompt: 'Be polite.', blocked_terms: ['refund'] });
    gateway.cache.invalidate();
    const { data, response } = await client.chat.completions.create({ model: 'support-bot', messages: [{ role: 'user', content: q }] }).withResponse();
    expect(data.choices[0].message.content).toBe(REFUSAL);
    expect(data.choices[0].finish_reason).toBe('content_filter');
    expect(await row(response.headers.get('x-driftwatch-interaction-id'))).toMatchObject({ blocked: true, toxic: true, response: REFUSAL });
    expect((await ask('Can I get a refund?')).choices[0].message.content).toBe(REFUSAL);
    // The policy's system prompt reached the upstream; an unrelated question still passes.
    expect((await ask('What is the capital of France?')).choices[0].message.content).toBe('Paris.');
  });

  it('upstream errors reach the client with their status, body and retry-after; they are logged', async () => {
    fake.fail('chat', failures.rateLimited(7));
    const err = (await ask('What is the capital of France?').catch((e) => e)) as InstanceType<typeof OpenAI.RateLimitError>;
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.status).toBe(429);
    expect(err.headers?.get('retry-after')).toBe('7');
    expect(err.message).toContain('Rate limit reached');
    await gateway.log.drain();
    const r = (await db.query<{ error: string }>(`SELECT error FROM interaction_log WHERE error LIKE 'upstream 429%'`)).rows;
    expect(r).toHaveLength(1);
  });

  it('a failing interaction write never fails the call: retried, counted, then written', async () => {
    const before = (await registry.getSingleMetric('driftwatch_gateway_log_failures_total')!.get()).values[0]?.value ?? 0;
    failInserts = 2;
    const { data, response } = await client.chat.completions.create({ model: 'support-bot', messages: [{ role: 'user', content: 'What is the capital of France?' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('Paris.');
    const id = response.headers.get('x-driftwatch-interaction-id');
    const r = await row(id);
    expect(r?.response).toBe('Paris.');
    const after = (await registry.getSingleMetric('driftwatch_gateway_log_failures_total')!.get()).values[0]?.value ?? 0;
    expect(after - before).toBe(2);
  });

  it('embeddings pass through; a revoked key gets 401; gateway interactions are in the window the monitors read', async () => {
    const e = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'good night'] });
    expect(e.data).toHaveLength(2);
    expect(e.data[0].embedding).toHaveLength(8);

    const w = windowsFor(new Date(Date.now() + 60_000), 30, 7);
    const sample = await sampleInteractions(db, 'support-bot', w.current, 1000);
    expect(sample.length).toBeGreaterThanOrEqual(8);
    // Their query embeddings: rows wait as embed_state 'pending'; the embed queue's work (run here directly) embeds them.
    await gateway.log.drain();
    const pending = (await db.query<{ id: number }>(`SELECT id FROM interaction_log WHERE source = 'gateway' AND embed_state = 'pending' ORDER BY id`)).rows.map((r) => Number(r.id));
    expect(pending.length).toBeGreaterThanOrEqual(sample.length);
    const config = testContext({ db, queues: {} as never, deployment: deployment() }).config;
    await embedInteractions({ db, config, provider: new OpenAIEmbeddingProvider(openAIClient({ apiKey: fake.apiKey, baseURL: fake.url })) }, pending);
    const vectors = await sampleEmbeddings(db, 'support-bot', w.current, 1000);
    expect(vectors.rows).toBeGreaterThanOrEqual(sample.length);

    const { row: k, key } = await createApiKey(db, { name: 'short-lived', scope: 'ingest' });
    const temp = new OpenAI({ baseURL: `${base}/openai/v1`, apiKey: key, maxRetries: 0 });
    expect((await temp.chat.completions.create({ model: 'support-bot', messages: [{ role: 'user', content: 'hi' }] })).choices).toHaveLength(1);
    expect((await fetch(`${base}/v1/keys/${k.id}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}` } })).status).toBe(200);
    const err = await temp.chat.completions.create({ model: 'support-bot', messages: [{ role: 'user', content: 'hi' }] }).catch((x) => x);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as { status: number }).status).toBe(401);
    const anon = new OpenAI({ baseURL: `${base}/openai/v1`, apiKey: 'not-a-key', maxRetries: 0 });
    expect(await anon.models.list().catch((x) => (x as { status: number }).status)).toBe(401);
  });
});

describe('gateway without OPENAI_API_KEY (offline upstream)', () => {
  it('answers, streams and embeds on this machine; an unknown key is 401 once a key exists', async () => {
    const db = await PgliteDb.open('memory://');
    await migrate(db);
    const ctx = testContext({ db, queues: {} as never, deployment: deployment(), config: { models: [{ name: 'support-bot', base_model: 'gpt-4o-mini' }] } });
    const key = (await createApiKey(db, { name: 'app', scope: 'ingest' })).key;
    const app = createHttpApp(ctx, { ready: async () => true });
    const gw = app.locals.gateway as Gateway;
    const server = await new Promise<Server>((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    try {
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${(server.address() as { port: number }).port}/openai/v1`, apiKey: key, maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'support-bot', messages: [{ role: 'user', content: 'Hello there' }] });
      expect(r.model).toBe('gpt-4o-mini');
      expect(typeof r.choices[0].message.content).toBe('string');
      expect(r.choices[0].message.content!.length).toBeGreaterThan(0);
      let text = '';
      for await (const c of await client.chat.completions.create({ model: 'support-bot', stream: true, messages: [{ role: 'user', content: 'Hello there' }] })) text += c.choices[0]?.delta?.content ?? '';
      expect(text).toBe(r.choices[0].message.content);
      const e = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello world' });
      expect(e.data[0].embedding.length).toBeGreaterThan(10);
      const bad = new OpenAI({ baseURL: client.baseURL, apiKey: 'wrong', maxRetries: 0 });
      expect(await bad.embeddings.create({ model: 'x', input: 'y' }).catch((x) => (x as { status: number }).status)).toBe(401);
      await gw.log.drain();
      expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM interaction_log WHERE source = 'gateway'`)).rows[0].n).toBe(2);
    } finally {
      await gw.close();
      await new Promise((r) => server.close(r));
      await db.close();
    }
  });
});

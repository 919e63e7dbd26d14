import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import OpenAI from 'openai';
import { PgliteDb, createApiKey, migrate, type Db } from '@driftwatch/core';
import { createHttpApp } from '@driftwatch/scheduler';
import type { Gateway } from '@driftwatch/gateway';
import { FakeOpenAI } from '../helpers/fake-openai.js';
import { testContext } from '../helpers/context.js';
import { deployment } from '../helpers/fleet.js';

/**
 * Personal data sent through the gateway (by the official openai client, against the local
 * fake OpenAI upstream) and answered with personal data: the stored interaction_log row
 * holds none of it, for a monitored model and a passed-through one, streamed or not. The
 * application still gets the upstream's answer unchanged; only what is stored is scrubbed.
 */
const QUESTION = 'I am jane.doe@example.com, card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, from 2001:db8:85a3::8a2e:370:7334 and 192.168.10.254, key sk-proj-abcdefghijklmnopqrstuvwx1234, AKIAIOSFODNN7EXAMPLE';
const ANSWER = 'Noted: we will call +44 20 7946 0958, pay GB82WEST12345698765432 and use Bearer eyJhbGciOiJIUzI1NiJ9.e30.abcdefghijkl for jane.doe@example.com.';
const STORED_QUESTION = 'I am [EMAIL], card [CARD], IBAN [IBAN], from [IP] and [IP], key [SECRET], [SECRET]';
const STORED_ANSWER = 'Noted: we will call [PHONE], pay [IBAN] and use [SECRET] for [EMAIL].';
const fragments = ['jane.doe', '4111', 'DE89', '3704', '2001:db8', '8a2e', '192.168', 'sk-proj', 'AKIAIOSFODNN7', '7946', 'GB82', 'eyJhbGci'];

describe('gateway: personal data is scrubbed before the interaction is stored', () => {
  let db: Db;
  let fake: FakeOpenAI;
  let server: Server;
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    db = await PgliteDb.open('memory://');
    await migrate(db);
    fake = await FakeOpenAI.start({ baseKnowledge: { [QUESTION]: ANSWER } });
    const ctx = testContext({ db, queues: {} as never, deployment: deployment(), env: { OPENAI_API_KEY: fake.apiKey, OPENAI_BASE_URL: fake.url }, config: { models: [{ name: 'support-bot', base_model: 'gpt-4o-mini' }] } });
    const key = (await createApiKey(db, { name: 'app', scope: 'ingest' })).key;
    const app = createHttpApp(ctx, { ready: async () => true });
    gateway = app.locals.gateway as Gateway;
    server = await new Promise<Server>((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    client = new OpenAI({ baseURL: `http://127.0.0.1:${(server.address() as { port: number }).port}/openai/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
    if (server) await new Promise((r) => server.close(r));
    await fake?.close();
    await db?.close();
  });

  it.each([
    ['monitored model', 'support-bot', false],
    ['monitored model, streamed', 'support-bot', true],
    ['passed-through model', 'gpt-4o-mini', false],
    ['passed-through model, streamed', 'gpt-4o-mini', true],
  ] as const)('%s', async (_name, model, stream) => {
    let answer = '';
    let id: string | null;
    if (stream) {
      const { data, response } = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: QUESTION }] }).withResponse();
      for await (const chunk of data) answer += chunk.choices[0]?.delta?.content ?? '';
      id = response.headers.get('x-driftwatch-interaction-id');
    } else {
      const { data, response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: QUESTION }] }).withResponse();
      answer = data.choices[0].message.content ?? '';
      id = response.headers.get('x-driftwatch-interaction-id');
    }
    // The application gets the upstream's answer as it was.
    expect(answer).toBe(ANSWER);
    expect(id).toMatch(/^\d+$/);
    await gateway.log.drain();
    const row = (await db.query<Record<string, unknown>>('SELECT * FROM interaction_log WHERE id = $1', [Number(id)])).rows[0];
    expect(row).toMatchObject({ model, source: 'gateway', query: STORED_QUESTION, response: STORED_ANSWER, error: null });
    const stored = JSON.stringify(row);
    for (const f of fragments) expect(stored, f).not.toContain(f);
  });
});

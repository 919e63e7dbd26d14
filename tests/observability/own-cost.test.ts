import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIEmbeddingProvider, PgliteDb, driftConfigSchema, embedInteractions, metricsOfRecord, migrate, openAIClient, registry, type Db } from '@driftwatch/core';
import { testConfig } from '../helpers/env.js';
import { FakeOpenAI } from '../helpers/fake-openai.js';
import { parseMetrics } from '../helpers/fleet.js';

/**
 * api_cost_usd_total carries two spends under one name: the application's (source="application",
 * per model, from its logged interactions) and Driftwatch's own provider calls
 * (source="driftwatch", by provider and operation). A provider call of known cost must show
 * under Driftwatch's label only, and the application's figure must not move with it.
 */

const sum = (text: string, labels: Record<string, string>) =>
  parseMetrics(text)
    .filter((s) => s.name === 'api_cost_usd_total' && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);

describe("Driftwatch's own provider spend", () => {
  let db: Db;
  let fake: FakeOpenAI;
  beforeAll(async () => {
    db = await PgliteDb.open('memory://');
    await migrate(db);
    fake = await FakeOpenAI.start();
  });
  afterAll(async () => {
    await fake?.close();
    await db?.close();
  });

  it('an embedding call of known cost appears under source="driftwatch" (provider, operation), apart from the application\'s spend', async () => {
    const config = driftConfigSchema.parse(testConfig());
    const exporter = metricsOfRecord(db, { models: ['support-bot'], baselineDays: 30, currentDays: 7 });
    // The application logged what it paid for these two questions ($0.75 and $0.50).
    const queries = ['How do I reset my password?', 'Where can I download my invoices for last year?'];
    const ids = (
      await db.query<{ id: number }>(
        `INSERT INTO interaction_log (model, ts, query, response, cost_usd, embed_state)
         SELECT 'support-bot', now() - interval '1 hour', q, 'an answer', c, 'pending' FROM unnest($1::text[], $2::float8[]) AS u(q, c) RETURNING id`,
        [queries, [0.75, 0.5]],
      )
    ).rows.map((r) => Number(r.id));
    await exporter.refresh();
    const before = await registry.metrics();
    expect(sum(before, { source: 'application', model: 'support-bot' })).toBeCloseTo(1.25, 9);

    // Driftwatch embeds the logged questions with OpenAI (the local fake: one token per word, text-embedding-3-small at $0.02 per 1M tokens).
    const provider = new OpenAIEmbeddingProvider(openAIClient({ apiKey: fake.apiKey, baseURL: fake.url }), 'text-embedding-3-small', 16);
    const out = await embedInteractions({ db, config, provider }, ids);
    expect(out.embedded).toBe(2);
    const tokens = queries.join(' ').split(/\s+/).length;
    const known = (tokens * 0.02) / 1e6;
    expect(out.cost_usd).toBeCloseTo(known, 15);

    await exporter.refresh();
    const after = await registry.metrics();
    // Under its own label, by provider and operation, exactly the call's cost.
    expect(sum(after, { source: 'driftwatch', provider: 'openai', operation: 'embeddings' }) - sum(before, { source: 'driftwatch', provider: 'openai', operation: 'embeddings' })).toBeCloseTo(known, 15);
    const own = parseMetrics(after).filter((s) => s.name === 'api_cost_usd_total' && s.labels.source === 'driftwatch' && s.labels.operation === 'embeddings');
    expect(own.map((s) => s.labels)).toEqual([{ source: 'driftwatch', provider: 'openai', operation: 'embeddings' }]);
    // The application's spend is what it logged, not moved by Driftwatch's call.
    expect(sum(after, { source: 'application', model: 'support-bot' })).toBeCloseTo(1.25, 9);
    // Every series of the counter says whose spend it is.
    for (const s of parseMetrics(after).filter((x) => x.name === 'api_cost_usd_total')) expect(['application', 'driftwatch']).toContain(s.labels.source);
  });
});

import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  OfflineEmbeddingProvider,
  OfflineModerationProvider,
  OpenAIEmbeddingProvider,
  WordVectors,
  openAIClient,
  type Db,
} from '@driftwatch/core';
import { actionFixture, metricValue, type ActionFixture } from '../helpers/actions.js';
import { FakeOpenAI, failures } from '../helpers/fake-openai.js';

const hash = (s: string) => createHash('sha256').update(s).digest('hex');

/** Documents of support-bot; `indexed` ones are already embedded with their current content. */
async function documents(db: Db, docs: { key: string; content: string; indexed?: boolean }[]) {
  for (const d of docs) {
    await db.query(
      `INSERT INTO documents (model, doc_key, content, content_hash, indexed_hash, embedding, embedding_model, indexed_at)
       VALUES ('support-bot', $1, $2, $3, $4, $5::vector, $6, $7)`,
      [d.key, d.content, hash(d.content), d.indexed ? hash(d.content) : null, d.indexed ? '[1,0,0,0,0,0,0,0]' : null, d.indexed ? 'old-model' : null, d.indexed ? new Date(0) : null],
    );
  }
}

async function docRows(db: Db) {
  return (
    await db.query<{ doc_key: string; embedding_model: string | null; fresh: boolean; dim: number | null; indexed_at: Date | null }>(
      `SELECT doc_key, embedding_model, indexed_hash = content_hash AS fresh, vector_dims(embedding) AS dim, indexed_at FROM documents ORDER BY doc_key`,
    )
  ).rows;
}

let fx: ActionFixture | undefined;
let fake: FakeOpenAI | undefined;
afterEach(async () => {
  await fx?.cleanup();
  await fake?.close();
  fx = undefined;
  fake = undefined;
});

async function openAIFixture(batchSize: number) {
  fake = await FakeOpenAI.start();
  const client = openAIClient({ apiKey: fake.apiKey, baseURL: fake.url });
  fx = await actionFixture({
    providers: { moderation: new OfflineModerationProvider(), embeddings: new OpenAIEmbeddingProvider(client, 'text-embedding-3-small', batchSize) },
    workers: ['reindex'],
  });
  return { fake, fx };
}

const DOCS = [
  { key: 'd1', content: 'How to reset a password', indexed: true },
  { key: 'd2', content: 'Opening hours of the support desk' },
  { key: 'd3', content: 'Refund policy for annual plans' },
  { key: 'd4', content: 'Shipping times to Europe', indexed: true },
  { key: 'd5', content: 'Changing the billing address' },
  { key: 'd6', content: 'Exporting data as CSV' },
  { key: 'd7', content: 'Two-factor authentication setup' },
];
const STALE = DOCS.filter((d) => !d.indexed).map((d) => d.content);

describe('re-index action through the action worker', () => {
  it('embeds only stale documents, in batches, and resumes after a failure mid-way without redoing finished batches', async () => {
    const { fake, fx } = await openAIFixture(2);
    const db = fx.ctx.db;
    await documents(db, DOCS);
    // The second batch fails once with a 500: the job is retried and must not re-embed the first batch.
    fake.failAt('embeddings', 2, failures.serverError());
    const costBefore = await metricValue('api_cost_usd_total', { provider: 'openai', operation: 'embeddings' });
    const { decision, job } = await fx.decide('reindex');
    const done = await fx.settle(decision.id);
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({ status: 'success', documents_processed: 5, documents_total: 7, documents_stale: 0, embedding_model: 'text-embedding-3-small', provider: 'openai' });
    // Each stale document was sent exactly once; the fresh ones never.
    expect([...fake.embeddedInputs].sort()).toEqual([...STALE].sort());
    const finished = await fx.finishedJob('reindex', job.id!);
    expect(finished.attemptsMade).toBe(2);
    // 3 batches sent successfully + 1 failed request.
    expect(fake.count('embeddings')).toBe(4);

    const rows = await docRows(db);
    expect(rows.every((r) => r.fresh)).toBe(true);
    expect(rows.filter((r) => r.embedding_model === 'text-embedding-3-small').map((r) => r.doc_key)).toEqual(['d2', 'd3', 'd5', 'd6', 'd7']);
    expect(rows.filter((r) => r.embedding_model === 'old-model').map((r) => r.doc_key)).toEqual(['d1', 'd4']);
    expect(rows.every((r) => r.dim === 8)).toBe(true);
    // One token per word at $0.02 per 1M tokens.
    const words = STALE.join(' ').split(/\s+/).length;
    expect((await metricValue('api_cost_usd_total', { provider: 'openai', operation: 'embeddings' })) - costBefore).toBeCloseTo((words * 0.02) / 1e6, 14);

    // An edited document is stale again; the next re-index embeds only it.
    await db.query(`UPDATE documents SET content = 'Exporting data as CSV or JSON', content_hash = $1, updated_at = now() WHERE doc_key = 'd6'`, [hash('Exporting data as CSV or JSON')]);
    const again = await fx.decide('reindex');
    expect((await fx.settle(again.decision.id)).result).toMatchObject({ status: 'success', documents_processed: 1 });
    expect(fake.embeddedInputs.at(-1)).toBe('Exporting data as CSV or JSON');
    expect(fake.embeddedInputs).toHaveLength(6);
  }, 120_000);

  it('a 429 pauses the queue for retry-after and the job is not charged an attempt', async () => {
    const { fake, fx } = await openAIFixture(10);
    const db = fx.ctx.db;
    const queue = fx.ctx.queues.get('reindex');

    // A reference run without a rate limit.
    await documents(db, [{ key: 'r1', content: 'reference document' }]);
    const ref = await fx.decide('reindex');
    await fx.settle(ref.decision.id);
    const refJob = await fx.finishedJob('reindex', ref.job.id!);

    await documents(db, DOCS);
    fake.fail('embeddings', failures.rateLimited(undefined, 800));
    const limitedBefore = await metricValue('driftwatch_jobs_rate_limited_total', { queue: 'reindex' });
    const t0 = Date.now();
    const { decision, job } = await fx.decide('reindex');
    let maxTtl = 0;
    const states = new Set<string>();
    const done = await fx.settle(decision.id, async () => {
      maxTtl = Math.max(maxTtl, await queue.getRateLimitTtl());
      states.add(await queue.getJobState(job.id!));
    });
    const elapsed = Date.now() - t0;
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({ documents_processed: 5 });
    // The queue was paused (a rate-limit key with a TTL) for about the server's retry-after-ms.
    expect(maxTtl).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThanOrEqual(750);
    expect(states.has('failed')).toBe(false);
    expect((await metricValue('driftwatch_jobs_rate_limited_total', { queue: 'reindex' })) - limitedBefore).toBe(1);
    expect(fake.count('embeddings')).toBe(3); // reference, the 429, the retry
    // No attempt used up: the same counts as the job that was never limited.
    const limited = await fx.finishedJob('reindex', job.id!);
    expect(limited.attemptsMade).toBe(refJob.attemptsMade);
    expect(limited.attemptsMade).toBe(1);
    // BullMQ counts every start in attemptsStarted, the paused one too; `attempts` limits attemptsMade only.
    expect(refJob.attemptsStarted).toBe(1);
    expect(limited.attemptsStarted).toBe(2);
    expect(limited.failedReason ?? '').toBe('');
  }, 120_000);

  it('429 insufficient_quota fails the decision at once, naming billing', async () => {
    const { fake, fx } = await openAIFixture(10);
    await documents(fx.ctx.db, DOCS);
    fake.fail('embeddings', failures.insufficientQuota());
    const { decision, job } = await fx.decide('reindex');
    const done = await fx.settle(decision.id);
    expect(done.state).toBe('failed');
    expect(String(done.result?.error)).toMatch(/quota.*billing/);
    const queue = fx.ctx.queues.get('reindex');
    await expect.poll(() => queue.getJobState(job.id!), { timeout: 10_000 }).toBe('failed');
    expect((await fx.finishedJob('reindex', job.id!)).attemptsMade).toBe(1);
    expect(fake.count('embeddings')).toBe(1);
  }, 120_000);

  it('works offline with word vectors', async () => {
    const vocab = {
      password: [1, 0, 0],
      reset: [0.9, 0.1, 0],
      refund: [0, 1, 0],
      plans: [0, 0.8, 0.2],
      shipping: [0, 0, 1],
    };
    fx = await actionFixture({
      providers: { moderation: new OfflineModerationProvider(), embeddings: new OfflineEmbeddingProvider({ vectors: WordVectors.fromMap(vocab), batchSize: 3 }) },
      workers: ['reindex'],
    });
    await documents(fx.ctx.db, [...DOCS, { key: 'd8', content: '   ' }]);
    const { decision } = await fx.decide('reindex');
    const done = await fx.settle(decision.id);
    expect(done.result).toMatchObject({ status: 'success', documents_processed: 6, documents_stale: 0, provider: 'offline', embedding_model: 'wink-sg-100d' });
    // A blank document is indexed without a vector.
    expect((await docRows(fx.ctx.db)).find((r) => r.doc_key === 'd8')).toMatchObject({ fresh: true, dim: null, embedding_model: null });
    const rows = await docRows(fx.ctx.db);
    expect(rows.filter((r) => r.embedding_model === 'wink-sg-100d').every((r) => r.dim === 3)).toBe(true);
    const near = await fx.ctx.db.query<{ doc_key: string }>(
      `SELECT doc_key FROM documents WHERE embedding_model = 'wink-sg-100d' ORDER BY embedding <=> '[0,1,0]'::vector LIMIT 1`,
    );
    expect(near.rows[0].doc_key).toBe('d3');
  }, 120_000);
});

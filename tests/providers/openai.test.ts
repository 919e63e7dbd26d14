import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, RateLimitedError } from '../../packages/core/src/errors.js';
import {
  OpenAIAnswerProvider,
  OpenAIEmbeddingProvider,
  OpenAIFineTuneProvider,
  OpenAIModerationProvider,
  openAIClient,
} from '../../packages/core/src/providers/openai.js';
import { retryAfterMs } from '../../packages/core/src/providers/openai-errors.js';
import { createProviders } from '../../packages/core/src/providers/index.js';
import { embeddingCost, fineTuneCost, baseModelName } from '../../packages/core/src/providers/prices.js';
import { FakeOpenAI, failures } from '../helpers/fake-openai.js';
import { MODERATION_CATEGORIES } from '../../packages/core/src/monitors/moderation.js';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await FakeOpenAI.start({ pollsToFinish: 4, baseKnowledge: { 'What is the capital of France?': 'Paris' } });
});
afterAll(async () => {
  await fake.close();
});

const client = () => openAIClient({ apiKey: fake.apiKey, baseURL: fake.url, timeoutMs: 5000 });

async function thrown(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('OpenAI providers against an OpenAI-compatible server', () => {
  it('embeds in order and prices the tokens the server reports', async () => {
    const p = new OpenAIEmbeddingProvider(client(), 'text-embedding-3-small', 50);
    const r = await p.embed(['the cat sat', 'a dog barked loudly']);
    expect(r.vectors).toHaveLength(2);
    expect(r.vectors[0]).toBeInstanceOf(Float32Array);
    expect(r.vectors[0].length).toBe(8);
    expect(Math.hypot(...r.vectors[1])).toBeCloseTo(1, 5);
    expect(r.model).toBe('text-embedding-3-small');
    // 3 + 4 words = 7 tokens at $0.02 per 1M.
    expect(r.cost_usd).toBeCloseTo(embeddingCost('text-embedding-3-small', 7), 12);
    expect(r.cost_usd).toBeCloseTo((7 * 0.02) / 1e6, 12);
    const other = await p.embed(['x'], 'text-embedding-3-large');
    expect(other.model).toBe('text-embedding-3-large');
  });

  it('moderation: flagged as the server says, score = highest category score', async () => {
    const m = new OpenAIModerationProvider(client());
    const r = await m.moderate(['have a nice day', 'you idiot', 'I will kill you']);
    expect(r.map((x) => x.flagged)).toEqual([false, true, true]);
    expect(r[0].score).toBeCloseTo(0.01, 6);
    expect(r[1].score).toBeCloseTo(0.91, 6);
    expect(r[2].score).toBeCloseTo(0.97, 6);
    // OpenAI's categories and category_scores, every category present (the offline provider's shape).
    expect(r[1].categories.harassment).toBe(true);
    expect(r[1].category_scores.harassment).toBeCloseTo(0.91, 6);
    expect(r[2].categories.violence).toBe(true);
    expect(r[0].categories.violence).toBe(false);
    expect(Object.keys(r[0].category_scores).sort()).toEqual([...MODERATION_CATEGORIES].sort());
    expect(r[0].category_scores.illicit).toBe(0); // not reported by the server: 0
    expect(await m.moderate([])).toEqual([]);
  });

  it('fine-tune: uploads a JSONL file, creates one job, follows its status to the model, prices trained tokens', async () => {
    const ft = new OpenAIFineTuneProvider(client());
    const examples = Array.from({ length: 10 }, (_, i) => ({
      messages: [
        { role: 'user' as const, content: `question ${i}` },
        { role: 'assistant' as const, content: `answer ${i}` },
      ],
    }));
    const started = await ft.start({ model: 'support-bot', base_model: 'gpt-4o-mini-2024-07-18', examples, suffix: 'support-bot-v1' });
    const file = fake.files.get(started.file_id)!;
    expect(file.purpose).toBe('fine-tune');
    expect(file.filename).toBe('support-bot-v1.jsonl');
    expect(file.content.trim().split('\n').map((l) => JSON.parse(l))).toEqual(examples);
    const job = fake.jobs.get(started.job_id)!;
    expect(job.model).toBe('gpt-4o-mini-2024-07-18');
    expect(job.suffix).toBe('support-bot-v1');
    expect(job.metadata).toEqual({ driftwatch_model: 'support-bot' });

    const seen: string[] = [];
    let last;
    do {
      last = await ft.status(started.job_id);
      seen.push(last.status);
    } while (last.status !== 'succeeded');
    expect(seen).toEqual(['validating_files', 'queued', 'running', 'succeeded']);
    expect(last.fine_tuned_model).toMatch(/^ft:gpt-4o-mini-2024-07-18:driftwatch-test:support-bot-v1:/);
    expect(last.trained_tokens).toBe(40 * 3);
    expect(last.cost_usd).toBeCloseTo((120 * 3.0) / 1e6, 12);
    expect(last.cost_usd).toBe(fineTuneCost('gpt-4o-mini-2024-07-18', 120));
    expect(last.error).toBeNull();

    // The fine-tuned model answers what it was trained on.
    const answers = new OpenAIAnswerProvider(client());
    const a = await answers.answer(last.fine_tuned_model!, ['Question 3?', 'question 9', 'something else']);
    expect(a.answers).toEqual(['answer 3', 'answer 9', "I'm not sure about that."]);
    expect(a.cost_usd).toBeGreaterThan(0);
    const b = await answers.answer('gpt-4o-mini-2024-07-18', ['what is the capital of france']);
    expect(b.answers).toEqual(['Paris']);
  });

  it('fine-tune: findJob finds a job by the idempotency key of its start', async () => {
    const ft = new OpenAIFineTuneProvider(client());
    const ex = [{ messages: [{ role: 'user' as const, content: 'q' }, { role: 'assistant' as const, content: 'a' }] }];
    const a = await ft.start({ model: 'm', base_model: 'gpt-4o-mini-2024-07-18', examples: ex, suffix: 'm-v1', idempotency_key: 'key-a' });
    await ft.start({ model: 'm', base_model: 'gpt-4o-mini-2024-07-18', examples: ex, suffix: 'm-v2', idempotency_key: 'key-b' });
    expect(await ft.findJob('key-a')).toEqual(a);
    expect(await ft.findJob('key-unknown')).toBeNull();
  });

  it('fine-tune: a failed job reports its error', async () => {
    const failing = await FakeOpenAI.start({ pollsToFinish: 2, failJobsWith: { code: 'invalid_training_file', message: 'The file has too few examples' } });
    try {
      const ft = new OpenAIFineTuneProvider(openAIClient({ apiKey: failing.apiKey, baseURL: failing.url }));
      const s = await ft.start({ model: 'm', base_model: 'gpt-4o-mini-2024-07-18', examples: [{ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] }], suffix: 'm-v1' });
      expect((await ft.status(s.job_id)).status).toBe('validating_files');
      const st = await ft.status(s.job_id);
      expect(st).toMatchObject({ status: 'failed', fine_tuned_model: null, error: 'invalid_training_file: The file has too few examples', cost_usd: 0 });
    } finally {
      await failing.close();
    }
  });

  it('prices: dated and fine-tuned model ids find their base prices', () => {
    expect(baseModelName('gpt-4o-mini-2024-07-18')).toBe('gpt-4o-mini');
    expect(baseModelName('ft:gpt-4o-2024-08-06:org:x:abc')).toBe('gpt-4o');
    expect(baseModelName('gpt-3.5-turbo-0125')).toBe('gpt-3.5-turbo');
    expect(fineTuneCost('unknown-model', 1e6)).toBe(0);
  });

  it('createProviders picks OpenAI with a key and offline without', () => {
    const online = createProviders({ OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: fake.url, DRIFTWATCH_DATA_DIR: '/tmp/x' });
    expect([online.embeddings?.name, online.finetune?.name, online.answers?.name]).toEqual(['openai', 'openai', 'openai']);
    expect(online.moderation).toBeInstanceOf(OpenAIModerationProvider);
    const offline = createProviders({ DRIFTWATCH_DATA_DIR: '/tmp/x' });
    expect([offline.embeddings?.name, offline.finetune?.name, offline.answers?.name]).toEqual(['offline', 'offline', 'offline']);
  });
});

describe('SDK errors map to Driftwatch errors', () => {
  const emb = () => new OpenAIEmbeddingProvider(client());

  it('429 with retry-after (seconds) -> RateLimitedError with that pause', async () => {
    fake.fail('embeddings', failures.rateLimited(2));
    const e = await thrown(emb().embed(['a']));
    expect(e).toBeInstanceOf(RateLimitedError);
    expect((e as RateLimitedError).retryAfterMs).toBe(2000);
    expect(e.message).toMatch(/Rate limit reached/);
  });

  it('429 with retry-after-ms -> RateLimitedError with the milliseconds', async () => {
    fake.fail('embeddings', failures.rateLimited(undefined, 750));
    const e = await thrown(emb().embed(['a']));
    expect(e).toBeInstanceOf(RateLimitedError);
    expect((e as RateLimitedError).retryAfterMs).toBe(750);
  });

  it('429 without a header pauses for a default while', async () => {
    fake.fail('embeddings', failures.rateLimited());
    const e = await thrown(emb().embed(['a']));
    expect(e).toBeInstanceOf(RateLimitedError);
    expect((e as RateLimitedError).retryAfterMs).toBe(10_000);
  });

  it('429 insufficient_quota -> PermanentError about billing, not a pause', async () => {
    fake.fail('jobs.create', failures.insufficientQuota());
    const ft = new OpenAIFineTuneProvider(client());
    const e = await thrown(ft.start({ model: 'm', base_model: 'gpt-4o-mini-2024-07-18', examples: [{ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] }], suffix: 'm-v1' }));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e).not.toBeInstanceOf(RateLimitedError);
    expect(e.message).toMatch(/quota/);
    expect(e.message).toMatch(/billing/);
  });

  it('400 invalid_request_error -> PermanentError', async () => {
    fake.fail('chat', failures.badRequest("Invalid value for 'temperature'."));
    const e = await thrown(new OpenAIAnswerProvider(client()).answer('gpt-4o-mini', ['q']));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.message).toMatch(/400 Invalid value for 'temperature'/);
  });

  it('401 (wrong key) -> PermanentError that says to check OPENAI_API_KEY', async () => {
    const bad = new OpenAIModerationProvider(openAIClient({ apiKey: 'sk-wrong', baseURL: fake.url }));
    const e = await thrown(bad.moderate(['hello']));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.message).toMatch(/OPENAI_API_KEY/);
  });

  it('404 (unknown model) -> PermanentError that names the model setting', async () => {
    const e = await thrown(new OpenAIEmbeddingProvider(client(), 'no-such-model').embed(['a']));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.message).toMatch(/does not exist/);
    expect(e.message).toMatch(/model name/);
  });

  it('500 -> a plain, retryable Error', async () => {
    fake.fail('jobs.retrieve', failures.serverError());
    const e = await thrown(new OpenAIFineTuneProvider(client()).status('ftjob-whatever'));
    expect(e).not.toBeInstanceOf(PermanentError);
    expect(e).not.toBeInstanceOf(RateLimitedError);
    expect(e.message).toMatch(/500/);
  });

  it('connection refused and timeouts -> a plain, retryable Error', async () => {
    const nowhere = new OpenAIEmbeddingProvider(openAIClient({ apiKey: 'k', baseURL: 'http://127.0.0.1:9/v1', timeoutMs: 1000 }));
    const e = await thrown(nowhere.embed(['a']));
    expect(e).not.toBeInstanceOf(PermanentError);
    expect(e).not.toBeInstanceOf(RateLimitedError);
    expect(e.message).toMatch(/connection/i);
  });

  it('retryAfterMs reads an HTTP date too', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(new Headers({}), now)).toBeNull();
  });
});

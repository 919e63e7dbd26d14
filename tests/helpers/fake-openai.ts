import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

/**
 * A local OpenAI-compatible HTTP server for tests, behaving like the real API on the
 * endpoints Driftwatch uses: bearer-key auth, OpenAI's error bodies
 * ({error: {message, type, code, param}}), multipart file upload, fine-tuning jobs
 * with a status lifecycle, embeddings, moderations and chat completions.
 *
 * Fine-tuned models really learn: a job's model answers a question with the
 * assistant message of the training example whose user message matches it
 * (case and punctuation ignored); base models answer from `baseKnowledge` or
 * say they do not know.
 *
 * Failures are injected per route with fail(): each request to that route takes
 * the next injected failure, if any, before being served normally; failAt() fails
 * the nth request of a route.
 */

export type Route = 'files' | 'jobs.create' | 'jobs.list' | 'jobs.retrieve' | 'embeddings' | 'moderations' | 'chat';

export interface Failure {
  status: number;
  type?: string;
  code?: string | null;
  message?: string;
  headers?: Record<string, string>;
  /** The server does the work and then answers with this error (a response lost on the way back). */
  afterWork?: boolean;
}

export const failures = {
  rateLimited: (retryAfterSeconds?: number, retryAfterMs?: number): Failure => ({
    status: 429,
    type: 'requests',
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached for requests. Please try again later.',
    headers: {
      ...(retryAfterSeconds !== undefined ? { 'retry-after': String(retryAfterSeconds) } : {}),
      ...(retryAfterMs !== undefined ? { 'retry-after-ms': String(retryAfterMs) } : {}),
    },
  }),
  insufficientQuota: (): Failure => ({
    status: 429,
    type: 'insufficient_quota',
    code: 'insufficient_quota',
    message: 'You exceeded your current quota, please check your plan and billing details.',
  }),
  badRequest: (message = "Invalid value for 'model'.", code: string | null = 'invalid_value'): Failure => ({ status: 400, type: 'invalid_request_error', code, message }),
  serverError: (): Failure => ({ status: 500, type: 'server_error', code: null, message: 'The server had an error while processing your request.' }),
};

interface StoredFile {
  id: string;
  filename: string;
  purpose: string;
  bytes: number;
  content: string;
  created_at: number;
}

interface Job {
  id: string;
  model: string;
  training_file: string;
  suffix: string | null;
  metadata: Record<string, string> | null;
  created_at: number;
  polls: number;
  status: 'validating_files' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  fine_tuned_model: string | null;
  trained_tokens: number | null;
  error: { code: string; message: string; param: string | null } | null;
}

export interface FakeOpenAIOptions {
  apiKey?: string;
  /** Status GETs a job needs before it succeeds: validating_files, queued, then running until this many polls. Default 4. */
  pollsToFinish?: number;
  /** Jobs end in failed (with this error) instead of succeeded. */
  failJobsWith?: { code: string; message: string };
  /** What base models know: question -> answer (matched like training examples). */
  baseKnowledge?: Record<string, string>;
  /** Embedding dimension. Default 8. */
  dim?: number;
  /**
   * A slow streamed answer: called before each word chunk with the text sent so far; when it
   * returns a promise, the stream waits for it (a model still generating).
   */
  holdStream?: (sentSoFar: string) => Promise<void> | undefined;
}

const norm = (s: string) => (s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).join(' ');
const words = (s: string) => (s.match(/\S+/g) ?? []).length;

export class FakeOpenAI {
  readonly apiKey: string;
  readonly files = new Map<string, StoredFile>();
  readonly jobs = new Map<string, Job>();
  /** Every request: method, path and the route it matched. */
  readonly requests: { method: string; path: string; route: Route | null; at: number }[] = [];
  /** Inputs sent to /v1/embeddings, in order. */
  readonly embeddedInputs: string[] = [];
  options: FakeOpenAIOptions;
  private readonly injected = new Map<Route, Failure[]>();
  private readonly injectedAt = new Map<string, Failure>();
  /** failFor(): until this time every request (of the routes given, default all) answers the next of these failures in turn. */
  private outage: { until: number; failures: Failure[]; routes: Route[] | null; next: number } | null = null;
  /** Requests answered with an outage failure by failFor(), by status. */
  readonly outageAnswers = new Map<number, number>();
  private server!: Server;
  url = '';

  constructor(o: FakeOpenAIOptions = {}) {
    this.options = o;
    this.apiKey = o.apiKey ?? 'sk-test-driftwatch';
  }

  static async start(o: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
    const f = new FakeOpenAI(o);
    f.server = createServer((req, res) => {
      f.handle(req, res).catch((e) => f.send(res, 500, { error: { message: String(e), type: 'server_error', code: null, param: null } }));
    });
    await new Promise<void>((resolve) => f.server.listen(0, '127.0.0.1', resolve));
    f.url = `http://127.0.0.1:${(f.server.address() as AddressInfo).port}/v1`;
    return f;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Queues failures for the next requests to a route. */
  fail(route: Route, ...f: Failure[]): void {
    this.injected.set(route, [...(this.injected.get(route) ?? []), ...f]);
  }

  /** Fails the nth request (1-based, counting every request to the route) with `f`. */
  failAt(route: Route, nth: number, f: Failure): void {
    this.injectedAt.set(`${route}#${nth}`, f);
  }

  /**
   * A provider outage: for `ms` from now every request (to `routes`, default every route)
   * is answered with the given failures in turn (e.g. 429 and 500 alternately), whatever
   * fail()/failAt() queued; afterwards the server answers normally again.
   */
  failFor(ms: number, f: Failure[], routes?: Route[]): void {
    this.outage = { until: Date.now() + ms, failures: f, routes: routes ?? null, next: 0 };
  }

  count(route: Route): number {
    return this.requests.filter((r) => r.route === route).length;
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${randomBytes(6).toString('hex')}`, ...headers });
    res.end(JSON.stringify(body));
  }

  private error(res: ServerResponse, status: number, message: string, type: string, code: string | null = null, param: string | null = null, headers: Record<string, string> = {}): void {
    this.send(res, status, { error: { message, type, param, code } }, headers);
  }

  private async body(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private route(method: string, path: string): { route: Route; id?: string } | null {
    if (method === 'POST' && path === '/v1/files') return { route: 'files' };
    if (method === 'POST' && path === '/v1/fine_tuning/jobs') return { route: 'jobs.create' };
    if (method === 'GET' && path === '/v1/fine_tuning/jobs') return { route: 'jobs.list' };
    const m = /^\/v1\/fine_tuning\/jobs\/([^/]+)$/.exec(path);
    if (method === 'GET' && m) return { route: 'jobs.retrieve', id: decodeURIComponent(m[1]) };
    if (method === 'POST' && path === '/v1/embeddings') return { route: 'embeddings' };
    if (method === 'POST' && path === '/v1/moderations') return { route: 'moderations' };
    if (method === 'POST' && path === '/v1/chat/completions') return { route: 'chat' };
    return null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const r = this.route(method, path);
    this.requests.push({ method, path, route: r?.route ?? null, at: Date.now() });
    const raw = await this.body(req);
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return this.error(res, 401, 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_request_error', 'invalid_api_key');
    }
    if (!r) return this.error(res, 404, `Invalid URL (${method} ${path})`, 'invalid_request_error');
    const o = this.outage;
    if (o && Date.now() < o.until && (!o.routes || o.routes.includes(r.route))) {
      const of = o.failures[o.next++ % o.failures.length];
      this.outageAnswers.set(of.status, (this.outageAnswers.get(of.status) ?? 0) + 1);
      return this.error(res, of.status, of.message ?? 'error', of.type ?? 'error', of.code ?? null, null, of.headers);
    }
    const f = this.injectedAt.get(`${r.route}#${this.count(r.route)}`) ?? this.injected.get(r.route)?.shift();
    if (f && !f.afterWork) return this.error(res, f.status, f.message ?? 'error', f.type ?? 'error', f.code ?? null, null, f.headers);
    if (f) {
      // Do the work, throw the response away, answer with the error.
      const sink = { writeHead: () => sink, end: () => sink } as unknown as ServerResponse;
      await this.serve(r, req, raw, new URL(req.url ?? '/', 'http://x'), sink);
      return this.error(res, f.status, f.message ?? 'error', f.type ?? 'error', f.code ?? null, null, f.headers);
    }
    return this.serve(r, req, raw, new URL(req.url ?? '/', 'http://x'), res);
  }

  private async serve(r: { route: Route; id?: string }, req: IncomingMessage, raw: Buffer, url: URL, res: ServerResponse): Promise<void> {
    switch (r.route) {
      case 'files':
        return this.upload(req, raw, res);
      case 'jobs.create':
        return this.createJob(JSON.parse(raw.toString('utf8')), res);
      case 'jobs.retrieve':
        return this.retrieveJob(r.id!, res);
      case 'jobs.list':
        return this.listJobs(url, res);
      case 'embeddings':
        return this.embeddings(JSON.parse(raw.toString('utf8')), res);
      case 'moderations':
        return this.moderations(JSON.parse(raw.toString('utf8')), res);
      case 'chat':
        return this.chat(JSON.parse(raw.toString('utf8')), res);
    }
  }

  private async upload(req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    const ct = req.headers['content-type'] ?? '';
    if (!ct.startsWith('multipart/form-data')) return this.error(res, 400, 'Expected multipart/form-data', 'invalid_request_error');
    const form = await new Request('http://x/', { method: 'POST', headers: { 'content-type': ct }, body: raw }).formData();
    const file = form.get('file');
    const purpose = form.get('purpose');
    if (!(file instanceof Blob)) return this.error(res, 400, "Missing required parameter: 'file'.", 'invalid_request_error', null, 'file');
    if (purpose !== 'fine-tune') return this.error(res, 400, `Invalid value for 'purpose': ${String(purpose)}`, 'invalid_request_error', null, 'purpose');
    const content = await file.text();
    for (const [i, line] of content.split('\n').filter((l) => l.trim()).entries()) {
      try {
        const ex = JSON.parse(line) as { messages?: unknown };
        if (!Array.isArray(ex.messages)) throw new Error('no messages');
      } catch {
        return this.error(res, 400, `Invalid file format for fine-tuning: line ${i + 1} is not a chat example.`, 'invalid_request_error', 'invalid_file_format');
      }
    }
    const stored: StoredFile = {
      id: `file-${randomBytes(8).toString('hex')}`,
      filename: (file as File).name ?? 'upload.jsonl',
      purpose,
      bytes: file.size,
      content,
      created_at: Math.floor(Date.now() / 1000),
    };
    this.files.set(stored.id, stored);
    this.send(res, 200, { id: stored.id, object: 'file', bytes: stored.bytes, created_at: stored.created_at, filename: stored.filename, purpose, status: 'processed' });
  }

  private jobView(j: Job) {
    return {
      id: j.id,
      object: 'fine_tuning.job',
      created_at: j.created_at,
      model: j.model,
      training_file: j.training_file,
      validation_file: null,
      suffix: j.suffix,
      metadata: j.metadata,
      status: j.status,
      fine_tuned_model: j.fine_tuned_model,
      finished_at: j.status === 'succeeded' || j.status === 'failed' ? Math.floor(Date.now() / 1000) : null,
      trained_tokens: j.trained_tokens,
      error: j.error,
      hyperparameters: { n_epochs: 3, batch_size: 1, learning_rate_multiplier: 1.8 },
      organization_id: 'org-driftwatch-test',
      result_files: [],
      seed: 42,
      estimated_finish: null,
      integrations: null,
    };
  }

  private createJob(b: { model?: string; training_file?: string; suffix?: string; metadata?: Record<string, string> }, res: ServerResponse): void {
    if (!b.model) return this.error(res, 400, "Missing required parameter: 'model'.", 'invalid_request_error', null, 'model');
    if (!b.training_file || !this.files.has(b.training_file)) {
      return this.error(res, 400, `invalid training_file: ${b.training_file}`, 'invalid_request_error', 'invalid_training_file', 'training_file');
    }
    if (b.suffix && b.suffix.length > 64) return this.error(res, 400, 'suffix must be at most 64 characters', 'invalid_request_error', null, 'suffix');
    const j: Job = {
      id: `ftjob-${randomBytes(8).toString('hex')}`,
      model: b.model,
      training_file: b.training_file,
      suffix: b.suffix ?? null,
      metadata: b.metadata ?? null,
      created_at: Math.floor(Date.now() / 1000),
      polls: 0,
      status: 'validating_files',
      fine_tuned_model: null,
      trained_tokens: null,
      error: null,
    };
    this.jobs.set(j.id, j);
    this.send(res, 200, this.jobView(j));
  }

  /** GET /v1/fine_tuning/jobs?metadata[k]=v&limit=n: newest first, filtered by metadata. */
  private listJobs(url: URL, res: ServerResponse): void {
    const filters = [...url.searchParams.entries()].flatMap(([k, v]) => {
      const m = /^metadata\[(.+)\]$/.exec(k);
      return m ? [[m[1], v] as const] : [];
    });
    const limit = Number(url.searchParams.get('limit') ?? 20);
    const data = [...this.jobs.values()]
      .reverse()
      .filter((j) => filters.every(([k, v]) => j.metadata?.[k] === v))
      .slice(0, limit)
      .map((j) => this.jobView(j));
    this.send(res, 200, { object: 'list', data, has_more: false });
  }

  private retrieveJob(id: string, res: ServerResponse): void {
    const j = this.jobs.get(id);
    if (!j) return this.error(res, 404, `Could not find fine-tune job ${id}`, 'invalid_request_error', 'fine_tune_job_not_found');
    if (j.status !== 'succeeded' && j.status !== 'failed' && j.status !== 'cancelled') {
      j.polls++;
      const toFinish = this.options.pollsToFinish ?? 4;
      if (j.polls >= toFinish) {
        if (this.options.failJobsWith) {
          j.status = 'failed';
          j.error = { ...this.options.failJobsWith, param: null };
        } else {
          j.status = 'succeeded';
          j.fine_tuned_model = `ft:${j.model}:driftwatch-test:${j.suffix ?? 'model'}:${j.id.slice(-8)}`;
          // Tokens of the training file (here: words of every message) x 3 epochs.
          j.trained_tokens = this.examples(j.training_file).reduce((n, ex) => n + ex.messages.reduce((k, m) => k + words(m.content), 0), 0) * 3;
        }
      } else j.status = j.polls <= 1 ? 'validating_files' : j.polls === 2 ? 'queued' : 'running';
    }
    this.send(res, 200, this.jobView(j));
  }

  private embeddings(b: { model?: string; input?: string | string[]; encoding_format?: string; dimensions?: number }, res: ServerResponse): void {
    if (!b.model || !/^text-embedding-/.test(b.model)) return this.error(res, 404, `The model \`${b.model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    const inputs = typeof b.input === 'string' ? [b.input] : (b.input ?? []);
    if (inputs.length === 0 || inputs.length > 2048) return this.error(res, 400, "'input' must have 1 to 2048 items", 'invalid_request_error', null, 'input');
    const dim = b.dimensions ?? this.options.dim ?? 8;
    this.embeddedInputs.push(...inputs);
    let tokens = 0;
    const data = inputs.map((text, index) => {
      tokens += Math.max(1, words(text));
      const v = new Float32Array(dim);
      for (const w of norm(text).split(' ')) {
        let h = 2166136261;
        for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619) >>> 0;
        v[h % dim] += 1;
      }
      const n = Math.hypot(...v) || 1;
      const vec = Array.from(v, (x) => x / n);
      const embedding = b.encoding_format === 'base64' ? Buffer.from(Float32Array.from(vec).buffer).toString('base64') : vec;
      return { object: 'embedding', index, embedding };
    });
    this.send(res, 200, { object: 'list', data, model: b.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
  }

  private moderations(b: { model?: string; input?: string | string[] }, res: ServerResponse): void {
    const inputs = typeof b.input === 'string' ? [b.input] : (b.input ?? []);
    const results = inputs.map((t) => {
      const s = t.toLowerCase();
      const harassment = /idiot|stupid|worthless/.test(s) ? 0.91 : 0.01;
      const violence = /kill|hurt/.test(s) ? 0.97 : 0.002;
      const category_scores = { harassment, 'harassment/threatening': 0.001, hate: 0.0005, 'hate/threatening': 0.0001, 'self-harm': 0.0002, sexual: 0.0003, violence };
      const categories = Object.fromEntries(Object.entries(category_scores).map(([k, v]) => [k, v >= 0.5]));
      return { flagged: harassment >= 0.5 || violence >= 0.5, categories, category_scores, category_applied_input_types: {} };
    });
    this.send(res, 200, { id: `modr-${randomBytes(6).toString('hex')}`, model: b.model ?? 'omni-moderation-latest', results });
  }

  private examples(fileId: string): { messages: { role: string; content: string }[] }[] {
    return this.files
      .get(fileId)!
      .content.split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { messages: { role: string; content: string }[] });
  }

  /** What a model knows: a fine-tuned model its training file, a base model `baseKnowledge`. */
  private knowledge(model: string): Map<string, string> | null {
    const job = [...this.jobs.values()].find((j) => j.fine_tuned_model === model);
    if (job) {
      const m = new Map<string, string>();
      for (const ex of this.examples(job.training_file)) {
        const q = ex.messages.find((x) => x.role === 'user')?.content;
        const a = ex.messages.find((x) => x.role === 'assistant')?.content;
        if (q && a && !m.has(norm(q))) m.set(norm(q), a);
      }
      return m;
    }
    // Base models are the gpt-* family here; anything else does not exist, as on the real API.
    if (!/^gpt-/.test(model)) return null;
    return new Map(Object.entries(this.options.baseKnowledge ?? {}).map(([q, a]) => [norm(q), a]));
  }

  private chat(b: { model?: string; messages?: { role: string; content: string }[]; stream?: boolean; stream_options?: { include_usage?: boolean } }, res: ServerResponse): void {
    const known = b.model ? this.knowledge(b.model) : null;
    if (!known) return this.error(res, 404, `The model \`${b.model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    const q = [...(b.messages ?? [])].reverse().find((m) => m.role === 'user')?.content ?? '';
    const answer = known.get(norm(q)) ?? "I'm not sure about that.";
    const prompt_tokens = words(q) + 8;
    const completion_tokens = words(answer);
    if (b.stream) {
      // Server-sent events in OpenAI's chunk format: role, one chunk per word, finish, usage when asked, [DONE].
      const base = { id: `chatcmpl-${randomBytes(6).toString('hex')}`, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: b.model };
      const usage = b.stream_options?.include_usage ? { usage: null } : {};
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': `req_${randomBytes(6).toString('hex')}` });
      const send = (x: unknown) => res.write(`data: ${JSON.stringify(x)}\n\n`);
      send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], ...usage });
      const rest = async () => {
        let sent = '';
        for (const w of answer.match(/\S+\s*/g) ?? []) {
          const hold = this.options.holdStream?.(sent);
          if (hold) await hold;
          send({ ...base, choices: [{ index: 0, delta: { content: w }, finish_reason: null }], ...usage });
          sent += w;
        }
        send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], ...usage });
        if (b.stream_options?.include_usage) send({ ...base, choices: [], usage: { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens } });
        res.end('data: [DONE]\n\n');
      };
      void rest();
      return;
    }
    this.send(res, 200, {
      id: `chatcmpl-${randomBytes(6).toString('hex')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: b.model,
      choices: [{ index: 0, message: { role: 'assistant', content: answer, refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens },
    });
  }
}

import { randomUUID } from 'node:crypto';
// Types only (erased at runtime): the SDK is typed from the same zod schemas as the server.
import type { DocumentBody, EmbeddingBody, EvaluationBody, EventType, FeedbackBody, IngestFailure, IngestResponse, InteractionBody } from '@driftwatch/core';

export type { DocumentBody, EmbeddingBody, EvaluationBody, FeedbackBody, InteractionBody, IngestFailure };

/** Options of the client. Every default is in brackets. */
export interface DriftwatchOptions {
  /** The scheduler's URL, e.g. http://driftwatch:3000. */
  baseUrl: string;
  /** An API key of scope ingest (`driftwatch keys create --scope ingest`). */
  apiKey?: string;
  /** Flush at least this often, ms [1000]. */
  flushIntervalMs?: number;
  /** Flush as soon as this many events wait; also the most events per request [100]. */
  maxBatch?: number;
  /** Events kept in memory at most; beyond it the oldest are dropped and counted [10000]. */
  maxQueue?: number;
  /** Attempts per request on 429, 5xx and network errors, with exponential backoff (or the server's retry-after) [6]. */
  maxAttempts?: number;
  /** First backoff, ms [250]; doubles per attempt, jittered, at most 30 s. */
  backoffMs?: number;
  /**
   * Flush when the event loop drains and the process is about to exit (Node's `beforeExit`)
   * [true]; the process then stays up until the events are delivered or given up
   * (maxAttempts). This does not cover `process.exit()` or a signal: Node runs no
   * asynchronous work then, and the SDK installs no signal handler (that would change how
   * the application exits). An application that ends on SIGTERM (containers, systemd) calls
   * `await client.shutdown()` in its own handler:
   *
   *     process.on('SIGTERM', async () => { await server.close(); await dw.shutdown(); process.exit(0); });
   */
  flushOnExit?: boolean;
  /** Told about events the server rejected (400, 409) or that could not be delivered. Never throws into your code. */
  onError?: (e: { id: string | null; status: number; message: string }) => void;
  /** fetch to use [globalThis.fetch]. */
  fetch?: typeof fetch;
}

interface Pending {
  id: string;
  type: EventType;
  timestamp: string;
  body: unknown;
}

/** Counters of what the client did. */
export interface DriftwatchStats {
  queued: number;
  sent: number;
  duplicates: number;
  rejected: number;
  dropped: number;
  requests: number;
  retries: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref?.());

/**
 * The application-side client. `log.*` queue events in memory and return their ids at
 * once; a background flush sends them in batches to POST /v1/ingest, retried with backoff
 * on 429/5xx/network errors. Nothing here throws into the application: failures go to
 * onError and stats.
 */
export class Driftwatch {
  readonly stats: DriftwatchStats = { queued: 0, sent: 0, duplicates: 0, rejected: 0, dropped: 0, requests: 0, retries: 0 };
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<void> | null = null;
  private readonly o: Required<Omit<DriftwatchOptions, 'apiKey' | 'onError' | 'fetch'>> & Pick<DriftwatchOptions, 'apiKey' | 'onError'> & { fetch: typeof fetch };
  private readonly exitHook = () => {
    if (this.queue.length || this.inflight) void this.keepingAlive(() => this.flush());
  };
  private closed = false;

  constructor(opts: DriftwatchOptions) {
    this.o = {
      flushIntervalMs: 1000, maxBatch: 100, maxQueue: 10_000, maxAttempts: 6, backoffMs: 250, flushOnExit: true,
      ...opts, baseUrl: opts.baseUrl.replace(/\/+$/, ''), fetch: opts.fetch ?? globalThis.fetch.bind(globalThis),
    };
    // Not once: beforeExit comes again whenever the loop drains, and the hook does nothing when nothing waits.
    if (this.o.flushOnExit) process.on('beforeExit', this.exitHook);
  }

  /** Queue events; each returns its event id (use it for feedback). */
  readonly log = {
    interaction: (body: InteractionBody, o: { id?: string } = {}) => this.enqueue('interaction', body, o.id),
    evaluation: (body: EvaluationBody, o: { id?: string } = {}) => this.enqueue('evaluation', body, o.id),
    embedding: (body: EmbeddingBody, o: { id?: string } = {}) => this.enqueue('embedding', body, o.id),
    /** Feedback on an interaction (its event id from log.interaction / wrapOpenAI, or its Driftwatch id); may arrive before it. */
    feedback: (body: FeedbackBody, o: { id?: string } = {}) => this.enqueue('feedback', body, o.id),
    document: (body: DocumentBody, o: { id?: string } = {}) => this.enqueue('document', body, o.id),
  };

  private enqueue(type: EventType, body: unknown, id?: string): string {
    const eventId = id ?? randomUUID();
    try {
      if (this.closed) throw new Error('client is shut down');
      this.queue.push({ id: eventId, type, timestamp: new Date().toISOString(), body });
      this.stats.queued++;
      while (this.queue.length > this.o.maxQueue) {
        const lost = this.queue.shift()!;
        this.stats.dropped++;
        this.report({ id: lost.id, status: 0, message: `dropped: more than ${this.o.maxQueue} events waiting (maxQueue); is Driftwatch reachable?` });
      }
      if (this.queue.length >= this.o.maxBatch) void this.flush();
      else this.arm();
    } catch (e) {
      this.report({ id: eventId, status: 0, message: (e as Error).message });
    }
    return eventId;
  }

  private arm() {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.o.flushIntervalMs);
    this.timer.unref?.();
  }

  private report(e: { id: string | null; status: number; message: string }) {
    try {
      this.o.onError?.(e);
    } catch {
      // The application's handler must not break the client either.
    }
  }

  /** Sends everything queued so far; resolves when it is delivered or given up. Never rejects. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // One flush at a time; a flush asked for meanwhile runs after it.
    while (this.inflight) await this.inflight;
    if (this.queue.length === 0) return;
    this.inflight = (async () => {
      while (this.queue.length) {
        const batch = this.queue.splice(0, this.o.maxBatch);
        await this.send(batch).catch((e) => batch.forEach((ev) => this.report({ id: ev.id, status: 0, message: String(e) })));
      }
    })();
    try {
      await this.inflight;
    } finally {
      this.inflight = null;
    }
  }

  private async send(batch: Pending[]): Promise<void> {
    let todo = batch;
    for (let attempt = 1; todo.length; attempt++) {
      let retryAfterMs: number | null = null;
      try {
        this.stats.requests++;
        const res = await this.o.fetch(`${this.o.baseUrl}/v1/ingest`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}) },
          body: JSON.stringify({ batch: todo }),
        });
        if (res.status === 207) {
          const r = (await res.json()) as IngestResponse;
          for (const s of r.successes) s.duplicate ? this.stats.duplicates++ : this.stats.sent++;
          const retry = new Set<string>();
          for (const e of r.errors) {
            if (e.status >= 500 && e.id) retry.add(e.id);
            else {
              this.stats.rejected++;
              this.report(e);
            }
          }
          todo = todo.filter((ev) => retry.has(ev.id));
          if (!todo.length) return;
        } else if (res.status === 429 || res.status >= 500) {
          const ra = Number(res.headers.get('retry-after'));
          if (Number.isFinite(ra) && ra > 0) retryAfterMs = ra * 1000;
        } else {
          // 400/401/403/413: retrying the same request cannot succeed.
          const text = await res.text().catch(() => '');
          this.stats.rejected += todo.length;
          for (const ev of todo) this.report({ id: ev.id, status: res.status, message: text.slice(0, 500) });
          return;
        }
      } catch {
        // Network error: retried below.
      }
      if (attempt >= this.o.maxAttempts) {
        this.stats.rejected += todo.length;
        for (const ev of todo) this.report({ id: ev.id, status: 0, message: `not delivered after ${attempt} attempts` });
        return;
      }
      this.stats.retries++;
      const backoff = Math.min(30_000, this.o.backoffMs * 2 ** (attempt - 1));
      await sleep(retryAfterMs ?? backoff / 2 + Math.random() * (backoff / 2));
    }
  }

  /**
   * Flushes (keeping the process alive until delivered or given up, so it is safe to await
   * in a SIGTERM handler before process.exit()) and stops the timer and the exit hook.
   */
  async shutdown(): Promise<void> {
    await this.keepingAlive(() => this.flush());
    this.closed = true;
    process.removeListener('beforeExit', this.exitHook);
  }

  /**
   * Runs work with a ref'd timer held: a pending promise does not keep Node running and
   * the SDK's own timers (flush interval, retry backoff) are unref'd so that they never hold
   * the application open, so without this an exit flush waiting out a 429 would be cut short.
   */
  private async keepingAlive<T>(work: () => Promise<T>): Promise<T> {
    const hold = setInterval(() => {}, 60_000);
    try {
      return await work();
    } finally {
      clearInterval(hold);
    }
  }

  /** See wrapOpenAI(). */
  wrapOpenAI<C extends OpenAILike>(client: C, o: WrapOptions): C {
    return wrapOpenAI(client, { ...o, driftwatch: this });
  }
}

/** The part of an official `openai` client that is wrapped. */
export interface OpenAILike {
  chat: { completions: { create: (...args: any[]) => any } };
}

export interface WrapOptions {
  /** Driftwatch's model name to log under (the config's models[].name). */
  model: string;
  /** Version label to log (e.g. the fine-tuned model id); default: the response's model. */
  model_version?: string;
}

/** The event id of the interaction logged for a completion (for feedback later): `interactionIdOf(completion)`. */
const ID = Symbol.for('driftwatch.interaction_id');
export function interactionIdOf(completion: unknown): string | undefined {
  return completion && typeof completion === 'object' ? (completion as Record<symbol, string>)[ID] : undefined;
}

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: string; content?: unknown };
    if (m?.role === 'user') {
      if (typeof m.content === 'string') return m.content;
      if (Array.isArray(m.content)) return m.content.map((p: { text?: string }) => p?.text ?? '').join(' ');
    }
  }
  return '';
}

/**
 * Logs every `chat.completions.create` made through an official openai client as an
 * interaction (query: the last user message; response, tokens, latency, error). The
 * completion carries its interaction's event id: `interactionIdOf(completion)`, also
 * `completion.driftwatch_interaction_id` (non-enumerable). Streams are logged when
 * they end. Logging never changes what the call returns or throws.
 */
export function wrapOpenAI<C extends OpenAILike>(client: C, o: WrapOptions & { driftwatch: Driftwatch }): C {
  const completions = client.chat.completions;
  const original = completions.create.bind(completions);
  const dw = o.driftwatch;
  const log = (params: any, t0: number, fields: { response?: string; error?: string; usage?: any; model?: string }) => {
    try {
      return dw.log.interaction({
        model: o.model,
        model_version: o.model_version ?? fields.model ?? params?.model,
        query: lastUserText(params?.messages),
        response: fields.response ?? '',
        error: fields.error,
        latency_ms: Math.max(0, Math.round(performance.now() - t0)),
        prompt_tokens: fields.usage?.prompt_tokens,
        completion_tokens: fields.usage?.completion_tokens,
      });
    } catch {
      return undefined;
    }
  };
  const tag = (obj: any, id: string | undefined) => {
    if (id && obj && typeof obj === 'object') {
      try {
        Object.defineProperty(obj, ID, { value: id, enumerable: false });
        Object.defineProperty(obj, 'driftwatch_interaction_id', { value: id, enumerable: false });
      } catch {
        // frozen object: nothing to tag
      }
    }
    return obj;
  };
  (completions as any).create = (params: any, ...rest: any[]) => {
    const t0 = performance.now();
    const p = original(params, ...rest);
    if (params?.stream) {
      return Promise.resolve(p).then(
        (stream: any) => {
          let text = '';
          let usage: any;
          let model: string | undefined;
          const iter = stream[Symbol.asyncIterator].bind(stream);
          stream[Symbol.asyncIterator] = async function* () {
            let error: string | undefined;
            try {
              for await (const chunk of { [Symbol.asyncIterator]: iter }) {
                text += chunk?.choices?.[0]?.delta?.content ?? '';
                usage = chunk?.usage ?? usage;
                model = chunk?.model ?? model;
                yield chunk;
              }
            } catch (e) {
              error = String((e as Error)?.message ?? e);
              throw e;
            } finally {
              tag(stream, log(params, t0, { response: text, usage, model, error }));
            }
          };
          return stream;
        },
        (e: unknown) => {
          log(params, t0, { error: String((e as Error)?.message ?? e) });
          throw e;
        },
      );
    }
    // Keep the openai APIPromise (withResponse(), asResponse()) by returning a promise that resolves to the tagged completion.
    return Promise.resolve(p).then(
      (c: any) => tag(c, log(params, t0, { response: c?.choices?.[0]?.message?.content ?? '', usage: c?.usage, model: c?.model })),
      (e: unknown) => {
        log(params, t0, { error: String((e as Error)?.message ?? e) });
        throw e;
      },
    );
  };
  return client;
}

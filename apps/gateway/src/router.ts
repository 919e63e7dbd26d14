import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { chatCost, createScrubber, gatewayAddedSeconds, gatewayRequestsTotal, type AppContext } from '@driftwatch/core';
import { InteractionLog, type GatewayInteraction } from './interaction-log.js';
import { streamModerated } from './moderated-stream.js';
import { SseLines, chunkOf, stopUpstreamWhenClientLeaves } from './sse.js';
import { REFUSAL, ServingCache, judge } from './serving-cache.js';
import { lastUserText, UpstreamUnreachableError, type Upstream, type UpstreamReply } from './upstream.js';

export type GatewayContext = Pick<AppContext, 'db' | 'env' | 'config' | 'providers' | 'logger'>;

export interface GatewayDeps {
  /** Authentication (an ingest-scope check), run before the body is read. */
  auth: RequestHandler;
  upstream: Upstream;
  log: InteractionLog;
  cache: ServingCache;
}

type Message = { role: string; content: unknown };
type Completion = {
  id: string;
  created: number;
  model: string;
  choices: { index: number; message: { role: string; content: string | null; refusal?: string | null }; finish_reason: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
  system_fingerprint?: string | null;
};

/**
 * A JSON answer written directly: express's res.json also hashes every body for an ETag,
 * which an API answer never uses (POST responses are not revalidated).
 */
function sendJson(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/** OpenAI's error body. */
function openaiError(res: Response, status: number, message: string, type = 'invalid_request_error', param: string | null = null, code: string | null = null): void {
  sendJson(res, status, { error: { message, type, param, code } });
}

/** Passes an upstream error through: its status, body and rate-limit headers. */
function passError(res: Response, up: UpstreamReply): void {
  for (const h of ['retry-after', 'retry-after-ms', 'x-request-id', 'x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests']) {
    const v = up.headers.get(h);
    if (v !== null) res.setHeader(h, v);
  }
  res.status(up.status).type(up.headers.get('content-type') ?? 'application/json').send(up.text ?? '');
}

function errorMessage(up: UpstreamReply): string {
  try {
    const b = JSON.parse(up.text ?? '') as { error?: { message?: string } };
    return `upstream ${up.status}: ${b.error?.message ?? up.text}`;
  } catch {
    return `upstream ${up.status}: ${(up.text ?? '').slice(0, 500)}`;
  }
}

const sse = (res: Response, data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);

/** Sends a complete answer as OpenAI's chunk stream: role, content, finish, usage (when asked), [DONE]. */
function streamCompletion(res: Response, c: Completion, includeUsage: boolean): void {
  res.status(200).setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  // The whole answer is known: its chunks leave in one write (end() uncorks).
  res.cork();
  const base = { id: c.id, object: 'chat.completion.chunk', created: c.created, model: c.model, system_fingerprint: c.system_fingerprint ?? null };
  const usage = includeUsage ? { usage: null } : {};
  const choice = c.choices[0];
  sse(res, { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }], ...usage });
  const text = choice?.message.content ?? '';
  // A few chunks, split at word boundaries, as a model streams.
  const parts = text.match(/\S+\s*|\s+/g) ?? [];
  for (let i = 0; i < parts.length; i += 8) sse(res, { ...base, choices: [{ index: 0, delta: { content: parts.slice(i, i + 8).join('') }, logprobs: null, finish_reason: null }], ...usage });
  // Tool calls (function calling) as one delta, each with its index.
  const toolCalls = (choice?.message as { tool_calls?: object[] } | undefined)?.tool_calls;
  if (toolCalls?.length) sse(res, { ...base, choices: [{ index: 0, delta: { tool_calls: toolCalls.map((t, index) => ({ index, ...t })) }, logprobs: null, finish_reason: null }], ...usage });
  sse(res, { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: choice?.finish_reason ?? 'stop' }], ...usage });
  if (includeUsage) sse(res, { ...base, choices: [], usage: c.usage ?? null });
  res.end('data: [DONE]\n\n');
}

/**
 * Streams an upstream's server-sent events to the client byte for byte, reading the
 * content deltas and the usage on the way for the log.
 */
async function pipeStream(res: Response, up: UpstreamReply): Promise<{ text: string; usage: Completion['usage']; model: string | null; error: string | null }> {
  res.status(up.status).setHeader('content-type', up.headers.get('content-type') ?? 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  res.flushHeaders();
  let text = '';
  let usage: Completion['usage'] = null;
  let model: string | null = null;
  let gone: string | null = null;
  const upstream = up.stream as AsyncIterable<Uint8Array> & { destroy?: () => void };
  stopUpstreamWhenClientLeaves(res, upstream, () => (gone = 'the client closed the connection before the answer was complete'));
  const read = (data: string) => {
    const chunk = chunkOf(data);
    if (!chunk) return; // [DONE], or not JSON: passed through, not read
    model ??= chunk.model ?? null;
    for (const c of chunk.choices ?? []) if (typeof c.delta?.content === 'string') text += c.delta.content;
    if (chunk.usage) usage = chunk.usage;
  };
  const lines = new SseLines();
  try {
    for await (const bytes of upstream) {
      if (!res.writableEnded && !gone) res.write(bytes);
      for (const data of lines.push(bytes)) read(data);
    }
    for (const data of lines.end()) read(data);
    if (!res.writableEnded) res.end();
    return { text, usage, model, error: gone };
  } catch (e) {
    if (!res.writableEnded) res.end();
    return { text, usage, model, error: gone ?? `upstream stream broke: ${(e as Error).message}` };
  }
}

/**
 * The OpenAI-compatible routes, mounted under /openai/v1:
 * - POST /chat/completions (stream or not; stream_options.include_usage honoured)
 * - POST /embeddings
 * A monitored model's name (config models[].name) is answered by its served version,
 * under its safety policy; any other model name passes through unchanged. Every chat
 * call is logged as an interaction (x-driftwatch-interaction-id on the response).
 */
export function gatewayRouter(ctx: GatewayContext, deps: GatewayDeps): express.Router {
  const r = express.Router();
  const json = express.json({ limit: '10mb' });
  const { upstream, log, cache } = deps;
  const scrub = createScrubber(ctx.config.privacy);
  const monitored = new Map(ctx.config.models.map((m) => [m.name, m]));

  r.post('/chat/completions', deps.auth, json, async (req: Request, res: Response) => {
    const t0 = performance.now();
    const body = req.body as Record<string, unknown>;
    if (!body || typeof body !== 'object' || typeof body.model !== 'string' || !body.model) return openaiError(res, 400, "you must provide a model parameter ('model': a string)", 'invalid_request_error', 'model');
    if (!Array.isArray(body.messages) || body.messages.length === 0) return openaiError(res, 400, "'messages' must be a non-empty array", 'invalid_request_error', 'messages');
    const messages = body.messages as Message[];
    const asked = body.model;
    const stream = body.stream === true;
    const includeUsage = stream && (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const query = lastUserText(messages);
    const id = await log.takeId();
    if (id !== null) res.setHeader('x-driftwatch-interaction-id', String(id));
    const m = monitored.get(asked);
    const row: GatewayInteraction = {
      id,
      model: asked,
      model_version: null,
      query: scrub(query),
      response: '',
      error: null,
      latency_ms: 0,
      prompt_tokens: null,
      completion_tokens: null,
      cost_usd: null,
      toxic: null,
      toxicity_score: null,
      blocked: false,
    };
    let outcome = 'ok';
    const finish = (answer: string, usage: Completion['usage'], answeredBy: string | null) => {
      row.response = scrub(answer);
      row.prompt_tokens = usage?.prompt_tokens ?? null;
      row.completion_tokens = usage?.completion_tokens ?? null;
      row.cost_usd = answeredBy && usage ? chatCost(answeredBy, usage.prompt_tokens ?? 0, usage.completion_tokens ?? 0) : null;
    };
    try {
      if (!m) {
        // Passthrough: the call goes upstream as sent.
        const up = await upstream.chat(body);
        if (up.status >= 400) {
          outcome = 'upstream_error';
          row.error = errorMessage(up);
          return passError(res, up);
        }
        if (up.stream) {
          const got = await pipeStream(res, up);
          finish(got.text, got.usage, got.model ?? asked);
          row.error = got.error;
          return;
        }
        const c = up.json as Completion;
        finish(c.choices?.[0]?.message?.content ?? '', c.usage, c.model ?? asked);
        if (stream) return streamCompletion(res, c, includeUsage);
        return sendJson(res, up.status, c);
      }

      // A monitored model: its served version, under its safety policy.
      const { serving, policy } = await cache.get(m.name, m.base_model);
      row.model_version = serving.version ?? 'base';
      const input = await judge(query, policy, ctx.providers.moderation);
      let completion: Completion;
      if (input.blocked) {
        completion = { id: `chatcmpl-dwblocked${Date.now().toString(36)}`, created: Math.floor(Date.now() / 1000), model: serving.provider_model, choices: [{ index: 0, message: { role: 'assistant', content: REFUSAL, refusal: null }, finish_reason: 'content_filter' }], usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } };
        Object.assign(row, { blocked: true, toxic: true, toxicity_score: input.score, error: `blocked input: ${input.reason}` });
      } else {
        const upMessages = policy.system_prompt ? [{ role: 'system', content: policy.system_prompt }, ...messages] : messages;
        const { stream: _s, stream_options: _o, ...rest } = body;
        // Streamed: text is released sentence by sentence as each prefix passes the policy (see streamModerated);
        // usage is always asked of the upstream, for the log. Not streamed: the whole answer is judged first.
        const up = await upstream.chat({ ...rest, model: serving.provider_model, messages: upMessages, ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}) });
        if (up.status >= 400) {
          outcome = 'upstream_error';
          row.error = errorMessage(up);
          return passError(res, up);
        }
        if (up.stream) {
          const got = await streamModerated(res, up, { policy, moderation: ctx.providers.moderation, includeUsage, model: serving.provider_model });
          row.toxicity_score = Math.max(input.score ?? 0, got.score ?? 0);
          row.toxic = got.blocked ? true : input.score !== null || got.score !== null ? false : null;
          finish(got.blocked ? REFUSAL : got.text, got.usage, got.model ?? serving.provider_model);
          if (got.blocked) {
            outcome = 'blocked';
            Object.assign(row, { blocked: true, error: `blocked answer: ${got.blocked.reason}${got.released ? ` (after ${got.released} characters were streamed)` : ''}` });
          } else if (got.error) {
            outcome = 'upstream_error';
            row.error = got.error;
          }
          return;
        }
        // A server that ignored `stream` answered JSON: judged whole, then sent as chunks.
        completion = up.json as Completion;
        const answer = completion.choices?.[0]?.message?.content ?? '';
        const output = await judge(answer, policy, ctx.providers.moderation);
        row.toxicity_score = Math.max(input.score ?? 0, output.score ?? 0);
        row.toxic = output.blocked ? true : input.score !== null || output.score !== null ? false : null;
        if (output.blocked) {
          Object.assign(row, { blocked: true, toxic: true, error: `blocked answer: ${output.reason}` });
          completion.choices[0] = { index: 0, message: { role: 'assistant', content: REFUSAL, refusal: null }, finish_reason: 'content_filter' };
        }
      }
      if (row.blocked) outcome = 'blocked';
      finish(completion.choices[0]?.message.content ?? '', completion.usage, completion.model ?? serving.provider_model);
      if (stream) return streamCompletion(res, completion, includeUsage);
      sendJson(res, 200, completion);
    } catch (e) {
      outcome = 'error';
      row.error = (e as Error).message;
      if (res.headersSent) return void res.end();
      if (e instanceof UpstreamUnreachableError) return openaiError(res, 502, e.message, 'upstream_error');
      ctx.logger.error({ err: (e as Error).message }, 'gateway: chat completion failed');
      return openaiError(res, 500, `gateway error: ${(e as Error).message}`, 'server_error');
    } finally {
      row.latency_ms = Math.max(0, Math.round(performance.now() - t0));
      log.add(row);
      gatewayRequestsTotal.inc({ route: 'chat', model: m ? m.name : 'passthrough', outcome });
      gatewayAddedSeconds.observe({ route: 'chat' }, (performance.now() - t0) / 1000);
    }
  });

  r.post('/embeddings', deps.auth, json, async (req: Request, res: Response) => {
    const body = req.body as Record<string, unknown>;
    if (!body || typeof body !== 'object' || typeof body.model !== 'string') return openaiError(res, 400, "you must provide a model parameter ('model': a string)", 'invalid_request_error', 'model');
    let outcome = 'ok';
    try {
      const up = await upstream.embeddings(body);
      if (up.status >= 400) {
        outcome = 'upstream_error';
        return passError(res, up);
      }
      sendJson(res, up.status, up.json);
    } catch (e) {
      outcome = 'error';
      if (e instanceof UpstreamUnreachableError) return openaiError(res, 502, e.message, 'upstream_error');
      return openaiError(res, 500, `gateway error: ${(e as Error).message}`, 'server_error');
    } finally {
      gatewayRequestsTotal.inc({ route: 'embeddings', model: 'passthrough', outcome });
    }
  });

  r.get('/models', deps.auth, (_req, res) => {
    res.json({ object: 'list', data: ctx.config.models.map((x) => ({ id: x.name, object: 'model', created: 0, owned_by: 'driftwatch' })) });
  });

  r.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if ((err as { type?: string }).type === 'entity.parse.failed') return openaiError(res, 400, 'We could not parse the JSON body of your request.');
    if ((err as { type?: string }).type === 'entity.too.large') return openaiError(res, 413, 'request body too large');
    next(err);
  });
  return r;
}

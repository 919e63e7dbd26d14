import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { approxTokens, type Providers } from '@driftwatch/core';

/** The headers of a reply, read by name (case-insensitive). */
export interface ReplyHeaders {
  get(name: string): string | null;
}

/**
 * Node's already-parsed response headers, read in place: building a WHATWG Headers object
 * per reply (validation of every name and value) was a measurable share of a call's CPU.
 */
class IncomingHeaders implements ReplyHeaders {
  constructor(private readonly h: IncomingMessage['headers']) {}
  get(name: string): string | null {
    const v = this.h[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }
}

/** Headers of an answer made here (offline upstream, gateway-made errors): JSON. */
export const JSON_HEADERS: ReplyHeaders = { get: (name) => (name.toLowerCase() === 'content-type' ? 'application/json' : null) };

export interface UpstreamReply {
  status: number;
  headers: ReplyHeaders;
  /** Parsed body of a successful non-streamed call. */
  json?: Record<string, unknown>;
  /** Body of a successful streamed call (server-sent events). */
  stream?: AsyncIterable<Uint8Array>;
  /** Body of an error, as the upstream sent it. */
  text?: string;
}

/**
 * Where the gateway sends calls: an OpenAI-compatible server (OPENAI_BASE_URL with
 * OPENAI_API_KEY, raw HTTP so status, body and headers pass through untouched) or,
 * without a key, the offline providers of this machine.
 */
export interface Upstream {
  readonly name: 'openai' | 'offline';
  chat(body: Record<string, unknown>): Promise<UpstreamReply>;
  embeddings(body: Record<string, unknown>): Promise<UpstreamReply>;
}

/** The upstream could not be reached (connection refused, reset, timeout): 502 to the client. */
export class UpstreamUnreachableError extends Error {
  override name = 'UpstreamUnreachableError';
}

export class OpenAIUpstream implements Upstream {
  readonly name = 'openai';
  private readonly base: URL;
  private readonly agent: HttpAgent;
  /** Request options per path, built once (parsing a URL per call costs CPU on a hot gateway). */
  private readonly targets = new Map<string, { href: string; https: boolean; options: { protocol: string; hostname: string; port: string; path: string } }>();
  constructor(
    private readonly apiKey: string,
    baseURL = 'https://api.openai.com/v1',
    private readonly timeoutMs = 600_000,
  ) {
    this.base = new URL(baseURL.replace(/\/+$/, '') + '/');
    // Kept-alive connections (node:http directly: less work per call than fetch).
    const o = { keepAlive: true, keepAliveMsecs: 30_000, maxSockets: 512, maxFreeSockets: 128 };
    this.agent = this.base.protocol === 'https:' ? new HttpsAgent(o) : new HttpAgent(o);
  }

  private target(path: string) {
    let t = this.targets.get(path);
    if (!t) {
      const url = new URL(path.replace(/^\//, ''), this.base);
      t = { href: url.href, https: url.protocol === 'https:', options: { protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: url.pathname + url.search } };
      this.targets.set(path, t);
    }
    return t;
  }

  private post(path: string, body: Record<string, unknown>, stream: boolean): Promise<UpstreamReply> {
    const { href, https, options } = this.target(path);
    const payload = Buffer.from(JSON.stringify(body));
    const send = https ? httpsRequest : httpRequest;
    return new Promise<UpstreamReply>((resolve, reject) => {
      const req = send(
        {
          ...options,
          method: 'POST',
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json', 'content-length': payload.length, accept: stream ? 'text/event-stream' : 'application/json' },
        },
        (res: IncomingMessage) => {
          const headers = new IncomingHeaders(res.headers);
          const status = res.statusCode ?? 502;
          // A server that ignores `stream` answers JSON: read it as a whole answer.
          if (status < 400 && stream && !(headers.get('content-type') ?? '').includes('json')) return resolve({ status, headers, stream: res });
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('error', (e) => reject(new UpstreamUnreachableError(`upstream ${href}: ${e.message}`)));
          res.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            if (status >= 400) return resolve({ status, headers, text });
            try {
              resolve({ status, headers, json: JSON.parse(text) as Record<string, unknown> });
            } catch {
              resolve({ status: 502, headers: JSON_HEADERS, text: JSON.stringify({ error: { message: `upstream answered ${status} with a body that is not JSON`, type: 'upstream_error', param: null, code: null } }) });
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (e) => reject(new UpstreamUnreachableError(`upstream ${href}: ${e.message}`)));
      req.end(payload);
    });
  }

  chat(body: Record<string, unknown>): Promise<UpstreamReply> {
    return this.post('/chat/completions', body, body.stream === true);
  }
  embeddings(body: Record<string, unknown>): Promise<UpstreamReply> {
    return this.post('/embeddings', body, false);
  }
}

/** Text of a message's content: a string, or the text parts of an array of parts. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).filter(Boolean).join('\n');
  return '';
}

/** The text of the last user message (the question a chat call asks). */
export function lastUserText(messages: readonly { role: string; content: unknown }[]): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === 'user') return contentText(messages[i].content);
  return '';
}

export const OFFLINE_UNKNOWN_ANSWER = "I'm not sure about that.";

let seq = 0;
const chatId = () => `chatcmpl-dw${Date.now().toString(36)}${(seq++).toString(36)}`;

/**
 * The offline upstream: chat answered by the local answer model of the offline
 * providers (a trained `local:` model knows its training pairs; any other model
 * says it is not sure), embeddings by the offline word-vector model.
 */
export class OfflineUpstream implements Upstream {
  readonly name = 'offline';
  constructor(private readonly providers: Pick<Providers, 'answers' | 'embeddings'>) {}

  async chat(body: Record<string, unknown>): Promise<UpstreamReply> {
    const model = String(body.model);
    const messages = (body.messages as { role: string; content: unknown }[]) ?? [];
    const question = lastUserText(messages);
    let answer = '';
    try {
      answer = this.providers.answers ? (await this.providers.answers.answer(model, [question])).answers[0] : '';
    } catch (e) {
      return { status: 404, headers: JSON_HEADERS, text: JSON.stringify({ error: { message: (e as Error).message, type: 'invalid_request_error', param: 'model', code: 'model_not_found' } }) };
    }
    answer ||= OFFLINE_UNKNOWN_ANSWER;
    const prompt_tokens = messages.reduce((n, m) => n + approxTokens(contentText(m.content)), 0);
    const completion_tokens = approxTokens(answer);
    return {
      status: 200,
      headers: JSON_HEADERS,
      json: {
        id: chatId(),
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: answer, refusal: null }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens },
      },
    };
  }

  async embeddings(body: Record<string, unknown>): Promise<UpstreamReply> {
    const input = body.input;
    const texts = typeof input === 'string' ? [input] : Array.isArray(input) && input.every((t) => typeof t === 'string') ? (input as string[]) : null;
    const bad = (message: string) => ({ status: 400, headers: JSON_HEADERS, text: JSON.stringify({ error: { message, type: 'invalid_request_error', param: 'input', code: null } }) });
    if (!texts || texts.length === 0) return bad("'input' must be a string or a non-empty array of strings (token arrays are not supported offline)");
    if (!this.providers.embeddings) return bad('no embedding provider');
    const r = await this.providers.embeddings.embed(texts);
    const tokens = texts.reduce((n, t) => n + approxTokens(t), 0);
    const asBase64 = body.encoding_format === 'base64';
    return {
      status: 200,
      headers: JSON_HEADERS,
      json: {
        object: 'list',
        data: r.vectors.map((v, index) => ({ object: 'embedding', index, embedding: asBase64 ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v) })),
        model: r.model,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      },
    };
  }
}

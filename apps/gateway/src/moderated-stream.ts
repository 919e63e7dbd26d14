import type { Response } from 'express';
import type { ModerationProvider, PolicyInForce } from '@driftwatch/core';
import { REFUSAL, judge, type Verdict } from './serving-cache.js';
import { SseLines, chunkOf, stopUpstreamWhenClientLeaves, type ChatChunk } from './sse.js';
import type { UpstreamReply } from './upstream.js';

/** Where a released prefix may end: after a sentence's end (. ! ? … or a line break, closing quotes or brackets included) and the whitespace after it. */
const BOUNDARY = /[.!?…\n]["'”’)\]]*\s+/g;
const HAS_BOUNDARY = /[.!?…\n]["'”’)\]]*\s+/;
/** Longest a passed text may wait for the next judgement once the answer is long (judged prefixes otherwise grow by a fifth, see pump). */
const MAX_HOLD_CHARS = 400;

export interface ModeratedStream {
  /** The answer as the upstream sent it (all of it that was read). */
  text: string;
  usage: ChatChunk['usage'];
  /** The model the upstream named in its chunks. */
  model: string | null;
  /** The verdict that blocked the answer; null when it passed. */
  blocked: Verdict | null;
  /** Moderation score of the last judgement (the whole answer, or the prefix that was blocked). */
  score: number | null;
  /** Characters of the answer the client had received when it was blocked (0: it saw only the refusal). */
  released: number;
  /** The upstream stream broke or the client went away. */
  error: string | null;
}

/**
 * Streams a monitored model's answer to the client while it is being generated, under
 * its safety policy, in OpenAI's chunk format.
 *
 * The guarantee, the same as for a whole answer but for every prefix that is released:
 * - text is released only up to a sentence boundary, and only once the whole answer up to
 *   that boundary (not the new sentence alone) passed `judge` (blocked terms and the
 *   moderation threshold); the sentence being written is held back;
 * - when the upstream has finished, the whole answer is judged once more, exactly as the
 *   non-streamed path judges it, before the last text, finish_reason and [DONE] go out;
 * - when a judgement blocks, nothing more of the answer is sent: the stream ends with the
 *   refusal as content and finish_reason "content_filter", and the call is recorded as
 *   blocked. What was released before stays with the client (it passed when it was
 *   sent); a blocked term is never partly released, since a prefix ends after whitespace
 *   and a term is matched as whole words. A policy with a blocked term that itself holds
 *   a sentence boundary ("wait. what") turns early release off: the whole answer is judged
 *   first, as before.
 * Judgements run one at a time; text that arrives meanwhile waits for the next one, so a
 * slow moderation provider releases bigger pieces, not more calls. Once the answer is
 * long, a judgement waits until the text grew by a fifth (at most 400 characters), which
 * keeps the moderation work linear in the answer's length.
 * After a block the upstream is read to its end without forwarding (its usage is logged
 * and priced); a client that goes away stops the upstream.
 */
export async function streamModerated(
  res: Response,
  up: UpstreamReply,
  o: { policy: PolicyInForce; moderation: ModerationProvider | undefined; includeUsage: boolean; model: string },
): Promise<ModeratedStream> {
  const early = !o.policy.blocked_terms.some((t) => HAS_BOUNDARY.test(t.trim()));
  const out: ModeratedStream = { text: '', usage: null, model: null, blocked: null, score: null, released: 0, error: null };
  let meta: Record<string, unknown> | null = null;
  let finish: string | null = null;
  let judged = 0;
  let inFlight: Promise<void> | null = null;
  let closed = false;

  res.status(200).setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  res.flushHeaders();
  const upstream = up.stream as AsyncIterable<Uint8Array> & { destroy?: (e?: Error) => void };
  stopUpstreamWhenClientLeaves(res, upstream, () => {
    closed = true;
    out.error ??= 'the client closed the connection before the answer was complete';
  });
  const open = () => !closed && !res.writableEnded;
  const write = (s: string) => void (open() && res.write(s));
  const usageField = o.includeUsage ? { usage: null } : {};
  const send = (delta: Record<string, unknown>, finish_reason: string | null = null) =>
    write(`data: ${JSON.stringify({ ...meta, choices: [{ index: 0, delta, logprobs: null, finish_reason }], ...usageField })}\n\n`);
  const done = (finish_reason: string) => {
    send({}, finish_reason);
    if (o.includeUsage && out.usage) write(`data: ${JSON.stringify({ ...meta, choices: [], usage: out.usage })}\n\n`);
    if (open()) res.end('data: [DONE]\n\n');
  };
  const refuse = (v: Verdict) => {
    out.blocked = v;
    out.score = v.score;
    send({ content: (out.released ? '\n\n' : '') + REFUSAL });
    done('content_filter');
  };

  /** Starts the next judgement when a longer prefix can be released (see the guarantee above). */
  const pump = (): void => {
    if (!early || inFlight || out.blocked || !open()) return;
    BOUNDARY.lastIndex = out.released;
    let b = -1;
    for (let m = BOUNDARY.exec(out.text); m; m = BOUNDARY.exec(out.text)) b = m.index + m[0].length;
    if (b <= out.released || b - judged < Math.min(MAX_HOLD_CHARS, judged / 5)) return;
    inFlight = judge(out.text.slice(0, b), o.policy, o.moderation).then((v) => {
      inFlight = null;
      judged = b;
      if (v.blocked) return refuse(v);
      send({ content: out.text.slice(out.released, b) });
      out.released = b;
      pump();
    }, (e: Error) => {
      inFlight = null;
      out.error ??= `moderation failed: ${e.message}`;
      upstream.destroy?.();
    });
  };

  const read = (data: string) => {
    const c = chunkOf(data);
    if (!c) return;
    meta ??= { id: c.id ?? `chatcmpl-dw${Date.now().toString(36)}`, object: 'chat.completion.chunk', created: c.created ?? Math.floor(Date.now() / 1000), model: c.model ?? o.model, system_fingerprint: c.system_fingerprint ?? null };
    out.model ??= c.model ?? null;
    if (c.usage) out.usage = c.usage;
    const choice = c.choices?.[0];
    if (!choice) return;
    const { content, ...other } = choice.delta ?? {};
    if (typeof content === 'string') out.text += content;
    if (choice.finish_reason) finish = choice.finish_reason;
    // The role, tool calls and the like go out as they come (they are not text to moderate; the non-streamed path passes them too).
    if (Object.keys(other).length && !out.blocked) send(content === '' ? { ...other, content: '' } : other);
    pump();
  };

  const lines = new SseLines();
  try {
    for await (const bytes of upstream) for (const data of lines.push(bytes)) read(data);
    for (const data of lines.end()) read(data);
  } catch (e) {
    out.error ??= `upstream stream broke: ${(e as Error).message}`;
  }
  while (inFlight) await inFlight;
  if (out.error) {
    if (open()) res.end();
    return out;
  }
  if (!out.blocked) {
    const whole = await judge(out.text, o.policy, o.moderation);
    out.score = whole.score;
    if (whole.blocked) refuse(whole);
    else {
      if (out.text.length > out.released) send({ content: out.text.slice(out.released) });
      out.released = out.text.length;
      done(finish ?? 'stop');
    }
  }
  return out;
}

import type { Response } from 'express';

/**
 * Server-sent events as OpenAI streams them: `data: {json}` lines, `data: [DONE]` last.
 * Written here rather than taken from a library: the gateway needs only the data lines of
 * a stream it also forwards byte for byte, and reads them on the hot path.
 */
export class SseLines {
  private buf = '';
  private readonly decoder = new TextDecoder();

  /** The data payloads completed by these bytes (comments, event names and empty lines skipped). */
  push(bytes: Uint8Array): string[] {
    this.buf += this.decoder.decode(bytes, { stream: true });
    const out: string[] = [];
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const data = dataOf(this.buf.slice(0, nl));
      if (data !== null) out.push(data);
      this.buf = this.buf.slice(nl + 1);
    }
    return out;
  }

  /** What is left after the last newline (a stream that ends without one). */
  end(): string[] {
    const data = dataOf(this.buf + this.decoder.decode());
    this.buf = '';
    return data === null ? [] : [data];
  }
}

function dataOf(line: string): string | null {
  if (!line.startsWith('data:')) return null;
  const data = line.slice(5).trim();
  return data ? data : null;
}

/** One chunk of a streamed chat completion (the fields the gateway reads). */
export interface ChatChunk {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  system_fingerprint?: string | null;
  choices?: { index?: number; delta?: { role?: string; content?: string | null; [k: string]: unknown }; finish_reason?: string | null; logprobs?: unknown }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
}

/** A data payload as a chunk; null for [DONE] and for anything that is not JSON. */
export function chunkOf(data: string): ChatChunk | null {
  if (data === '[DONE]') return null;
  try {
    return JSON.parse(data) as ChatChunk;
  } catch {
    return null;
  }
}

/**
 * A client that goes away before its answer is complete stops the upstream (no tokens are
 * generated for nobody): calls gone(), then destroys the upstream stream.
 */
export function stopUpstreamWhenClientLeaves(res: Response, upstream: { destroy?: () => void }, gone: () => void): void {
  res.once('close', () => {
    if (res.writableFinished) return;
    gone();
    upstream.destroy?.();
  });
}

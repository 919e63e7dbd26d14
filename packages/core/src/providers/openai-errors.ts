import { APIConnectionError, APIError } from 'openai';
import { PermanentError, RateLimitedError } from '../errors.js';

/** Pause used when a 429 carries no retry-after header. */
export const DEFAULT_RATE_LIMIT_PAUSE_MS = 10_000;
/** A retry-after longer than this is capped (a paused queue should come back to check). */
export const MAX_RATE_LIMIT_PAUSE_MS = 10 * 60_000;

/** Reads `retry-after-ms` (milliseconds) or `retry-after` (seconds, or an HTTP date). */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | null {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const ra = headers?.get('retry-after');
  if (!ra) return null;
  if (Number.isFinite(Number(ra)) && Number(ra) >= 0) return Number(ra) * 1000;
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

const FIX: Record<number, string> = {
  400: 'the request was rejected as invalid; check the model name and the data sent',
  401: 'the API key was not accepted; check OPENAI_API_KEY',
  403: 'the API key may not use this model or endpoint; check the project and organisation of OPENAI_API_KEY',
  404: 'not found; check the model name in drift_config.yaml and OPENAI_BASE_URL',
  409: 'conflicts with the current state of the resource',
  422: 'the request could not be processed; check the data sent',
};

/**
 * The one translation of OpenAI SDK errors into Driftwatch's error classes
 * (packages/core/src/errors.ts), so the queue does the right thing:
 * - 429 with code insufficient_quota: PermanentError (no retry can help until billing is fixed);
 * - other 429: RateLimitedError with the server's retry-after(-ms), the queue pauses;
 * - 400, 401, 403, 404, 409, 422: PermanentError naming what to fix;
 * - 5xx, connection errors and timeouts: a plain Error, retried with backoff.
 * Anything that is not an SDK error is returned unchanged.
 */
export function mapOpenAIError(e: unknown, what: string): Error {
  if (!(e instanceof APIError)) return e instanceof Error ? e : new Error(String(e));
  if (e instanceof APIConnectionError) return new Error(`OpenAI ${what}: ${e.message} (connection failed or timed out; will retry). Check OPENAI_BASE_URL if it persists`);
  const status = e.status;
  const detail = e.message;
  if (status === 429) {
    if (e.code === 'insufficient_quota') {
      return new PermanentError(`OpenAI ${what}: ${detail} (quota exhausted; check the plan and billing of the account of OPENAI_API_KEY)`);
    }
    const ms = retryAfterMs(e.headers) ?? DEFAULT_RATE_LIMIT_PAUSE_MS;
    return new RateLimitedError(`OpenAI ${what}: ${detail}`, Math.min(MAX_RATE_LIMIT_PAUSE_MS, Math.max(1, Math.ceil(ms))));
  }
  if (status !== undefined && FIX[status]) return new PermanentError(`OpenAI ${what}: ${detail} (${FIX[status]})`);
  return new Error(`OpenAI ${what}: ${detail}${status !== undefined && status >= 500 ? ' (server error; will retry)' : ''}`);
}

/** Runs one SDK call and maps its failure. */
export async function callOpenAI<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw mapOpenAIError(e, what);
  }
}

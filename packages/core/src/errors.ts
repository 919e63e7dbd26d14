/**
 * One small error class per meaning. The processor wrapper (queues/worker.ts) maps
 * them to BullMQ once, so processors and providers only say what happened.
 */

/** Retrying cannot help: invalid data, a rejected request, an exhausted quota. Fails the job at once. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

/** The provider asked us to slow down: the queue pauses for retryAfterMs without using up an attempt. */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** Something outside is still working (a fine-tune): check again after delayMs without holding a worker slot. */
export class WaitForExternalError extends Error {
  override name = 'WaitForExternalError';
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

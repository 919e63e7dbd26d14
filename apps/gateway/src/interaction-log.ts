import type { Logger } from 'pino';
import { gatewayLogDroppedTotal, gatewayLogFailuresTotal, type Queryable } from '@driftwatch/core';

/** One gateway call, as stored in interaction_log (source 'gateway'). */
export interface GatewayInteraction {
  id: number | null;
  model: string;
  model_version: string | null;
  query: string;
  response: string;
  error: string | null;
  latency_ms: number;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cost_usd: number | null;
  toxic: boolean | null;
  toxicity_score: number | null;
  blocked: boolean;
}

export interface InteractionLogOptions {
  /** Rows per INSERT. Default 200. */
  batchSize?: number;
  /** Longest a row waits before its batch is written. Default 25 ms. */
  flushMs?: number;
  /** Ids reserved from the sequence at a time (the response header needs the id before the row exists). Default 500. */
  idBlock?: number;
  /** Attempts of one batch before its rows are given up on (written in full to the process log). Default 8. */
  attempts?: number;
  /** First retry delay, doubled each attempt up to 10 s. Default 200 ms. */
  retryMs?: number;
  /** Rows kept waiting at most; beyond, the oldest are given up on (logged in full). Default 100000. */
  maxPending?: number;
  /**
   * Called with the ids of each written batch (the scheduler queues their query embeddings,
   * see enqueueEmbeddings). A failure is only logged: rows stay embed_state 'pending' and
   * the scheduler's sweep queues them again.
   */
  onWritten?: (ids: number[]) => Promise<unknown>;
}

const COLS = ['id', 'model', 'model_version', 'query', 'response', 'error', 'latency_ms', 'prompt_tokens', 'completion_tokens', 'cost_usd', 'toxic', 'toxicity_score', 'blocked', 'source', 'embed_state'] as const;

/**
 * Writes gateway interactions off the request path: rows are batched into multi-row
 * INSERTs; a failed batch is retried with backoff, every failed attempt counted in
 * driftwatch_gateway_log_failures_total; a batch that fails every attempt is written
 * to the process log row by row and counted in driftwatch_gateway_log_dropped_total,
 * never dropped silently. Ids come from interaction_log's own sequence, reserved in
 * blocks, so the response can carry x-driftwatch-interaction-id at once.
 */
export class InteractionLog {
  private pending: GatewayInteraction[] = [];
  private ids: number[] = [];
  private refilling: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = new Set<Promise<void>>();
  private closed = false;
  private readonly o: Required<InteractionLogOptions>;

  constructor(
    private readonly db: Queryable,
    private readonly logger: Pick<Logger, 'warn' | 'error'>,
    o: InteractionLogOptions = {},
  ) {
    const given = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    this.o = { batchSize: 200, flushMs: 25, idBlock: 500, attempts: 8, retryMs: 200, maxPending: 100_000, onWritten: async () => {}, ...given };
  }

  /** Reserves the first block of ids (call before serving, so the first calls carry one). */
  async start(): Promise<void> {
    await this.refill().catch((e) => this.logger.warn({ err: (e as Error).message }, 'gateway: could not reserve interaction ids; calls go on without the header until the database answers'));
  }

  private refill(): Promise<void> {
    this.refilling ??= (async () => {
      try {
        const r = await this.db.query<{ id: string | number }>(`SELECT nextval(pg_get_serial_sequence('interaction_log', 'id')) AS id FROM generate_series(1, $1::int)`, [this.o.idBlock]);
        this.ids.push(...r.rows.map((x) => Number(x.id)));
      } finally {
        this.refilling = null;
      }
    })();
    return this.refilling;
  }

  /**
   * An id for the next interaction. Normally taken from the reserved block at once;
   * when the block is empty (the first call, or the database was away) it waits for a
   * new block (at most 250 ms); null when the database cannot give one in time (the row then
   * gets its id on insert and the response goes without the header).
   */
  async takeId(): Promise<number | null> {
    // At most 250 ms: a database that does not answer must not hold the call.
    if (this.ids.length === 0 && !this.closed) await Promise.race([this.refill().catch(() => {}), new Promise((r) => setTimeout(r, 250).unref())]);
    const id = this.ids.shift() ?? null;
    if (this.ids.length < this.o.idBlock / 4 && !this.refilling && !this.closed) this.refill().catch(() => {});
    return id;
  }

  add(row: GatewayInteraction): void {
    this.pending.push(row);
    if (this.pending.length > this.o.maxPending) this.giveUp(this.pending.splice(0, this.pending.length - this.o.maxPending), new Error('too many rows waiting for the database'));
    if (this.pending.length >= this.o.batchSize) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.o.flushMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.pending.length) {
      const batch = this.pending.splice(0, this.o.batchSize);
      const p = this.write(batch).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  private async write(batch: GatewayInteraction[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const ids = await this.insert(batch);
        Promise.resolve()
          .then(() => this.o.onWritten(ids))
          .catch((e: Error) => this.logger.warn({ err: e.message }, 'gateway: could not queue query embeddings; the pending sweep will'));
        return;
      } catch (e) {
        gatewayLogFailuresTotal.inc();
        if (attempt >= this.o.attempts) return this.giveUp(batch, e as Error);
        this.logger.warn({ err: (e as Error).message, rows: batch.length, attempt }, 'gateway: writing interactions failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(10_000, this.o.retryMs * 2 ** (attempt - 1))).unref?.());
      }
    }
  }

  /** Inserts a batch; returns the ids written. The query embedding is left to the embed queue (embed_state 'pending'). */
  private async insert(batch: GatewayInteraction[]): Promise<number[]> {
    const out: number[] = [];
    const withId = batch.filter((r) => r.id !== null);
    const without = batch.filter((r) => r.id === null);
    for (const [rows, cols] of [
      [withId, COLS],
      [without, COLS.slice(1)],
    ] as const) {
      if (!rows.length) continue;
      const params: unknown[] = [];
      const values = rows.map((r) => {
        const v = cols.map((c) => (c === 'source' ? 'gateway' : c === 'embed_state' ? 'pending' : r[c as keyof GatewayInteraction]));
        const start = params.length;
        params.push(...v);
        return `(${v.map((_, i) => `$${start + i + 1}`).join(', ')})`;
      });
      // ON CONFLICT: a retried batch whose first attempt did commit is not written twice.
      const r = await this.db.query<{ id: string | number }>(
        `INSERT INTO interaction_log (${cols.join(', ')}) VALUES ${values.join(', ')}${cols[0] === 'id' ? ' ON CONFLICT (id) DO NOTHING' : ''} RETURNING id`,
        params,
      );
      out.push(...r.rows.map((x) => Number(x.id)));
    }
    return out;
  }

  private giveUp(rows: GatewayInteraction[], e: Error): void {
    gatewayLogDroppedTotal.inc(rows.length);
    for (const row of rows) this.logger.error({ err: e.message, interaction: row }, 'gateway: interaction could not be written to the database after every retry; it is in this log line');
  }

  /** Rows waiting or being written. */
  get backlog(): number {
    return this.pending.length + this.inFlight.size;
  }

  /** Writes what is waiting (retries included) and stops. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Resolves once everything added so far is written (or given up on). */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}

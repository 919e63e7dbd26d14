import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  IngestError,
  PermanentError,
  applyHeldFeedback,
  createScrubber,
  decodeOtlpTraces,
  spansToEvents,
  enqueueEmbeddings,
  EVENT_TYPES,
  expireHeldFeedback,
  ingestBacklog as readBacklog,
  ingestBatch,
  ingestBacklogGauge,
  ingestEventsTotal,
  onScrape,
  ingestEmbeddings,
  ingestEvaluations,
  ingestInteractions,
  requeuePendingEmbeddings,
  type AppContext,
  type BatchOptions,
} from '@driftwatch/core';
import { requireScope, type Principal } from './auth.js';
import { openApiDocument } from './openapi.js';

/** An OTLP ExportTraceServiceResponse in protobuf: partial_success { rejected_spans, error_message } (empty when all were accepted). */
function otlpProtoResponse(rejected: number, message: string): Buffer {
  if (!rejected) return Buffer.alloc(0);
  const varint = (n: number) => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n = Math.floor(n / 128);
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  };
  const msg = Buffer.from(message);
  const inner = Buffer.from([0x08, ...varint(rejected), 0x12, ...varint(msg.length), ...msg]);
  return Buffer.from([0x0a, ...varint(inner.length), ...inner]);
}

const mb = (n: number) => (n >= 1024 * 1024 ? `${+(n / 1024 / 1024).toFixed(2)} MB` : `${n} bytes`);

/** Per-key fixed-window rate limit, counted in Redis so every scheduler replica shares it. */
function rateLimit(ctx: AppContext) {
  const { rate_limit: limit, rate_limit_window_ms: windowMs } = ctx.config.ingest;
  const redis = ctx.queues.connection;
  return (req: Request, res: Response, next: NextFunction) => {
    const p = res.locals.principal as Principal | undefined;
    const who = p ? (p.key_id !== null ? `key${p.key_id}` : p.name) : `ip:${req.ip}`;
    const now = Date.now();
    const slot = Math.floor(now / windowMs);
    const key = `${ctx.queues.prefix}:ingest-rate:${who}:${slot}`;
    redis
      .multi()
      .incr(key)
      .pexpire(key, windowMs * 2)
      .exec()
      .then((r) => {
        const n = Number(r?.[0]?.[1] ?? 0);
        res.setHeader('x-ratelimit-limit', String(limit));
        res.setHeader('x-ratelimit-remaining', String(Math.max(0, limit - n)));
        if (n > limit) {
          const retry = Math.max(1, Math.ceil(((slot + 1) * windowMs - now) / 1000));
          res.setHeader('retry-after', String(retry));
          res.status(429).json({ error: `rate limit: at most ${limit} requests per ${windowMs / 1000} s for ${p ? `key "${p.name}"` : 'this client'} (ingest.rate_limit); retry after ${retry} s` });
          return;
        }
        next();
      })
      // Redis unavailable: ingestion goes on (the database is what stores it), unlimited meanwhile.
      .catch(() => next());
  };
}

/**
 * The ingest API: POST /v1/ingest (batches of events, per-event 207 results, idempotent
 * by event id), the shortcuts /v1/interactions, /v1/embeddings, /v1/evaluations,
 * POST /v1/feedback, GET /v1/interactions/:id (admin) and GET /v1/ingest/status.
 * Authentication and the rate limit run before the body is read; the body limit is
 * ingest.body_limit_bytes. Every error is a 4xx with the field to fix, never a 5xx,
 * unless the database itself fails (503, retry with the same ids).
 */
export function ingestRouter(ctx: AppContext): express.Router {
  const cfg = ctx.config.ingest;
  const router = express.Router();
  const scrub = createScrubber(ctx.config.privacy);
  const ingestAuth = requireScope(ctx, 'ingest');
  const adminAuth = requireScope(ctx, 'admin');
  const limited = rateLimit(ctx);
  const body = express.json({ limit: cfg.body_limit_bytes, strict: false });
  const pre = [ingestAuth, limited, body];
  const batchOpts = (): BatchOptions => ({
    scrub,
    now: ctx.clock.now(),
    chunkRows: cfg.chunk_rows,
    computeEmbeddings: cfg.compute_embeddings,
    feedbackHoldMs: cfg.feedback_hold_hours * 3_600_000,
    feedbackHoldMax: cfg.feedback_hold_max,
    onStorageError: (err) => ctx.logger.error({ err: (err as Error).message }, 'ingest: storage failed'),
  });
  const count = (events: unknown[], out: { successes: { id: string; status: number }[]; errors: { id: string | null; status: number }[] }) => {
    const typeOf = new Map<string, string>();
    for (const e of events) {
      const ev = e as { id?: unknown; type?: unknown };
      if (ev && typeof ev.id === 'string' && typeof ev.type === 'string') typeOf.set(ev.id, ev.type);
    }
    const label = (id: string | null) => {
      const t = id === null ? undefined : typeOf.get(id);
      return t && (EVENT_TYPES as readonly string[]).includes(t) ? t : 'unknown';
    };
    for (const s of out.successes) ingestEventsTotal.inc({ type: label(s.id), status: String(s.status) });
    for (const e of out.errors) ingestEventsTotal.inc({ type: label(e.id), status: String(e.status) });
  };
  // The backlog as gauges, read from the database when /metrics is scraped.
  onScrape(async () => {
    const b = await readBacklog(ctx.db);
    ingestBacklogGauge.set({ kind: 'embeddings_pending' }, b.embeddings_pending);
    ingestBacklogGauge.set({ kind: 'embeddings_failed' }, b.embeddings_failed);
    ingestBacklogGauge.set({ kind: 'feedback_held' }, b.feedback_held);
    ingestBacklogGauge.set({ kind: 'feedback_expired' }, b.feedback_expired);
  });
  const queueEmbeddings = (ids: number[]) => {
    if (!ids.length) return;
    // Never on the request path's critical section: a Redis outage leaves the rows pending; the sweep queues them later.
    enqueueEmbeddings(ctx.queues, ids, cfg.embed_batch).catch((err) => ctx.logger.warn({ err: (err as Error).message }, 'ingest: embed jobs not queued; the sweep retries'));
  };

  // Held feedback that expired, feedback whose interaction arrived meanwhile, embed jobs lost to an outage.
  const sweep = setInterval(() => {
    (async () => {
      await applyHeldFeedback(ctx.db);
      await expireHeldFeedback(ctx.db, ctx.clock.now());
      if (cfg.compute_embeddings) await requeuePendingEmbeddings(ctx.db, ctx.queues, cfg.embed_batch);
    })().catch(() => {});
  }, 60_000);
  sweep.unref();

  router.post('/v1/ingest', ...pre, async (req, res) => {
    const b = req.body as { batch?: unknown } | undefined;
    if (!b || typeof b !== 'object' || Array.isArray(b) || !Array.isArray(b.batch)) {
      res.status(400).json({ error: 'body: expected {"batch": [{"id", "type", "timestamp"?, "body"}, ...]} with Content-Type: application/json' });
      return;
    }
    const extra = Object.keys(b).filter((k) => k !== 'batch' && k !== 'metadata');
    if (extra.length) {
      res.status(400).json({ error: `body.${extra[0]}: unknown field; the body is {"batch": [...]}` });
      return;
    }
    if (b.batch.length > cfg.max_batch) {
      res.status(413).json({ error: `batch: ${b.batch.length} events; at most ${cfg.max_batch} per request (ingest.max_batch); split it` });
      return;
    }
    const out = await ingestBatch(ctx.db, b.batch, batchOpts());
    count(b.batch, out);
    queueEmbeddings(out.pendingEmbeddings);
    res.status(207).json({ successes: out.successes, errors: out.errors });
  });

  // Shortcuts: one item or an array, all or nothing, 201 {ids}. Not idempotent: use /v1/ingest to retry safely.
  const shortcut = (run: (items: never[]) => Promise<number[]>, embeds = false) => async (req: Request, res: Response) => {
    const list = Array.isArray(req.body) ? req.body : [req.body];
    if (req.body === undefined || list.length === 0 || list.some((x) => x === null || typeof x !== 'object' || Array.isArray(x))) {
      throw new PermanentError('body: send one JSON object or a non-empty array of objects, with Content-Type: application/json');
    }
    if (list.length > cfg.max_batch) {
      res.status(413).json({ error: `body: ${list.length} items; at most ${cfg.max_batch} per request (ingest.max_batch); split it` });
      return;
    }
    let ids: number[];
    try {
      ids = await run(list as never[]);
    } catch (e) {
      if (e instanceof IngestError && !Array.isArray(req.body)) throw new PermanentError(`${e.field || '(body)'}: ${e.problem}`);
      throw e;
    }
    if (embeds && cfg.compute_embeddings) queueEmbeddings(ids.filter((_, k) => !(list[k] as { embedding?: unknown }).embedding));
    res.status(201).json({ ids });
  };
  const so = { scrub, computeEmbeddings: cfg.compute_embeddings, chunkRows: cfg.chunk_rows };
  router.post('/v1/interactions', ...pre, shortcut((items) => ingestInteractions(ctx.db, items, so), true));
  router.post('/v1/embeddings', ...pre, shortcut((items) => ingestEmbeddings(ctx.db, items, so)));
  router.post('/v1/evaluations', ...pre, shortcut((items) => ingestEvaluations(ctx.db, items, so)));

  router.post('/v1/feedback', ...pre, async (req, res) => {
    const b = req.body as Record<string, unknown> | undefined;
    if (!b || typeof b !== 'object' || Array.isArray(b)) throw new PermanentError('body: expected {"interaction_id", "score"?, "task_success"?, "id"?}');
    const { id, ...fb } = b;
    if (id !== undefined && (typeof id !== 'string' || !id || id.length > 128)) throw new PermanentError('id: expected a string of 1 to 128 characters (your id for this feedback, so a retry is harmless)');
    const event = { id: (id as string | undefined) ?? `feedback-${randomUUID()}`, type: 'feedback', body: fb };
    const out = await ingestBatch(ctx.db, [event], batchOpts());
    count([event], out);
    const e = out.errors[0];
    if (e) {
      res.status(e.status).json({ error: e.message.replace(/^batch\[0\]\.(body\.)?/, '') });
      return;
    }
    const s = out.successes[0];
    if (s.held) res.status(202).json({ status: 'held', id: s.id, message: `interaction ${String(fb.interaction_id)} is not stored yet; the feedback is applied when it arrives (held ${cfg.feedback_hold_hours} h)` });
    else res.status(200).json({ status: s.duplicate ? 'duplicate' : 'applied', id: s.id, interaction_id: s.row_id ?? null });
  });

  router.get('/v1/interactions/:id', adminAuth, async (req, res) => {
    const ref = String(req.params.id);
    const numeric = /^\d{1,15}$/.test(ref);
    const { rows } = await ctx.db.query<Record<string, unknown>>(
      `SELECT id, event_id, model, model_version, ts, query, response, error, latency_ms, prompt_tokens, completion_tokens, cost_usd,
              feedback_score, task_success, feedback_at, toxic, toxicity_score, embed_state, embed_error
         FROM interaction_log WHERE event_id = $1 ${numeric ? 'OR id = $1::bigint' : ''} ORDER BY (event_id = $1) DESC LIMIT 1`,
      [ref],
    );
    const row = rows[0];
    if (!row) {
      res.status(404).json({ error: `no interaction with id or event id "${ref}"` });
      return;
    }
    const emb = await ctx.db.query<{ id: number; dim: number; model: string }>(`SELECT id, dim, model FROM embeddings_log WHERE interaction_id = $1 ORDER BY id`, [row.id]);
    const held = await ctx.db.query(
      `SELECT event_id, score, task_success, state, received_at, expires_at, resolved_at FROM held_feedback WHERE interaction_id = $1 OR interaction_ref = $2 OR interaction_ref = $3 ORDER BY received_at`,
      [row.id, String(row.id), row.event_id ?? String(row.id)],
    );
    const { embed_state, embed_error, feedback_score, task_success, feedback_at, ...interaction } = row;
    res.json({
      interaction,
      feedback: { score: feedback_score, task_success, updated_at: feedback_at, events: held.rows },
      embedding: { state: emb.rows.length ? 'stored' : (embed_state ?? 'none'), error: embed_error, rows: emb.rows },
    });
  });

  router.get('/v1/ingest/status', ingestAuth, async (_req, res) => {
    const backlog = await readBacklog(ctx.db);
    let queue: Record<string, number> | null = null;
    try {
      queue = await ctx.queues.get('embed').getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
    } catch {
      queue = null;
    }
    res.json({ ...backlog, embed_queue: queue, compute_embeddings: cfg.compute_embeddings });
  });

  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });

  // OTLP/HTTP traces (JSON or protobuf): GenAI spans become interactions (see core ingest/otel.ts).
  const otlpJson = express.json({ limit: cfg.body_limit_bytes, type: ['application/json'] });
  const otlpProto = express.raw({ limit: cfg.body_limit_bytes, type: ['application/x-protobuf', 'application/protobuf'] });
  router.post('/v1/otel/v1/traces', ingestAuth, limited, otlpJson, otlpProto, async (req, res) => {
    const proto = Buffer.isBuffer(req.body);
    let traces;
    try {
      traces = proto ? decodeOtlpTraces(req.body as Buffer) : req.body;
    } catch (e) {
      res.status(400).json({ error: `body is not an OTLP ExportTraceServiceRequest: ${(e as Error).message}` });
      return;
    }
    if (!traces || typeof traces !== 'object' || Array.isArray(traces)) {
      res.status(proto ? 400 : 415).json({ error: 'send OTLP/HTTP traces: Content-Type application/json or application/x-protobuf' });
      return;
    }
    const model = (typeof req.query.model === 'string' && req.query.model) || req.get('x-driftwatch-model') || undefined;
    let conv;
    try {
      conv = spansToEvents(traces, { model });
    } catch (e) {
      res.status(400).json({ error: `body is not OTLP traces: ${(e as Error).message}` });
      return;
    }
    const out = await ingestBatch(ctx.db, conv.events, batchOpts());
    count(conv.events, out);
    queueEmbeddings(out.pendingEmbeddings);
    const problems = [...conv.rejected.map((r) => `span ${r.span}: ${r.message}`), ...out.errors.map((e) => `${e.id}: ${e.message}`)];
    const message = problems.slice(0, 5).join('; ');
    if (proto) {
      res.status(200).type('application/x-protobuf').send(otlpProtoResponse(problems.length, message));
      return;
    }
    res.status(200).json(problems.length ? { partialSuccess: { rejectedSpans: problems.length, errorMessage: message } } : {});
  });

  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const e = err as { type?: string; status?: number; message?: string; limit?: number };
    if (e.type === 'entity.too.large') res.status(413).json({ error: `request body is larger than the limit of ${mb(cfg.body_limit_bytes)} (ingest.body_limit_bytes); send smaller batches` });
    else if (e.type === 'entity.parse.failed') res.status(400).json({ error: `body is not valid JSON: ${e.message}` });
    else if (err instanceof PermanentError) res.status(400).json({ error: err.message });
    else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) res.status(e.status).json({ error: e.message ?? 'bad request' });
    else {
      ctx.logger.error({ err: e.message, path: req.path }, 'ingest: request failed');
      res.status(503).json({ error: 'ingest is unavailable (the database failed); nothing of this request was stored unless reported otherwise; retry' });
    }
  });
  return router;
}

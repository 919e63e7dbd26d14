import express, { type NextFunction, type Request, type Response } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { ZodError } from 'zod';
import {
  PermanentError,
  DecisionNotFoundError,
  approveDecision,
  keyPath,
  listDecisions,
  listDriftRuns,
  readyWithin,
  rejectDecision,
  type AppContext,
  type DecisionState,
} from '@driftwatch/core';
import { ingestRouter } from './ingest.js';
import { requireScope } from './auth.js';
import { servingRouter } from './serving.js';
import { runsRouter } from './runs.js';
import { createGateway } from '@driftwatch/gateway';

/**
 * The scheduler's HTTP API: ingest (interactions, embeddings, evaluations), decisions
 * and approvals, Bull Board at /admin/queues, /healthz and /readyz.
 */
export function createHttpApp(ctx: AppContext, opts: { ready: () => Promise<boolean> }) {
  const app = express();
  // API keys (ingest|admin) and DRIFTWATCH_ADMIN_TOKEN (admin). Bull Board takes any admin credential,
  // and answers a missing one with a basic-auth challenge so a browser asks for it (the key as password).
  const admin = requireScope(ctx, 'admin');
  const ingestAuth = requireScope(ctx, 'ingest');
  const boardAuth = requireScope(ctx, 'admin', { challenge: 'Basic' });
  // Routers that authenticate before reading a body come before the global body parser.
  app.use(servingRouter(ctx));
  app.use(runsRouter(ctx));
  // The OpenAI-compatible gateway (apps/gateway); app.locals.gateway.close() writes its waiting interactions.
  const gateway = createGateway(ctx, { auth: ingestAuth, queues: ctx.queues });
  app.locals.gateway = gateway;
  app.use('/openai/v1', gateway.router);
  app.use(ingestRouter(ctx));
  // No body parser for the whole app: each route parses its body after authenticating (an
  // unauthenticated request never makes the server read a body).
  const json = express.json({ limit: '100kb' });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ok = await readyWithin(opts.ready);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready' });
  });

  app.get('/v1/runs', admin, async (req, res) => {
    const limit = Math.min(500, Math.max(1, Number(req.query.limit ?? 50) || 50));
    const rows = await listDriftRuns(ctx.db, { limit, model: req.query.model as string | undefined });
    res.json({ runs: rows });
  });
  app.get('/v1/decisions', admin, async (req, res) => {
    const limit = Math.min(500, Math.max(1, Number(req.query.limit ?? 50) || 50));
    const rows = await listDecisions(ctx.db, { limit, state: req.query.state as DecisionState | undefined, model: req.query.model as string | undefined });
    res.json({ decisions: rows });
  });
  const decide = (verb: 'approve' | 'reject') => async (req: Request, res: Response) => {
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || id <= 0) throw new PermanentError(`id: expected a positive integer decision id, got "${req.params.id}"`);
    // Who: the body's "by", else the basic-auth user name, else "api".
    const by = typeof req.body?.by === 'string' && req.body.by.trim() ? req.body.by.trim() : typeof res.locals.user === 'string' && res.locals.user ? res.locals.user : 'api';
    const row = verb === 'approve' ? await approveDecision(ctx.db, ctx.queues, id, by) : await rejectDecision(ctx.db, id, by);
    res.json({ decision: row });
  };
  app.post('/v1/decisions/:id/approve', admin, json, decide('approve'));
  app.post('/v1/decisions/:id/reject', admin, json, decide('reject'));

  // Built at the first authenticated visit: an admin key may be created after start, and a process nobody opens the board on pays nothing.
  let board: express.Handler | null = null;
  const boardRouter = (): express.Handler => {
    if (!board) {
      const adapter = new ExpressAdapter();
      adapter.setBasePath('/admin/queues');
      createBullBoard({ queues: ctx.queues.all().map((q) => new BullMQAdapter(q)), serverAdapter: adapter });
      board = adapter.getRouter() as express.Handler;
    }
    return board;
  };
  app.use('/admin/queues', boardAuth, (req, res, next) => boardRouter()(req, res, next));

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof DecisionNotFoundError) res.status(404).json({ error: err.message });
    else if (err instanceof PermanentError) res.status(err.name === 'DecisionStateError' ? 409 : 400).json({ error: err.message });
    else if (err instanceof ZodError) res.status(400).json({ error: err.issues.map((i) => `${keyPath(i.path)}: ${i.message}`).join('; ') });
    else if ((err as { type?: string }).type === 'entity.parse.failed') res.status(400).json({ error: 'body is not valid JSON' });
    else if ((err as { type?: string }).type === 'entity.too.large') res.status(413).json({ error: `request body is larger than this route's limit of ${(err as { limit?: number }).limit ?? '?'} bytes` });
    else if (typeof (err as { status?: unknown }).status === 'number' && (err as { status: number }).status >= 400 && (err as { status: number }).status < 500) {
      res.status((err as { status: number }).status).json({ error: (err as Error).message });
    } else {
      ctx.logger.error({ err: (err as Error).message }, 'http error');
      res.status(500).json({ error: 'internal error; see the scheduler log' });
    }
  });
  return app;
}

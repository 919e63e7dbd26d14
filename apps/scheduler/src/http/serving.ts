import express, { type NextFunction, type Request, type Response } from 'express';
import {
  KEY_SCOPES,
  PermanentError,
  RollbackConflictError,
  createApiKey,
  getPolicyInForce,
  getServingState,
  listApiKeys,
  notifyRollback,
  revokeApiKey,
  rollbackModel,
  rollbackPolicy,
  type AppContext,
  type KeyScope,
} from '@driftwatch/core';
import { authenticatorFor, requireScope } from './auth.js';

/** The base model of a monitored model: its config entry, else what its versions were trained from. */
export function baseModelOf(ctx: Pick<AppContext, 'config'>, model: string): string | null {
  return ctx.config.models.find((m) => m.name === model)?.base_model ?? null;
}

/** Who asked: the body's `by`, else the basic-auth user or key name, else 'api'. */
function whoOf(req: Request, res: Response): string {
  const by = (req.body as { by?: unknown } | undefined)?.by;
  if (typeof by === 'string' && by.trim()) return by.trim();
  return typeof res.locals.user === 'string' && res.locals.user ? res.locals.user : 'api';
}

const reasonOf = (req: Request, fallback: string) => {
  const r = (req.body as { reason?: unknown } | undefined)?.reason;
  return typeof r === 'string' && r.trim() ? r.trim() : fallback;
};

/**
 * Serving state and keys:
 * - GET  /v1/models, /v1/models/:name, /v1/models/:name/policy        (ingest)
 * - POST /v1/models/:name/rollback {to?, by?, reason?}                (admin)
 * - POST /v1/models/:name/policy/rollback {by?, reason?}              (admin)
 * - POST /v1/keys {name, scope}, GET /v1/keys, POST /v1/keys/:id/revoke (admin)
 * Authentication runs before the body is parsed. Rollback conflicts are 409.
 */
export function servingRouter(ctx: AppContext): express.Router {
  const r = express.Router();
  const ingest = requireScope(ctx, 'ingest');
  const admin = requireScope(ctx, 'admin');
  const json = express.json({ limit: '100kb' });

  const known = async (name: string): Promise<string> => {
    const base = baseModelOf(ctx, name);
    if (base) return base;
    const v = await ctx.db.query<{ base_model: string | null }>('SELECT base_model FROM model_versions WHERE model = $1 ORDER BY id DESC LIMIT 1', [name]);
    if (!v.rows[0]) throw new NotFound(`no monitored model "${name}" (configured: ${ctx.config.models.map((m) => m.name).join(', ')})`);
    return v.rows[0].base_model ?? 'unknown';
  };

  r.get('/v1/models', ingest, async (_req, res) => {
    const models = await Promise.all(ctx.config.models.map((m) => getServingState(ctx.db, m.name, m.base_model)));
    res.json({ models });
  });
  r.get('/v1/models/:name', ingest, async (req, res) => {
    const name = String(req.params.name);
    res.json(await getServingState(ctx.db, name, await known(name)));
  });
  r.get('/v1/models/:name/policy', ingest, async (req, res) => {
    const name = String(req.params.name);
    await known(name);
    res.json(await getPolicyInForce(ctx.db, name));
  });
  r.post('/v1/models/:name/rollback', admin, json, async (req, res) => {
    const name = String(req.params.name);
    const base = await known(name);
    const to = (req.body as { to?: unknown } | undefined)?.to;
    if (to !== undefined && (typeof to !== 'string' || !to.trim())) throw new PermanentError('to: expected a version name (v1, v2, ...) or "base"');
    const by = whoOf(req, res);
    const reason = reasonOf(req, 'manual rollback (API)');
    const out = await rollbackModel(ctx.db, { model: name, to: to as string | undefined, by, reason, base_model: base });
    res.json(out);
    notifyRollback(ctx, { model: name, kind: 'model', from: out.from.version ?? 'base', to: out.to.version ?? 'base', by, reason, decision_id: Number(out.decision.id) }).catch(() => {});
  });
  r.post('/v1/models/:name/policy/rollback', admin, json, async (req, res) => {
    const name = String(req.params.name);
    await known(name);
    const by = whoOf(req, res);
    const reason = reasonOf(req, 'manual policy rollback (API)');
    const out = await rollbackPolicy(ctx.db, { model: name, by, reason });
    res.json(out);
    notifyRollback(ctx, { model: name, kind: 'policy', from: `v${out.from.version}`, to: `v${out.to.version}`, by, reason, decision_id: Number(out.decision.id) }).catch(() => {});
  });

  r.post('/v1/keys', admin, json, async (req, res) => {
    const b = (req.body ?? {}) as { name?: unknown; scope?: unknown };
    if (typeof b.name !== 'string' || !b.name.trim()) throw new PermanentError('name: expected a non-empty string');
    if (!KEY_SCOPES.includes(b.scope as KeyScope)) throw new PermanentError(`scope: expected one of ${KEY_SCOPES.join(', ')}`);
    const { row, key } = await createApiKey(ctx.db, { name: b.name, scope: b.scope as KeyScope, created_by: whoOf(req, res) });
    authenticatorFor(ctx).invalidate();
    res.status(201).json({ id: Number(row.id), key, name: row.name, scope: row.scope });
  });
  r.get('/v1/keys', admin, async (_req, res) => {
    res.json({ keys: await listApiKeys(ctx.db) });
  });
  r.post('/v1/keys/:id/revoke', admin, async (req, res) => {
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || id <= 0) throw new PermanentError(`id: expected a positive integer key id, got "${req.params.id}"`);
    const row = await revokeApiKey(ctx.db, id);
    if (!row) throw new NotFound(`no API key ${id}; list them with GET /v1/keys`);
    authenticatorFor(ctx).invalidate();
    res.json({ key: row });
  });

  r.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (err instanceof NotFound) res.status(404).json({ error: err.message });
    else if (err instanceof RollbackConflictError) res.status(409).json({ error: err.message });
    else if (err instanceof PermanentError) res.status(400).json({ error: err.message });
    else if ((err as { type?: string }).type === 'entity.parse.failed') res.status(400).json({ error: 'body is not valid JSON' });
    else next(err);
  });
  return r;
}

class NotFound extends Error {}

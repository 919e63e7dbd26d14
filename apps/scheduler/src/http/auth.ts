import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { PermanentError, findApiKey, hasLiveApiKey, touchApiKey, type AppContext, type KeyScope, type Queryable } from '@driftwatch/core';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Who a request is: an API key (by id and name) or the admin token. */
export interface Principal {
  scope: KeyScope;
  /** The key's name, the basic-auth user name, or 'admin-token'. */
  name: string;
  key_id: number | null;
}

/** The secret of `Authorization: Bearer S` or of basic auth (any user, S as password). */
function credentialOf(req: Request): { secret: string; user?: string } | null {
  const h = req.headers.authorization ?? '';
  if (/^bearer /i.test(h)) return { secret: h.slice(7).trim() };
  if (/^basic /i.test(h)) {
    const decoded = Buffer.from(h.slice(6), 'base64').toString();
    const colon = decoded.indexOf(':');
    return { secret: decoded.slice(colon + 1), user: colon > 0 ? decoded.slice(0, colon) : undefined };
  }
  return null;
}

/** Gateway routes answer in OpenAI's error shape (the client SDKs read it); the rest as {error: string}. */
function denyWith(req: Request, res: Response, status: number, message: string, code: string, challenge: 'Bearer' | 'Basic' = 'Bearer'): void {
  if (status === 401) res.setHeader('WWW-Authenticate', challenge === 'Basic' ? 'Basic realm="driftwatch", charset="UTF-8"' : 'Bearer realm="driftwatch"');
  const openai = (req.baseUrl + req.path).startsWith('/openai/');
  res.status(status).json(openai ? { error: { message, type: 'invalid_request_error', param: null, code } } : { error: message });
}

const HOW_TO_CREATE = 'create a key with `driftwatch keys create --name NAME --scope ingest|admin`';

/**
 * Checks credentials: DRIFTWATCH_ADMIN_TOKEN (admin) and the API keys in the database.
 * Lookups are cached for `cacheMs` (default 2 s), so a revoked key stops working within
 * that time on every process, and a hot gateway does not query the database per call.
 */
export class Authenticator {
  private readonly cache = new Map<string, { p: Principal | null; at: number }>();
  private any: { v: boolean; at: number } | null = null;
  /** Per-process admin credentials for the local CLI (see allowLocalAdmin); not "a credential configured". */
  private readonly local = new Set<string>();

  constructor(
    private readonly db: Queryable,
    private readonly adminToken: string | undefined,
    private readonly cacheMs = 2000,
  ) {}

  /** The principal of a secret, or null when it is no live key and not the admin token. */
  async verify(secret: string): Promise<Principal | null> {
    if (this.adminToken && same(secret, this.adminToken)) return { scope: 'admin', name: 'admin-token', key_id: null };
    for (const t of this.local) if (same(secret, t)) return { scope: 'admin', name: 'local-cli', key_id: null };
    const now = Date.now();
    const hit = this.cache.get(secret);
    if (hit && now - hit.at < this.cacheMs) return hit.p;
    const row = await findApiKey(this.db, secret);
    const p: Principal | null = row ? { scope: row.scope, name: row.name, key_id: Number(row.id) } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(secret, { p, at: now });
    if (row) touchApiKey(this.db, Number(row.id)).catch(() => {});
    return p;
  }

  /** Whether any credential is configured (admin token, or a live key). */
  async anyCredential(): Promise<boolean> {
    if (this.adminToken) return true;
    const now = Date.now();
    if (this.any && now - this.any.at < this.cacheMs) return this.any.v;
    const v = await hasLiveApiKey(this.db);
    this.any = { v, at: now };
    return v;
  }

  /** Accepts `token` as admin (the local CLI's credential, written to the data folder's http.json). */
  allowLocalAdmin(token: string): void {
    this.local.add(token);
  }

  /** Forgets cached lookups (after this process revokes or creates a key). */
  invalidate(): void {
    this.cache.clear();
    this.any = null;
  }
}

const perContext = new WeakMap<object, Authenticator>();

/** The one Authenticator of a process's context. */
export function authenticatorFor(ctx: Pick<AppContext, 'db' | 'env'>): Authenticator {
  let a = perContext.get(ctx);
  if (!a) {
    a = new Authenticator(ctx.db, ctx.env.DRIFTWATCH_ADMIN_TOKEN);
    perContext.set(ctx, a);
  }
  return a;
}

/**
 * Accepts `token` as an admin credential of this process (issue 7: the CLI reaches a
 * `start` that holds the embedded database through the HTTP API with it). It does not
 * count as a configured credential: listenHost and the open ingest routes are unchanged.
 */
export function allowLocalAdmin(ctx: Pick<AppContext, 'db' | 'env'>, token: string): void {
  authenticatorFor(ctx).allowLocalAdmin(token);
}

/**
 * Express middleware: the request needs a credential of `scope` (an admin credential
 * also has ingest scope). Mount it before any body parser, so an unauthenticated
 * request is refused before its body is read.
 * - `Authorization: Bearer KEY` (or basic auth with the key as password): an API key
 *   or DRIFTWATCH_ADMIN_TOKEN. Unknown or revoked: 401. Known but ingest-only on an admin
 *   route: 403. res.locals.principal names who it is (res.locals.user: the basic-auth user).
 * - No credential at all configured (no token, no live key): the server listens on
 *   127.0.0.1 only (see listenHost), ingest-scope routes are open and admin routes are
 *   off (404, saying how to enable them).
 * `challenge: 'Basic'` (Bull Board, which a browser opens): a 401 asks for basic auth, so
 * the browser prompts (any user name, the key or token as password).
 */
export function requireScope(ctx: Pick<AppContext, 'db' | 'env'>, scope: KeyScope, o: { challenge?: 'Bearer' | 'Basic' } = {}) {
  const auth = authenticatorFor(ctx);
  const deny = (req: Request, res: Response, status: number, message: string, code: string) => denyWith(req, res, status, message, code, o.challenge);
  const disabled = (req: Request, res: Response) => deny(req, res, 404, `disabled: set DRIFTWATCH_ADMIN_TOKEN or ${HOW_TO_CREATE.replace('ingest|admin', 'admin')} to enable the admin endpoints`, 'disabled');
  return (req: Request, res: Response, next: NextFunction) => {
    const cred = credentialOf(req);
    (async () => {
      if (!cred) {
        if (!(await auth.anyCredential())) {
          if (scope === 'ingest') return next();
          return disabled(req, res);
        }
        deny(req, res, 401, `unauthorized: send Authorization: Bearer <API key>; ${HOW_TO_CREATE}`, 'invalid_api_key');
        return;
      }
      const p = await auth.verify(cred.secret);
      if (!p) {
        // With no credential configured, admin routes are off whatever is sent (so a stale key does not suggest they exist).
        if (scope === 'admin' && !(await auth.anyCredential())) return disabled(req, res);
        deny(req, res, 401, 'unauthorized: the API key is unknown or revoked', 'invalid_api_key');
        return;
      }
      if (scope === 'admin' && p.scope !== 'admin') {
        deny(req, res, 403, `forbidden: key "${p.name}" has scope ${p.scope}; this needs an admin key`, 'insufficient_scope');
        return;
      }
      res.locals.principal = p;
      res.locals.user = cred.user ?? (p.key_id !== null ? `key:${p.name}` : undefined);
      next();
    })().catch(next);
  };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;
const WILDCARD = new Set(['0.0.0.0', '::', '']);

/**
 * The address the HTTP server may listen on. With a credential configured: the one
 * asked for. With none: loopback as asked; the wildcard (0.0.0.0, the default) becomes
 * 127.0.0.1 with a warning; any other address is refused with how to create a key.
 */
export async function listenHost(ctx: Pick<AppContext, 'db' | 'env' | 'logger'>, requested: string): Promise<string> {
  if (LOOPBACK.test(requested)) return requested;
  if (await authenticatorFor(ctx).anyCredential()) return requested;
  if (WILDCARD.has(requested)) {
    ctx.logger.warn(
      `no API key and no DRIFTWATCH_ADMIN_TOKEN: listening on 127.0.0.1 only, not ${requested || '0.0.0.0'}. To serve other hosts, ${HOW_TO_CREATE} and restart`,
    );
    return '127.0.0.1';
  }
  throw new PermanentError(`refusing to listen on ${requested} with no credential configured: ${HOW_TO_CREATE} (or set DRIFTWATCH_ADMIN_TOKEN), then start again`);
}

import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Bearer token (or basic auth with any user and the token as password) against
 * DRIFTWATCH_ADMIN_TOKEN. With no token configured the protected routes are off (404),
 * never open; wrong or missing credentials get 401 with a Basic challenge, so a
 * browser asks for them (any user name, the token as password).
 */
export function requireAdmin(token: string | undefined) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!token) {
      res.status(404).json({ error: 'disabled: set DRIFTWATCH_ADMIN_TOKEN to enable the admin and approval endpoints' });
      return;
    }
    const h = req.headers.authorization ?? '';
    let given: string | null = null;
    let user: string | undefined;
    if (/^bearer /i.test(h)) given = h.slice(7).trim();
    else if (/^basic /i.test(h)) {
      const decoded = Buffer.from(h.slice(6), 'base64').toString();
      const colon = decoded.indexOf(':');
      given = decoded.slice(colon + 1);
      user = colon > 0 ? decoded.slice(0, colon) : undefined;
    }
    if (given !== null && same(given, token)) {
      // The basic-auth user name is who approves or rejects (the token itself is shared).
      res.locals.user = user;
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', 'Basic realm="driftwatch", charset="UTF-8"');
    res.status(401).json({ error: 'unauthorized: send Authorization: Bearer <DRIFTWATCH_ADMIN_TOKEN>' });
  };
}

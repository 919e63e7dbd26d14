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
 * never open.
 */
export function requireAdmin(token: string | undefined) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!token) {
      res.status(404).json({ error: 'disabled: set DRIFTWATCH_ADMIN_TOKEN to enable the admin and approval endpoints' });
      return;
    }
    const h = req.headers.authorization ?? '';
    let given: string | null = null;
    if (h.startsWith('Bearer ')) given = h.slice(7).trim();
    else if (h.startsWith('Basic ')) {
      const decoded = Buffer.from(h.slice(6), 'base64').toString();
      given = decoded.slice(decoded.indexOf(':') + 1);
    }
    if (given !== null && same(given, token)) {
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', 'Basic realm="driftwatch", charset="UTF-8"');
    res.status(401).json({ error: 'unauthorized: send Authorization: Bearer <DRIFTWATCH_ADMIN_TOKEN>' });
  };
}

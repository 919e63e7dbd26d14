import type { Server } from 'node:http';
import express, { type RequestHandler } from 'express';
import { readyWithin } from '@driftwatch/core';
import { createGateway, type Gateway } from './index.js';
import type { GatewayContext } from './router.js';

export interface GatewayServer {
  server: Server;
  port: number;
  gateway: Gateway;
  /** Stops taking calls, finishes the running ones, writes the waiting interactions. */
  close(): Promise<void>;
}

/**
 * The gateway role (`driftwatch gateway`): only /openai/v1, /healthz and /readyz.
 * Stateless: the serving state is read from the database (cached 1 s) and every
 * interaction written there, so any number of replicas can run behind a load balancer.
 */
export async function startGatewayServer(
  ctx: GatewayContext,
  o: { auth: RequestHandler; port: number; host: string; ready: () => Promise<boolean> },
): Promise<GatewayServer> {
  const gateway = createGateway(ctx, { auth: o.auth });
  await gateway.log.start();
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    const ok = await readyWithin(o.ready);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready' });
  });
  app.use('/openai/v1', gateway.router);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(o.port, o.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new Error(`gateway port ${o.port} is in use; set gateway.port in the deployment config`) : e));
  });
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    gateway,
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5000).unref();
      });
      await gateway.close();
    },
  };
}

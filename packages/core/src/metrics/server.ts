import { createServer, type Server } from 'node:http';
import { registry, runScrapeHooks } from './registry.js';

/**
 * Whether `ready` says yes within timeoutMs: a Redis or database that hangs (rather than
 * refusing) makes the process not ready instead of leaving the probe without an answer.
 */
export async function readyWithin(ready: () => Promise<boolean>, timeoutMs = 3000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
  try {
    return await Promise.race([ready().catch(() => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * /metrics, /healthz and /readyz of a process on its own port (prometheus_port).
 * `ready` says whether the process can do its work (database and Redis reachable):
 * /readyz answers 503 when it does not within 3 s; /healthz only says the process is up.
 */
export async function startMetricsServer(port: number, ready: () => Promise<boolean>, host = '0.0.0.0'): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/metrics') {
        await runScrapeHooks();
        const body = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(body);
      } else if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"ok"}');
      } else if (path === '/readyz') {
        const ok = await readyWithin(ready);
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ready' : 'not_ready' }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":"not found: try /metrics, /healthz or /readyz"}');
      }
    } catch (e) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (e as Error).message }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new Error(`metrics port ${port} is in use; set prometheus_port in the config or DRIFTWATCH_METRICS_PORT for this process`) : e),
    );
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  return { server, port: actual, close: () => new Promise((r) => server.close(() => r())) };
}

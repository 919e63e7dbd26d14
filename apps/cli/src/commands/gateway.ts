import { createProviders, startMetricsServer } from '@driftwatch/core';
import { startGatewayServer } from '@driftwatch/gateway';
import { listenHost, requireScope } from '@driftwatch/scheduler';
import { loadSettings, openDatabase } from '../runtime.js';
import { parseCommand, UsageError, type Io } from './table.js';

export const gatewayUsage = `Usage: driftwatch gateway [--port N]

The gateway role: only the OpenAI-compatible routes (/openai/v1/chat/completions,
/openai/v1/embeddings) plus /healthz and /readyz, on gateway.port of the deployment config
(default 3001). Stateless: it reads the serving state from the database (cached 1 s) and
writes every call there as an interaction, so any number of replicas can run behind a load
balancer (they need a shared Postgres: DATABASE_URL). Applications authenticate with an
ingest key (driftwatch keys create --name app --scope ingest). Upstream: OPENAI_BASE_URL and
OPENAI_API_KEY when set, else the offline providers.`;

/** `driftwatch gateway [--port N]`: serves until SIGTERM or SIGINT, then writes the waiting interactions and exits 0. */
export async function gatewayCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommand('gateway', args, { port: { type: 'string' } });
  const s = loadSettings();
  const port = values.port === undefined ? s.deployment.gateway.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`gateway: --port expects 0..65535, got "${values.port}"`);
  const database = await openDatabase(s);
  const ctx = { env: s.env, config: s.config, db: database.db, providers: createProviders(s.env), logger: s.logger };
  const ready = async () => {
    await database.db.query('SELECT 1');
    return true;
  };
  let metrics;
  let gw;
  try {
    const host = await listenHost(ctx, s.deployment.gateway.host);
    metrics = await startMetricsServer(s.env.DRIFTWATCH_METRICS_PORT ?? s.config.prometheus_port, ready, s.deployment.gateway.host);
    gw = await startGatewayServer(ctx, { auth: requireScope(ctx, 'ingest'), port, host, ready });
  } catch (e) {
    await metrics?.close();
    await database.close();
    throw e;
  }
  s.logger.info({ port: gw.port, metrics: metrics.port, upstream: s.env.OPENAI_API_KEY ? (s.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1') : 'offline' }, 'gateway listening on /openai/v1');
  io.stdout(JSON.stringify({ event: 'ready', role: 'gateway', http_port: gw.port, metrics_port: metrics.port }) + '\n');
  const signal = await new Promise<NodeJS.Signals>((resolve) => (['SIGTERM', 'SIGINT'] as const).forEach((sig) => process.once(sig, () => resolve(sig))));
  s.logger.info({ signal }, 'gateway stopping: finishing calls, writing waiting interactions');
  await gw.close();
  await metrics.close();
  await database.close();
  return 0;
}

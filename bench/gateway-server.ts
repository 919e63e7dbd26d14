/**
 * The gateway process of bench/gateway.ts: `driftwatch gateway` as it runs in production
 * (auth by API key, serving cache, safety policy, batched interaction log) on an
 * in-memory embedded database (or a Postgres URL), in front of the bench's instant upstream. Prints
 * {"port", "key"} when it serves; answers a "cpu" line on stdin with {"cpu_ms", "moderation_ms"}; on SIGTERM writes what waits and prints the row count.
 */
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { OfflineModerationProvider, PgDb, PgliteDb, createApiKey, loadEnvironment, migrate, parseDriftConfig, registry, type Db } from '@driftwatch/core';
import { startGatewayServer } from '@driftwatch/gateway';
import { requireScope } from '@driftwatch/scheduler';

const upstream = process.argv[2];
// argv[3]: a Postgres URL (the database in another process), else embedded in this process.
const db: Db = process.argv[3] ? new PgDb(process.argv[3]) : await PgliteDb.open('memory://');
await migrate(db);
const { key } = await createApiKey(db, { name: 'bench', scope: 'ingest' });
// The offline moderation, timed: its CPU share of a call is reported beside the whole (it runs synchronously inside moderate()).
const moderation = new OfflineModerationProvider();
let moderationMs = 0;
const moderate = moderation.moderate.bind(moderation);
moderation.moderate = (texts: string[]) => {
  const c0 = process.cpuUsage();
  try {
    return moderate(texts);
  } finally {
    const c = process.cpuUsage(c0);
    moderationMs += (c.user + c.system) / 1000;
  }
};
const ctx = {
  env: loadEnvironment({ OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: upstream }),
  config: parseDriftConfig({ models: [{ name: 'support-bot', base_model: 'gpt-4o-mini' }] }),
  db,
  providers: { moderation },
  logger: pino({ level: 'warn' }, pino.destination(2)),
};
const gw = await startGatewayServer(ctx, { auth: requireScope(ctx, 'ingest'), port: 0, host: '127.0.0.1', ready: async () => true });
const cpu0 = process.cpuUsage();
process.stdout.write(JSON.stringify({ port: gw.port, key }) + '\n');
// A line "cpu" on stdin: this process's CPU time so far (user+system, ms), so the bench can divide it by the calls of each case.
createInterface({ input: process.stdin }).on('line', (l) => {
  if (l.trim() !== 'cpu') return;
  const c = process.cpuUsage(cpu0);
  process.stdout.write(JSON.stringify({ cpu_ms: (c.user + c.system) / 1000, moderation_ms: moderationMs }) + '\n');
});
process.once('SIGTERM', async () => {
  const cpu = process.cpuUsage(cpu0);
  await gw.close();
  const rows = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM interaction_log WHERE source = 'gateway'`)).rows[0].n;
  const failures = (await registry.getSingleMetric('driftwatch_gateway_log_failures_total')!.get()).values[0]?.value ?? 0;
  process.stdout.write(JSON.stringify({ rows, log_failures: failures, cpu_ms: (cpu.user + cpu.system) / 1000 }) + '\n');
  await db.close();
  process.exit(0);
});

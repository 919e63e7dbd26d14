import { z } from 'zod';
import { configErrorFrom } from './errors.js';
import { clusterSpec, hashTaggedPrefix, parseRedisNodes } from '../queues/cluster.js';

const url = (protocols: string[], example: string) =>
  z
    .string()
    .refine((v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, `expected a ${protocols.join(' or ')} URL such as ${example}`);

/**
 * The environment a Driftwatch process reads. Unset values select the embedded
 * defaults: PGlite in DRIFTWATCH_DATA_DIR and a local Redis.
 */
export const environmentSchema = z.object({
  /** Postgres with pgvector. Unset: embedded PGlite in DRIFTWATCH_DATA_DIR. */
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'postgres://user:pass@host:5432/db').optional(),
  /**
   * Redis for BullMQ. Unset: redis://127.0.0.1:6379, or a redis-server started for the life of the process if nothing answers there.
   * Several nodes, comma-separated (redis://a:7000,b:7001): a Redis Cluster (see queues/cluster.ts).
   */
  REDIS_URL: z
    .string()
    .refine((v) => (v.includes(',') ? parseRedisNodes(v) !== null : ['redis:', 'rediss:'].some((p) => v.startsWith(p)) && parseRedisNodes(v) !== null), 'expected a redis:// or rediss:// URL such as redis://127.0.0.1:6379, or several comma-separated nodes of a cluster')
    .optional(),
  /** Nodes of a Redis Cluster, comma-separated host:port (any subset; the rest are discovered). Set: the queue prefix is hash-tagged, {driftwatch}. */
  REDIS_CLUSTER_NODES: z
    .string()
    .refine((v) => parseRedisNodes(v) !== null, 'expected comma-separated host:port of cluster nodes such as 10.0.0.1:7000,10.0.0.2:7000')
    .optional(),
  /** Key of the OpenAI API (or a compatible server). Unset: offline providers. */
  OPENAI_API_KEY: z.string().min(1).optional(),
  /** Base URL of an OpenAI-compatible server. */
  OPENAI_BASE_URL: url(['http:', 'https:'], 'http://127.0.0.1:8080/v1').optional(),
  /** Path of the drift configuration. Default: config/drift_config.yaml. */
  DRIFT_CONFIG: z.string().min(1).default('config/drift_config.yaml'),
  /** Path of the deployment configuration. Default: config/deployment_config.yaml. */
  DEPLOYMENT_CONFIG: z.string().min(1).default('config/deployment_config.yaml'),
  /** Data folder of the embedded PGlite database. */
  DRIFTWATCH_DATA_DIR: z.string().min(1).default('.driftwatch'),
  /** Prefix of every BullMQ key in Redis; separate fleets (or tests) on one Redis use different prefixes. */
  DRIFTWATCH_QUEUE_PREFIX: z.string().min(1).default('driftwatch'),
  /** Bearer token for Bull Board and the approval API. Unset: both are off. */
  DRIFTWATCH_ADMIN_TOKEN: z.string().min(16, 'expected at least 16 characters; generate one with `openssl rand -hex 24`').optional(),
  /** Overrides prometheus_port for this process (several processes on one host). */
  DRIFTWATCH_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Environment = z.infer<typeof environmentSchema>;

export function loadEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  const picked = Object.fromEntries(
    Object.keys(environmentSchema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  const parsed = environmentSchema.safeParse(picked);
  if (!parsed.success) throw configErrorFrom('the environment', parsed.error);
  // On a cluster every key of the fleet must share a hash slot: the prefix gets its {tag}.
  if (clusterSpec(parsed.data)) parsed.data.DRIFTWATCH_QUEUE_PREFIX = hashTaggedPrefix(parsed.data.DRIFTWATCH_QUEUE_PREFIX);
  return parsed.data;
}

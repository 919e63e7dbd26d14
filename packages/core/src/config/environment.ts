import { z } from 'zod';
import { configErrorFrom } from './errors.js';

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
  /** Redis for BullMQ. Unset: redis://127.0.0.1:6379, or a redis-server started for the life of the process if nothing answers there. */
  REDIS_URL: url(['redis:', 'rediss:'], 'redis://127.0.0.1:6379').optional(),
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
  return parsed.data;
}

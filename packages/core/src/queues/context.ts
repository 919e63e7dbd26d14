import type { Logger } from 'pino';
import type { Db } from '../db/types.js';
import type { DriftConfig } from '../config/schema.js';
import type { DeploymentConfig } from '../config/deployment.js';
import type { Environment } from '../config/environment.js';
import type { Providers } from '../providers/types.js';
import type { Queues } from './queues.js';

/** Injected time, so windows and cooldowns are testable. */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

/** Everything a processor may use. Built once per process (see apps/cli/src/runtime.ts). */
export interface AppContext {
  env: Environment;
  config: DriftConfig;
  deployment: DeploymentConfig;
  db: Db;
  queues: Queues;
  providers: Providers;
  clock: Clock;
  logger: Logger;
}

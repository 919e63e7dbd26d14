import type { Db } from '../../packages/core/src/db/types.js';
import { parseDriftConfig } from '../../packages/core/src/config/load.js';
import { loadEnvironment } from '../../packages/core/src/config/environment.js';
import type { DeploymentConfig } from '../../packages/core/src/config/deployment.js';
import { OfflineModerationProvider } from '@driftwatch/core';
import type { AppContext, Clock } from '../../packages/core/src/queues/context.js';
import type { Queues } from '../../packages/core/src/queues/queues.js';
import type { MonitorResult } from '../../packages/core/src/monitors/types.js';
import { testConfig } from './env.js';
import { quietLogger } from './fleet.js';

/** An AppContext for in-process workers of a test: its own queue prefix, a given database. */
export function testContext(o: { db: Db; queues: Queues; deployment: DeploymentConfig; config?: Record<string, unknown>; env?: Record<string, string>; clock?: Clock }): AppContext {
  return {
    env: loadEnvironment({ DRIFTWATCH_QUEUE_PREFIX: o.queues.prefix, ...o.env }),
    config: parseDriftConfig(testConfig(o.config)),
    deployment: o.deployment,
    db: o.db,
    queues: o.queues,
    // Offline providers: the actions tests run (safety) call nothing external.
    providers: { moderation: new OfflineModerationProvider() } as AppContext['providers'],
    clock: o.clock ?? { now: () => new Date() },
    logger: quietLogger,
  };
}

/** A monitor result as a monitor would store it: drift in one kind, with the named methods flagged. */
export function driftResult(kind: MonitorResult['kind'], flagged: string[] = [], score = 0.8): MonitorResult {
  return {
    kind,
    status: 'drift',
    score,
    severity: 'significant',
    p_value: 0.001,
    n_baseline: 500,
    n_current: 500,
    methods: Object.fromEntries((flagged.length ? flagged : ['test']).map((m) => [m, { flagged: true, p_value: 0.001 }])),
    gauges: {},
    reason: `${kind} drift (test)`,
  };
}

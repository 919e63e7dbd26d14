import type { MonitorResult } from '../monitors/types.js';

/**
 * @deprecated A no-op kept until its last caller (apps/workers/src/processors/monitor.ts)
 * drops the call: drift scores and model rates are figures of record, exported from the
 * database by the scheduler at scrape time (of-record.ts), never set per worker process
 * (a worker's gauge would vanish at its restart and linger stale beside other replicas).
 */
export function recordMonitorResult(_model: string, _r: MonitorResult): void {}

import { Counter, Histogram } from 'prom-client';
import { registry } from './registry.js';

// Serving state and the gateway (issue 8).
export const rollbacksTotal = new Counter({
  name: 'driftwatch_rollbacks_total',
  help: 'Rollbacks carried out, of a model version (kind=model) or a safety policy (kind=policy), by who asked (by=manual|auto); counted from the decisions table by the scheduler role at each scrape, whichever process rolled back',
  labelNames: ['model', 'kind', 'by'],
  registers: [registry],
});
export const gatewayRequestsTotal = new Counter({
  name: 'driftwatch_gateway_requests_total',
  help: 'Gateway calls by route, model (monitored name, or "passthrough") and outcome (ok, blocked, upstream_error, error)',
  labelNames: ['route', 'model', 'outcome'],
  registers: [registry],
});
export const gatewayAddedSeconds = new Histogram({
  name: 'driftwatch_gateway_request_seconds',
  help: 'Time a gateway call took end to end, upstream included',
  labelNames: ['route'],
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
  registers: [registry],
});
export const gatewayLogFailuresTotal = new Counter({
  name: 'driftwatch_gateway_log_failures_total',
  help: 'Failed attempts to write gateway interactions to the database (each is retried; see gateway_log_dropped_total for rows given up on)',
  registers: [registry],
});
export const gatewayLogDroppedTotal = new Counter({
  name: 'driftwatch_gateway_log_dropped_total',
  help: 'Gateway interactions given up on after every retry failed (each is written to the process log in full)',
  registers: [registry],
});

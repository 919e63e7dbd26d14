import { Counter, Gauge } from 'prom-client';
import { registry } from './registry.js';

// Retraining: evaluation gate and verification after promotion (issue 9).
export const modelEvalAccuracy = new Gauge({
  name: 'model_eval_accuracy',
  help: 'Held-out accuracy (0-1) measured by the latest evaluation gate of a version, for the champion (served) and the challenger (new version)',
  labelNames: ['model', 'version', 'role'],
  registers: [registry],
});
export const modelVerificationsTotal = new Counter({
  name: 'driftwatch_model_verifications_total',
  help: 'Verifications of a promoted version on the traffic it served, by verdict (verified, regressed, insufficient_data)',
  labelNames: ['model', 'verdict'],
  registers: [registry],
});
export const modelRegressed = new Gauge({
  name: 'driftwatch_model_regressed',
  help: '1 while the latest verification of the model found the promoted version worse than the one before it, else 0',
  labelNames: ['model'],
  registers: [registry],
});

import type { ActionKind } from '../policy/types.js';
import { finetune } from './finetune.js';
import { reindex } from './reindex.js';
import { safety } from './safety.js';
import type { ActionRunner } from './types.js';

export * from './types.js';
export { finetune, reindex, safety };
export const ACTION_RUNNERS: Record<ActionKind, ActionRunner> = { reindex, finetune, safety };
export * from './approval.js';
export { estimateFineTuneCost, type CostEstimate } from './finetune.js';
export * from './evaluation.js';
export * from './training-data.js';
export * from './verification.js';

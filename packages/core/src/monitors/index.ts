export * from './types.js';
export * from './embedding.js';
export * from './behavior.js';
export * from './accuracy.js';
export * from './refusal.js';
export * from './moderation.js';
export { insufficientData, thresholdScore } from './common.js';
export * from './refusal-semantic.js';

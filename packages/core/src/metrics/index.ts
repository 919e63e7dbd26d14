export * from './registry.js';
export * from './server.js';
export * from './serving.js';
export * from './of-record.js';
export * from './retraining.js';
export * from './alert-rules.js';

export * from './catalog.js';
export * from './context.js';
export * from './flow.js';
export * from './queues.js';
export * from './redis.js';
export * from './worker.js';
export * from './cluster.js';

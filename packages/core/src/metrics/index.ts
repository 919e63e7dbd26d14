export * from './registry.js';
export * from './record.js';
export * from './server.js';
export * from './serving.js';

export * from './schema.js';
export * from './deployment.js';
export * from './environment.js';
export * from './errors.js';
export * from './load.js';

export * from './pool.js';
export * from './tasks.js';

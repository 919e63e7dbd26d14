export * from './events.js';
export * from './deliver.js';
export * from './emit.js';

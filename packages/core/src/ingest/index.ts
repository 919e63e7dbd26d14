export * from './schemas.js';
export * from './validate.js';
export * from './write.js';
export * from './batch.js';
export * from './embed.js';
export * from './otel.js';

import { migrate, type Db } from '@driftwatch/core';

/** Migrates db to the current schema (migration 000006 brings the sampling indexes and baselines). */
export async function migrateScale(db: Db): Promise<void> {
  await migrate(db);
}

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SQL_DIR, hasBaselines, migrate, type Db } from '@driftwatch/core';

/** Migrates db; applies migration 000006 (scale) by hand while it waits outside sql/ (see the status notes). */
export async function migrateScale(db: Db): Promise<void> {
  await migrate(db);
  if (await hasBaselines(db)) return;
  const file = [join(SQL_DIR, '000006_scale.sql'), '/tmp/issue12/000006_scale.sql'].find(existsSync);
  if (!file) throw new Error('migration 000006_scale.sql not found');
  await db.exec(readFileSync(file, 'utf8'));
}

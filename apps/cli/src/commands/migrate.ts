import { migrate, migrationStatus, openDb } from '@driftwatch/core';
import { loadSettings, lockDataDir, wrapDatabaseError } from '../runtime.js';
import { parseCommand, type Io } from './table.js';

/** `driftwatch migrate [--status]`. */
export async function migrateCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommand('migrate', args, { status: { type: 'boolean' } });
  const s = loadSettings();
  const where = s.env.DATABASE_URL ? 'Postgres (DATABASE_URL)' : `embedded database in ${s.env.DRIFTWATCH_DATA_DIR}`;
  const unlock = s.env.DATABASE_URL ? () => {} : lockDataDir(s.env.DRIFTWATCH_DATA_DIR);
  try {
    const db = await wrapDatabaseError(s, () => openDb({ databaseUrl: s.env.DATABASE_URL, dataDir: s.env.DRIFTWATCH_DATA_DIR }));
    try {
      if (values.status) {
        const rows = await wrapDatabaseError(s, () => migrationStatus(db));
        for (const r of rows) {
          const id = String(r.id).padStart(6, '0');
          const state = r.applied_at ? `applied ${r.applied_at}${r.checksum_matches ? '' : ' (the file changed since; it is not applied again)'}` : 'pending';
          io.stdout(`${id}_${r.name}  ${state}\n`);
        }
        const pending = rows.filter((r) => !r.applied_at).length;
        io.stdout(`${where}: ${rows.length - pending} applied, ${pending} pending\n`);
        return 0;
      }
      const applied = await wrapDatabaseError(s, () => migrate(db));
      io.stdout(applied.length ? `${where}: applied ${applied.map((m) => `${String(m.id).padStart(6, '0')}_${m.name}`).join(', ')}\n` : `${where}: up to date\n`);
      return 0;
    } finally {
      await db.close();
    }
  } finally {
    unlock();
  }
}

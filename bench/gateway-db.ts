/** bench:gateway's database in its own process (as Postgres would be): prints {"url"} and serves until SIGTERM. */
import { startSharedPostgres } from '../tests/helpers/pglite-server.js';

const pg = await startSharedPostgres();
process.stdout.write(JSON.stringify({ url: pg.url }) + '\n');
process.once('SIGTERM', async () => {
  await pg.close();
  process.exit(0);
});

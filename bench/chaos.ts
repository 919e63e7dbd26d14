/**
 * bench:chaos: a scheduler and N workers as real `driftwatch` processes (compiled dist/),
 * a redis-server of the bench's own (no persistence), a shared database (PGlite behind
 * its socket server in this process) and the fake OpenAI server of the tests, driven
 * through the faults operators meet:
 *
 *   SIGKILLs of random workers mid-job, a Redis restart that loses every key, a database
 *   outage (the socket server stopped, then started again on the same port), a provider
 *   answering 429 and 500 for a minute, and two deployments (two databases) on one Redis
 *   and queue prefix.
 *
 * Each fault starts runs over POST /v1/runs, injects the fault, starts one more run per
 * model when it ends, waits for everything to settle and counts from the databases and
 * the provider (bench/chaos/count.ts). Prints one table.
 *
 *   npm run bench:chaos              # 50 kills, 2-minute database outage, 1-minute provider outage
 *   npm run bench:chaos -- --quick   # 6 kills, 30 s database outage, 20 s provider outage
 *   options: --workers N (default 3), --kills N, --db-outage-s S, --provider-outage-s S,
 *            --only none,sigkill,redis,database,provider,two (a subset of the faults), --no-build (skip `tsc -b`)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { Redis } from 'ioredis';
import { OfflineAnswerProvider } from '../packages/core/src/providers/offline.js';
import { seedDemo } from '../apps/cli/src/commands/demo.js';
import { FakeOpenAI, failures } from '../tests/helpers/fake-openai.js';
import { ROOT, sleep, spawnDriftwatch, startPostgres, startRedis, waitUntil, type BenchPostgres, type Proc } from './chaos/fleet.js';
import { recoverySeconds, settled, startKeys, tally, type Tally } from './chaos/count.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    workers: { type: 'string', default: '3' },
    kills: { type: 'string' },
    'db-outage-s': { type: 'string' },
    'provider-outage-s': { type: 'string' },
    only: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
  },
});
const QUICK = opts.quick!;
const WORKERS = Number(opts.workers);
const KILLS = Number(opts.kills ?? (QUICK ? 6 : 50));
const DB_OUTAGE_MS = Number(opts['db-outage-s'] ?? (QUICK ? 30 : 120)) * 1000;
const PROVIDER_OUTAGE_MS = Number(opts['provider-outage-s'] ?? (QUICK ? 20 : 60)) * 1000;
const SETTLE_MS = QUICK ? 180_000 : 300_000;
const ONLY = opts.only ? new Set(opts.only.split(',')) : null;
const MODELS = ['chaos-bot-1', 'chaos-bot-2'];
const TOKEN = 'chaos-bench-admin-token-0123456789';
const PREFIX = 'driftwatch';
const t0 = Date.now();
const say = (s: string) => process.stderr.write(`[chaos ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

/** One deployment: its database, its scheduler, its workers. */
interface Fleet {
  name: string;
  pg: BenchPostgres;
  env: Record<string, string>;
  scheduler: Proc;
  workers: Proc[];
}

async function main(): Promise<void> {
  if (!opts['no-build']) {
    // The driftwatch processes run compiled dist/.
    say('building dist/ (npx tsc -b)');
    try {
      execFileSync('npx', ['tsc', '-b'], { cwd: ROOT, stdio: 'ignore' });
    } catch {
      say('tsc -b reported errors; running what dist/ holds');
    }
  }
  const t1 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'driftwatch-chaos-'));
  const redis = await startRedis();
  const fake = await FakeOpenAI.start({ pollsToFinish: 3 });
  say(`redis ${redis.url}, fake provider ${fake.url}`);

  const driftConfig = writeYaml(dir, 'drift.yaml', {
    baseline_days: 30,
    current_days: 7,
    min_samples: 50,
    seed: 7,
    embedding_thresholds: { permutations: 100, max_sample: 300 },
    prometheus_port: 0,
    // cooldown 0: every run may act, so every fault meets action jobs too.
    actions: { dry_run: false, require_approval: false, cooldown_hours: 0, auto_rollback: false, finetune: { max_cost_usd: 1_000_000 } },
    // The bench starts runs itself (POST /v1/runs); the crons never fire while it runs.
    models: MODELS.map((name) => ({ name, schedule: '0 0 1 1 *' })),
  });
  const deploymentConfig = writeYaml(dir, 'deployment.yaml', {
    http: { port: 0, host: '127.0.0.1' },
    worker: { lock_duration_ms: 3000, stalled_interval_ms: 2000, shutdown_timeout_ms: 3000 },
    reconciler: { interval_ms: 2000, run_stuck_after_ms: 20_000, max_run_attempts: 5 },
    queues: {
      monitor: { concurrency: 2 },
      trigger: { concurrency: 2 },
      finetune: { concurrency: 2, global_concurrency: 1, attempts: 8, backoff: { type: 'exponential', delay_ms: 2000, jitter: 0.5 }, poll_interval_ms: 1000 },
    },
  });

  const fleets: Fleet[] = [];
  const newFleet = async (name: string, workers: number): Promise<Fleet> => {
    const pg = await startPostgres();
    say(`${name}: database ${pg.url}; seeding ${MODELS.join(', ')}`);
    for (const [i, model] of MODELS.entries()) {
      await seedDemo(pg.db, { model, now: new Date(), baselineDays: 30, currentDays: 7, answers: new OfflineAnswerProvider({ dir: join(dir, 'local-models') }), baseModel: 'gpt-4o-mini-2024-07-18', seed: 42 + i });
      // Every fifth answer of the current window insults the user: toxicity drift, so runs decide safety actions too.
      await pg.db.query(`UPDATE interaction_log SET response = response || ' You are an idiot.' WHERE model = $1 AND ts > now() - interval '7 days' AND id % 5 = 0`, [model]);
    }
    const env = {
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      DRIFTWATCH_QUEUE_PREFIX: PREFIX,
      DRIFT_CONFIG: driftConfig,
      DEPLOYMENT_CONFIG: deploymentConfig,
      OPENAI_API_KEY: fake.apiKey,
      OPENAI_BASE_URL: fake.url,
      DRIFTWATCH_ADMIN_TOKEN: TOKEN,
      DRIFTWATCH_METRICS_PORT: '0',
    };
    const scheduler = await spawnDriftwatch(`${name}/scheduler`, ['scheduler'], { ...env, DRIFTWATCH_DATA_DIR: mkdtempSync(join(dir, 'sched-')) });
    const ws = await Promise.all(Array.from({ length: workers }, (_, i) => spawnWorker(name, i, env)));
    const f = { name, pg, env, scheduler, workers: ws };
    fleets.push(f);
    say(`${name}: scheduler on :${scheduler.ready.http_port}, ${workers} workers ready`);
    return f;
  };
  const spawnWorker = (name: string, i: number, env: Record<string, string>) => spawnDriftwatch(`${name}/worker-${i}`, ['worker'], { ...env, DRIFTWATCH_DATA_DIR: mkdtempSync(join(dir, 'w-')) });

  const rows: { fault: string; t: Tally; recovery: string }[] = [];
  const notes: string[] = [];
  try {
    const a = await newFleet('A', WORKERS);

    const phase = async (fault: string, fleet: Fleet, inject: (runs: string[]) => Promise<number | null>) => {
      if (ONLY && !ONLY.has(fault.split(' ')[0].toLowerCase())) return;
      say(`--- ${fault}`);
      const runs: string[] = [];
      const faultEnd = await inject(runs);
      // After the fault: one more run per model, so recovery is measured on fresh work too.
      if (faultEnd !== null) for (const m of MODELS) runs.push(...(await startRuns(fleet, [m], 1)));
      const ok = await waitUntil(() => settled(fleet.pg.db, runs), SETTLE_MS, 1000);
      if (!ok) say(`${fault}: not settled after ${SETTLE_MS / 1000} s; counting what there is`);
      const t = await tally(fleet.pg.db, runs, fake, await startKeys(fleets.map((f) => f.pg.db)));
      const rec = faultEnd === null ? null : await recoverySeconds(fleet.pg.db, faultEnd);
      rows.push({ fault, t, recovery: faultEnd === null ? '-' : rec === null ? 'never' : `${rec.toFixed(1)} s` });
      for (const w of [...t.lostWhat, ...t.twiceWhat, ...t.falseWhat]) notes.push(`${fault}: ${w}`);
      notes.push(`${fault}: decisions ${fmt(t.actions)}`);
      say(`${fault}: ${JSON.stringify({ ...t, lostWhat: undefined, twiceWhat: undefined, falseWhat: undefined, actions: undefined })} decisions ${fmt(t.actions)} recovery ${rows.at(-1)!.recovery}`);
    };

    await phase('none (no fault)', a, async (runs) => {
      runs.push(...(await startRuns(a, MODELS, 1)));
      return null;
    });

    await phase(`SIGKILL of a worker mid-job (x${KILLS})`, a, async (runs) => {
      let kills = 0;
      let last = Date.now();
      const respawns: Promise<void>[] = [];
      const busyRuns = async () => {
        // Keep work flowing: a new run for a model whenever fewer than two of its runs are open.
        const open = await a.pg.db.query<{ model: string; n: number }>(`SELECT model, count(*)::int AS n FROM pipeline_runs WHERE state IN ('started', 'incomplete') GROUP BY model`).catch(() => ({ rows: [] }));
        const n = new Map(open.rows.map((r) => [r.model, r.n]));
        for (const m of MODELS) if ((n.get(m) ?? 0) < 2) runs.push(...(await startRuns(a, [m], 1)));
      };
      while (kills < KILLS) {
        await busyRuns();
        const victim = await waitUntil(() => {
          const busy = a.workers.filter((w) => w.active.size > 0 && w.child.exitCode === null && w.child.signalCode === null);
          return busy.length ? busy[Math.floor(Math.random() * busy.length)] : null;
        }, 30_000, 100);
        if (!victim) {
          say('no worker busy for 30 s; starting more runs');
          continue;
        }
        await sleep(Math.random() * 800);
        if (victim.active.size === 0) continue;
        const what = [...victim.active].join(' ');
        await victim.kill('SIGKILL');
        kills++;
        last = Date.now();
        if (kills % 10 === 0 || kills === KILLS) say(`kill ${kills}/${KILLS} (${victim.name} in ${what})`);
        // The replacement starts in the background (as a supervisor would restart it); the next kill does not wait for it.
        const i = a.workers.indexOf(victim);
        respawns.push(
          spawnWorker('A', i, a.env).then(
            (w) => {
              a.workers[i] = w;
            },
            (e) => {
              say(`worker ${i} did not restart: ${(e as Error).message.split('\n')[0]}`);
            },
          ),
        );
      }
      await Promise.all(respawns);
      return last;
    });

    await phase('Redis restart without persistence', a, async (runs) => {
      runs.push(...(await startRuns(a, MODELS, 2)));
      await waitUntil(() => a.workers.some((w) => w.active.size > 0), 60_000, 100);
      await sleep(1500);
      await redis.restart();
      const end = Date.now();
      const back = await waitUntil(async () => {
        const r = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
        try {
          await r.connect();
          // Scheduler ids are pipeline-<deployment id>-<model> (schedules.ts).
          const ids = await r.zrange(`${PREFIX}:pipeline:repeat`, 0, -1);
          return MODELS.every((m) => ids.some((id) => id.startsWith('pipeline-') && id.endsWith(`-${m}`)));
        } finally {
          r.disconnect();
        }
      }, 60_000, 500);
      notes.push(`Redis restart: job schedulers of ${MODELS.length} models ${back ? `re-created ${((Date.now() - end) / 1000).toFixed(1)} s after the restart` : 'NOT re-created within 60 s'}`);
      return end;
    });

    await phase(`database outage (${DB_OUTAGE_MS / 1000} s)`, a, async (runs) => {
      runs.push(...(await startRuns(a, MODELS, 2)));
      await waitUntil(() => a.workers.some((w) => w.active.size > 0), 60_000, 100);
      await sleep(1000);
      await a.pg.outage();
      say(`database down for ${DB_OUTAGE_MS / 1000} s`);
      await sleep(DB_OUTAGE_MS);
      await a.pg.restore();
      return Date.now();
    });

    await phase(`provider 429/500 (${PROVIDER_OUTAGE_MS / 1000} s)`, a, async (runs) => {
      fake.failFor(PROVIDER_OUTAGE_MS, [failures.rateLimited(2), failures.serverError()]);
      runs.push(...(await startRuns(a, MODELS, 2)));
      await sleep(PROVIDER_OUTAGE_MS);
      notes.push(`provider outage: answered ${[...fake.outageAnswers].map(([s, n]) => `${n} x ${s}`).join(', ') || 'nothing'}`);
      return Date.now();
    });

    if (!ONLY || ONLY.has('two')) {
      const b = await newFleet('B', 1);
      const runsA: string[] = [];
      const runsB: string[] = [];
      say('--- two deployments (two databases) on one Redis and prefix');
      for (let i = 0; i < 2; i++) {
        for (const m of MODELS) {
          const [ra, rb] = await Promise.all([startRuns(a, [m], 1), startRuns(b, [m], 1)]);
          runsA.push(...ra);
          runsB.push(...rb);
        }
      }
      await waitUntil(async () => (await settled(a.pg.db, runsA)) && (await settled(b.pg.db, runsB)), SETTLE_MS, 1000);
      const keys = await startKeys([a.pg.db, b.pg.db]);
      for (const [f, r] of [[a, runsA], [b, runsB]] as const) {
        const t = await tally(f.pg.db, r, fake, keys);
        rows.push({ fault: `two deployments, one Redis+prefix: ${f.name}`, t, recovery: '-' });
        for (const w of [...t.lostWhat, ...t.twiceWhat, ...t.falseWhat]) notes.push(`two deployments ${f.name}: ${w}`);
        notes.push(`two deployments ${f.name}: decisions ${fmt(t.actions)}`);
      }
    }
  } finally {
    for (const f of fleets) await Promise.allSettled([f.scheduler, ...f.workers].map((p) => p.kill('SIGKILL')));
    for (const f of fleets) await f.pg.close();
    await redis.stop();
    await fake.close();
  }

  const header = ['fault', 'runs started', 'runs finished', 'jobs lost', 'actions done twice', 'actions falsely reported', 'recovery time'];
  const body = rows.map((r) => [r.fault, r.t.started, r.t.finished, r.t.lost, r.t.twice, r.t.falsely, r.recovery].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w, i) => (i === 0 ? ':' : '-') + '-'.repeat(w) + (i === 0 ? '-' : ':')).join('|')}|`, ...body.map(line)];
  console.log(out.join('\n'));
  console.log(`\n${QUICK ? 'quick: ' : ''}${KILLS} kills, ${WORKERS} workers + 1 scheduler (deployment B: 1 worker), ${((Date.now() - t1) / 60_000).toFixed(1)} min after the build (${((t1 - t0) / 60_000).toFixed(1)} min)`);
  for (const n of notes) console.log(`- ${n}`);
}

/** POST /v1/runs for each model, `per` times; retried while the scheduler cannot take it (an outage). Returns the run ids. */
async function startRuns(f: Fleet, models: string[], per: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < per; i++) {
    for (const model of models) {
      const r = await waitUntil(async () => {
        const res = await fetch(`http://127.0.0.1:${f.scheduler.ready.http_port}/v1/runs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model }),
        });
        return res.status === 202 ? ((await res.json()) as { run_id: string }) : null;
      }, 300_000, 1000);
      if (!r) throw new Error(`${f.name}: POST /v1/runs for ${model} was not accepted within 5 minutes`);
      ids.push(r.run_id);
      await sleep(5); // distinct run ids (they carry the millisecond)
    }
  }
  return ids;
}

const fmt = (a: Record<string, number>) => Object.entries(a).sort().map(([k, n]) => `${k} ${n}`).join(', ') || 'none';

function writeYaml(dir: string, name: string, v: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, stringify(v));
  return p;
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

/**
 * The original design's load test: N synthetic interactions of one model (with query
 * embeddings, evaluations and user feedback), the second half drifted (new topic in the
 * embeddings, more refusals, lower accuracy and feedback), ingested through the HTTP API
 * (POST /v1/ingest, batches of 500) of a real `driftwatch start`, then one pipeline run
 * (POST /v1/runs, dry run: decisions are recorded, nothing external is called). Prints
 * the time of each stage and whether each monitor found the drift.
 *
 *   npm run load-test [-- --samples 10000 --dim 64]
 *
 * Needs a Redis (REDIS_URL or 127.0.0.1:6379) and the compiled CLI (npx tsc -b).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { freePort } from '@driftwatch/core';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '10000' }, dim: { type: 'string', default: '64' }, batch: { type: 'string', default: '500' } } });
const N = Number(values.samples);
const dim = Number(values.dim);
const batchSize = Number(values.batch);
const MODEL = 'load-test';
const DAY = 86_400_000;
const root = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'driftwatch-load-test-'));
const token = randomBytes(24).toString('hex');
const port = await freePort();
const stages: [string, number][] = [];
const stage = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const out = await fn();
  stages.push([name, (performance.now() - t0) / 1000]);
  console.log(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return out;
};

// --- the fleet: driftwatch start on its own data folder, queue prefix and port
writeFileSync(join(dir, 'drift.yaml'), `baseline_days: 30\ncurrent_days: 7\nmin_samples: 100\nseed: 42\nprometheus_port: 0\nactions: { dry_run: true }\nmodels: [{ name: ${MODEL} }]\n`);
writeFileSync(join(dir, 'deployment.yaml'), `http: { port: ${port}, host: 127.0.0.1 }\n`);
const child = spawn(process.execPath, [join(root, 'apps/cli/bin/driftwatch.js'), 'start'], {
  env: {
    ...process.env,
    DRIFT_CONFIG: join(dir, 'drift.yaml'),
    DEPLOYMENT_CONFIG: join(dir, 'deployment.yaml'),
    DRIFTWATCH_DATA_DIR: join(dir, 'data'),
    DRIFTWATCH_QUEUE_PREFIX: `dwload-${process.pid}`,
    DRIFTWATCH_ADMIN_TOKEN: token,
    DRIFTWATCH_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const stop = async () => {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
};
process.on('exit', () => child.kill('SIGKILL'));
await stage('start (driftwatch start ready)', async () => {
  // Its stdout is read to the end: a pipe left unread fills up and blocks the writer, and one
  // closed (as leaving a for-await over it does) fails any later write with EPIPE.
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => line.includes('"event":"ready"') && resolve());
    lines.on('close', () => reject(new Error('driftwatch start exited before it was ready')));
  });
});
const base = `http://127.0.0.1:${port}`;
const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };

// --- synthetic data: seeded, the second half (current window) drifted
let s = 12345;
const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
const gauss = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
const topicA = Array.from({ length: dim }, gauss);
const topicB = Array.from({ length: dim }, gauss);
const now = Date.now();
const events = await stage(`generate ${N} interactions (+ evaluations, feedback)`, async () => {
  const out: unknown[] = [];
  for (let i = 0; i < N; i++) {
    const drifted = i >= N / 2;
    const ts = new Date(drifted ? now - (0.01 + u() * 6.5) * DAY : now - (8 + u() * 29) * DAY).toISOString();
    const centre = drifted && u() < 0.5 ? topicB : topicA;
    const refuse = u() < (drifted ? 0.25 : 0.03);
    out.push({
      id: `i-${i}`,
      type: 'interaction',
      body: {
        model: MODEL,
        ts,
        query: `question ${i} about ${drifted ? 'programming' : 'music'}`,
        response: refuse ? "I'm sorry, but I can't help with that request." : `Here is an answer to question ${i}, with the details you asked for.`,
        latency_ms: 200 + Math.floor(u() * 300),
        embedding: centre.map((c) => c + gauss() * 0.8),
      },
    });
    if (i % 3 === 0) out.push({ id: `f-${i}`, type: 'feedback', body: { interaction_id: `i-${i}`, score: drifted ? 1 + Math.floor(u() * 3) : 3 + Math.floor(u() * 3), task_success: u() < (drifted ? 0.6 : 0.9) } });
    if (i % 4 === 0) out.push({ id: `e-${i}`, type: 'evaluation', body: { model: MODEL, ts, item_id: `item-${i}`, correct: u() < (drifted ? 0.7 : 0.92) } });
  }
  return out;
});

const ingested = await stage(`ingest ${events.length} events through POST /v1/ingest`, async () => {
  let ok = 0;
  let bad = 0;
  for (let i = 0; i < events.length; i += batchSize) {
    const res = await fetch(`${base}/v1/ingest`, { method: 'POST', headers, body: JSON.stringify({ batch: events.slice(i, i + batchSize) }) });
    if (res.status >= 300 && res.status !== 207) throw new Error(`POST /v1/ingest: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { successes: unknown[]; errors: { message: string }[] };
    ok += body.successes.length;
    bad += body.errors.length;
    if (body.errors.length && bad === body.errors.length) console.log(`  first error: ${body.errors[0].message}`);
  }
  return { ok, bad };
});
console.log(`  ${ingested.ok} accepted, ${ingested.bad} rejected`);

const run = await stage('pipeline run (3 monitors + trigger, dry run)', async () => {
  const res = await fetch(`${base}/v1/runs`, { method: 'POST', headers, body: JSON.stringify({ model: MODEL, dry_run: true }) });
  if (res.status !== 202) throw new Error(`POST /v1/runs: ${res.status} ${await res.text()}`);
  const { run_id } = (await res.json()) as { run_id: string };
  for (;;) {
    const st = (await (await fetch(`${base}/v1/runs/${run_id}`, { headers })).json()) as { state: string; drift_runs: { monitor: string; status: string; score: number; result: { timings_ms?: Record<string, number>; reason: string } }[]; summary: { decisions?: { action: string; state: string }[] } | null };
    if (st.state === 'completed' || st.state === 'failed') return st;
    await new Promise((r) => setTimeout(r, 500));
  }
});

console.log('\nstages:');
for (const [name, sec] of stages) console.log(`  ${name.padEnd(50)} ${sec.toFixed(1).padStart(7)} s`);
console.log(`\nrun ${run.state}; monitors:`);
for (const r of run.drift_runs) console.log(`  ${r.monitor.padEnd(9)} ${r.status.padEnd(17)} score ${Number(r.score).toFixed(3)}  timings_ms ${JSON.stringify(r.result.timings_ms ?? {})}`);
console.log(`decisions: ${(run.summary?.decisions ?? []).map((d) => `${d.action} ${d.state}`).join(', ') || 'none'}`);
const found = run.drift_runs.filter((r) => r.status === 'drift').map((r) => r.monitor);
console.log(`drift injected in the second half: ${found.length ? `found by ${found.join(', ')}` : 'NOT found'}`);
await stop();
rmSync(dir, { recursive: true, force: true });
process.exit(found.length ? 0 : 1);

/**
 * Detection benchmark of the embedding monitor: false-alarm rate and power per
 * method and per sample size on synthetic embedding windows (bench/gen.ts).
 *
 *   npm run bench:detection -- [--trials N] [--quick] [--dim D] [--ns 20,100,500]
 *
 * --trials N       trials per shifted cell for n <= 1000 (default 20; halved at n = 2000,
 *                  quartered above)
 * --null-trials M  trials per no-shift cell for n <= 500 (default 10 x N: the false-alarm
 *                  rate needs the precision; halved at n = 1000, quartered at 2000, /8 above)
 * --quick          n in {50, 200, 500, 2000}, 10 and 40 trials: a smoke run of a minute or two
 * --dim D     embedding dimension of the table (default 384); the headline check
 *             (10% new topic at n = 500 per side) always runs at 1536
 * Cells run on all cores (worker threads). Per-method columns: the three tests
 * fire when their own permutation p < alpha (the decision combines them by min-p); the descriptive
 * figures fire when over their fixed threshold (they are not calibrated: watch PSI
 * at small n).
 */
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { embeddingThresholdsSchema } from '../packages/core/src/config/schema.js';
import { embeddingMonitor } from '../packages/core/src/monitors/embedding.js';
import { deriveRng } from '../packages/core/src/stats/rng.js';
import { describeShift, makeWorld, sample, type Shift } from './gen.js';

const ALPHA = 0.05;
const METHODS = ['monitor', 'mmd', 'ks', 'domain_classifier', 'centroid_distance', 'psi', 'silhouette', 'variance'] as const;
/** Alarm counts per method, plus the sum of the monitor's effect (for its mean). */
type Counts = Record<(typeof METHODS)[number] | 'effect', number>;

interface Job {
  id: number;
  dim: number;
  n: number;
  shift: Shift;
  trials: number;
  /** Index of the first trial (chunks of one cell draw different trials). */
  first: number;
}

const SHIFTS: Shift[] = [
  { kind: 'none' },
  { kind: 'new_topic', fraction: 0.01 },
  { kind: 'new_topic', fraction: 0.05 },
  { kind: 'new_topic', fraction: 0.1 },
  { kind: 'new_topic', fraction: 0.2 },
  { kind: 'reweight', amount: 0.1 },
  { kind: 'mean_shift', size: 0.1 },
  { kind: 'variance', factor: 1.1 },
];

function runJob(job: Job): Counts {
  const t = embeddingThresholdsSchema.parse({});
  const world = makeWorld(job.dim, 11);
  const counts = Object.fromEntries([...METHODS, 'effect'].map((m) => [m, 0])) as Counts;
  for (let trial = job.first; trial < job.first + job.trials; trial++) {
    const rng = deriveRng(trial, `${job.dim}-${job.n}-${describeShift(job.shift)}`);
    const base = sample(world, job.n, rng);
    const cur = sample(world, job.n, rng, job.shift);
    const res = embeddingMonitor(base, cur, t, { min_samples: 10, alpha: ALPHA, seed: trial });
    if (res.status === 'drift') counts.monitor++;
    counts.effect += res.methods.domain_classifier.effect as number;
    // Each test at its own level (its `threshold`: alpha; the decision is the min-p combination).
    for (const m of ['mmd', 'ks', 'domain_classifier'] as const) if ((res.methods[m].p_value as number) < (res.methods[m].threshold as number)) counts[m]++;
    for (const m of ['centroid_distance', 'psi', 'silhouette', 'variance'] as const) if (res.methods[m].flagged) counts[m]++;
  }
  return counts;
}

if (!isMainThread) {
  parentPort!.on('message', (job: Job | null) => {
    if (job === null) process.exit(0);
    parentPort!.postMessage({ id: job.id, counts: runJob(job) });
  });
} else {
  await main();
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const trials = Number(arg('--trials') ?? (quick ? 10 : 20));
  const nullTrials = Number(arg('--null-trials') ?? 10 * trials);
  const dim = Number(arg('--dim') ?? 384);
  const ns = (arg('--ns') ?? (quick ? '50,200,500,2000' : '20,50,100,200,500,1000,2000,5000,10000')).split(',').map(Number);
  const perN = (n: number, t: number) => (n <= 1000 ? t : n <= 2000 ? Math.ceil(t / 2) : Math.ceil(t / 4));
  const perNull = (n: number) => Math.ceil(nullTrials / (n <= 500 ? 1 : n <= 1000 ? 2 : n <= 2000 ? 4 : 8));

  const jobs: Job[] = [];
  for (const shift of SHIFTS) for (const n of ns) jobs.push({ id: jobs.length, dim, n, shift, trials: shift.kind === 'none' ? perNull(n) : perN(n, trials), first: 0 });
  // Headline check at full dimension.
  const headline = [
    { id: -1, dim: 1536, n: 500, shift: { kind: 'none' } as Shift, trials: 3 * trials, first: 0 },
    { id: -2, dim: 1536, n: 500, shift: { kind: 'new_topic', fraction: 0.1 } as Shift, trials: 3 * trials, first: 0 },
  ];
  // Split every job into chunks so both cores stay busy.
  const chunks: (Job & { parent: number })[] = [];
  for (const j of [...jobs, ...headline]) {
    const size = Math.max(5, Math.ceil(j.trials / 4));
    for (let done = 0; done < j.trials; done += size) chunks.push({ ...j, id: chunks.length, parent: j.id, trials: Math.min(size, j.trials - done), first: done });
  }
  // Heavy chunks first.
  chunks.sort((a, b) => Math.min(b.n, 2000) * b.trials * (b.dim / 384) - Math.min(a.n, 2000) * a.trials * (a.dim / 384));
  const totals = new Map<number, Counts>();
  const started = performance.now();
  const workers = Math.max(1, Math.min(availableParallelism(), 8));
  console.log(`embedding monitor detection benchmark: dim ${dim}, n per side ${ns.join(', ')}, ${nullTrials} trials per no-shift cell and ${trials} per shifted cell (fewer at larger n), alpha ${ALPHA}, ${workers} workers`);
  let next = 0;
  let finished = 0;
  await Promise.all(
    Array.from({ length: workers }, () => {
      // Workers load this file through tsx's loader, as the main thread does.
      const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
      const w = new Worker(boot, { eval: true, workerData: {} });
      return new Promise<void>((resolve, reject) => {
        const feed = () => {
          if (next >= chunks.length) {
            w.postMessage(null);
            return;
          }
          w.postMessage(chunks[next++]);
        };
        w.on('message', ({ id, counts }: { id: number; counts: Counts }) => {
          const parent = chunks.find((c) => c.id === id)!.parent;
          if (++finished % Math.max(1, Math.round(chunks.length / 10)) === 0)
            process.stderr.write(`  ${Math.round((100 * finished) / chunks.length)}% of trials done after ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
          const acc = totals.get(parent) ?? (Object.fromEntries([...METHODS, 'effect'].map((m) => [m, 0])) as Counts);
          for (const m of [...METHODS, 'effect'] as const) acc[m] += counts[m];
          totals.set(parent, acc);
          feed();
        });
        w.on('error', reject);
        w.on('exit', () => resolve());
        feed();
      });
    }),
  );
  void workerData;

  const pct = (x: number, n: number) => `${((100 * x) / n).toFixed(1)}`.padStart(6);
  const header = `${'shift'.padEnd(18)}${'n'.padStart(6)}${'trials'.padStart(7)} | ${METHODS.map((m) => m.replace('domain_classifier', 'classifier').replace('centroid_distance', 'centroid').padStart(11)).join('')}${'effect'.padStart(9)}`;
  console.log('\nRates in % of trials: false-alarm rate for "no shift", power otherwise. monitor = the decision (min-p over MMD, classifier AUC and top share, and effect >= min_effect; KS is reported only).');
  console.log(`effect = mean of the monitor's effect (max of AUC - 0.5 and TPR@10%FPR - 0.1); below min_effect ${embeddingThresholdsSchema.parse({}).min_effect} a shift is not an alarm by design.`);
  console.log(header);
  console.log('-'.repeat(header.length));
  let worstFar = { rate: -1, n: 0 };
  let weakest = { rate: 2, label: '', effect: 0 };
  for (const j of jobs) {
    const c = totals.get(j.id)!;
    if (j.n === ns[0] && j.id !== 0) console.log('');
    console.log(`${describeShift(j.shift).padEnd(18)}${String(j.n).padStart(6)}${String(j.trials).padStart(7)} | ${METHODS.map((m) => pct(c[m], j.trials).padStart(11)).join('')}${(c.effect / j.trials).toFixed(3).padStart(9)}`);
    const rate = c.monitor / j.trials;
    if (j.shift.kind === 'none' && rate > worstFar.rate) worstFar = { rate, n: j.n };
    if (j.shift.kind !== 'none' && j.n >= 500 && rate < weakest.rate) weakest = { rate, label: `${describeShift(j.shift)} at n = ${j.n}`, effect: c.effect / j.trials };
  }
  const h0 = totals.get(-1)!;
  const h1 = totals.get(-2)!;
  console.log('\nHeadline (dim 1536, n = 500 per side):');
  const ht = 3 * trials;
  console.log(`  false-alarm rate ${pct(h0.monitor, ht).trim()}% (${h0.monitor}/${ht}), 10% new topic detected ${pct(h1.monitor, ht).trim()}% (${h1.monitor}/${ht})`);
  // Pooled false-alarm rate over every n, and whether any cell is significantly above the target.
  let nullAlarms = 0;
  let nullRuns = 0;
  let worstTail = 1;
  for (const j of jobs.filter((x) => x.shift.kind === 'none')) {
    const k = totals.get(j.id)!.monitor;
    nullAlarms += k;
    nullRuns += j.trials;
    worstTail = Math.min(worstTail, binomialUpperTail(k, j.trials, ALPHA + 0.015));
  }
  const farOk = worstFar.rate <= ALPHA + 0.015;
  const powerOk = h1.monitor / ht >= 0.9;
  console.log(`\nTargets: false-alarm rate <= ${((ALPHA + 0.015) * 100).toFixed(1)}% at every n: ${farOk ? 'met' : 'NOT met'} (highest ${(worstFar.rate * 100).toFixed(1)}% at n = ${worstFar.n}; with ${nullTrials} trials the standard error at a true 5% is about ${(100 * Math.sqrt((ALPHA * (1 - ALPHA)) / nullTrials)).toFixed(1)} points)`);
  console.log(`         pooled over every n: ${((100 * nullAlarms) / nullRuns).toFixed(1)}% (${nullAlarms}/${nullRuns}); smallest one-sided binomial p of a cell against ${((ALPHA + 0.015) * 100).toFixed(1)}%: ${worstTail.toFixed(3)}${worstTail < 0.05 ? ' (significantly above the target)' : ' (no cell significantly above the target)'}`);
  console.log(`         10% new topic at n = 500 detected >= 90%: ${powerOk ? 'met' : 'NOT met'} (${pct(h1.monitor, ht).trim()}%)`);
  console.log(`Weakest case (n >= 500): ${weakest.label}, detected ${(weakest.rate * 100).toFixed(1)}% of the time (mean effect ${weakest.effect.toFixed(3)} vs min_effect ${embeddingThresholdsSchema.parse({}).min_effect}).`);
  console.log(`Elapsed ${((performance.now() - started) / 1000).toFixed(0)} s.`);
}

/** P(X >= k) for X ~ Binomial(n, p). */
function binomialUpperTail(k: number, n: number, p: number): number {
  let term = (1 - p) ** n; // P(X = 0)
  let cdf = 0;
  for (let x = 0; x < k; x++) {
    cdf += term;
    term *= ((n - x) / (x + 1)) * (p / (1 - p));
  }
  return Math.max(0, 1 - cdf);
}

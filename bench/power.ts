/**
 * Detection power of the embedding monitor next to the best single methods of the
 * field, on the same data in the same run (issue 13).
 *
 *   npm run bench:power -- [--ns 100,500,2000] [--trials 20] [--null-trials 20] [--dim 384]
 *                          [--perms 200] [--shifts none,mean,reweight,topic6,topic10] [--variants a,b]
 *                          [--no-refs] [--workers W] [--dump trials.jsonl]
 *
 * Data: bench/shifts.ts (anisotropic, unit-normalised topic clusters, a fresh world per
 * trial). Each trial draws a baseline and a current window of n rows and runs:
 * - Driftwatch: `embeddingMonitor` with the default thresholds (`driftwatch`), plus any
 *   variants named with --variants (threshold overrides, see VARIANTS);
 * - the three tests inside Driftwatch, each alone at alpha (`dw:<test>`), to show what
 *   the combination costs;
 * - reference single methods on the full dimension (bench/reference.ts): linear domain
 *   classifier (5-fold, AUC), exact permutation MMD at the median bandwidth and at half
 *   of it (narrow), KS on 10 principal components (Bonferroni).
 * Prints detections per cell (k/trials), the best reference per row, and for
 * "none" a one-sided binomial check of each method's false alarms against alpha.
 * Trials at n > 1000 are halved (the exact MMD is quadratic in n).
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { embeddingThresholdsSchema } from '../packages/core/src/config/schema.js';
import { embeddingMonitor } from '../packages/core/src/monitors/embedding.js';
import { deriveRng } from '../packages/core/src/stats/rng.js';
import { ksOnComponents, linearClassifier, mmdExact } from './reference.js';
import { describe, makeWorld, sampleWindow, type Shift } from './shifts.js';

const ALPHA = 0.05;
const SHIFTS: Record<string, Shift> = {
  none: { kind: 'none' },
  topic10: { kind: 'new_topic', fraction: 0.1 },
  reweight: { kind: 'reweight', amount: 0.1 },
  mean: { kind: 'mean_shift', size: 0.02 },
  topic6: { kind: 'new_topic', fraction: 0.06 },
};
/** Monitor variants (threshold overrides) that --variants can add beside the defaults. */
const VARIANTS: Record<string, Record<string, unknown>> = {
  min_effect0: { min_effect: 0 },
  proj64: { projection_dim: 64 },
  proj128: { projection_dim: 128 },
  proj384: { projection_dim: 384 },
};
const REFS = ['ref:classifier', 'ref:mmd_median', 'ref:mmd_narrow', 'ref:ks_pcs'] as const;

interface Job {
  id: number;
  dim: number;
  n: number;
  shift: string;
  first: number;
  trials: number;
  perms: number;
  variants: string[];
  refs: boolean;
}
type Counts = Record<string, number>;

/** Per-trial p-values of the monitor's tests (for --dump). */
type TrialRecord = Record<string, number | string | null>;

function runJob(job: Job): { counts: Counts; records: TrialRecord[] } {
  const counts: Counts = {};
  const records: TrialRecord[] = [];
  const hit = (name: string, yes: boolean) => (counts[name] = (counts[name] ?? 0) + (yes ? 1 : 0));
  const defaults = embeddingThresholdsSchema.parse({});
  const settings = { min_samples: 10, alpha: ALPHA };
  for (let trial = job.first; trial < job.first + job.trials; trial++) {
    const world = makeWorld(job.dim, 1000 + trial);
    const rng = deriveRng(trial, `power-${job.dim}-${job.n}-${job.shift}`);
    const base = sampleWindow(world, job.n, rng);
    const cur = sampleWindow(world, job.n, rng, SHIFTS[job.shift]);
    const res = embeddingMonitor(base, cur, defaults, { ...settings, seed: trial });
    hit('driftwatch', res.status === 'drift');
    hit('dw:p<alpha', (res.p_value ?? 1) < ALPHA); // the combination without the min_effect condition
    for (const [name, m] of Object.entries(res.methods)) if (typeof m.p_value === 'number') hit(`dw:${name}`, m.p_value < ALPHA);
    counts.time_ms = (counts.time_ms ?? 0) + (res.timings_ms?.total ?? 0);
    const num = (m: string, k: string) => (typeof res.methods[m]?.[k] === 'number' ? (res.methods[m][k] as number) : null);
    records.push({ shift: job.shift, n: job.n, trial, status: res.status, p: res.p_value, p_mmd: num('mmd', 'p_value'), p_ks: num('ks', 'p_value'), p_clf: num('domain_classifier', 'p_value'), p_auc: num('domain_classifier', 'p_auc'), p_top: num('domain_classifier', 'p_top_share'), effect: num('domain_classifier', 'effect') });
    for (const v of job.variants) {
      const r = embeddingMonitor(base, cur, embeddingThresholdsSchema.parse({ ...VARIANTS[v] }), { ...settings, seed: trial });
      hit(v, r.status === 'drift');
    }
    if (job.refs) {
      const refRng = deriveRng(trial, 'reference');
      hit('ref:classifier', linearClassifier(base, cur, job.perms, refRng).p < ALPHA);
      const [pMedian, pNarrow] = mmdExact(base, cur, [1, 0.5], job.perms, refRng);
      hit('ref:mmd_median', pMedian < ALPHA);
      hit('ref:mmd_narrow', pNarrow < ALPHA);
      hit('ref:ks_pcs', ksOnComponents(base, cur) < ALPHA);
    }
  }
  return { counts, records };
}

if (!isMainThread) {
  parentPort!.on('message', (job: Job | null) => {
    if (job === null) process.exit(0);
    parentPort!.postMessage({ id: job.id, ...runJob(job) });
  });
} else {
  await main();
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** P(X >= k) for X ~ Binomial(n, p). */
function binomialUpperTail(k: number, n: number, p: number): number {
  let term = (1 - p) ** n;
  let cdf = 0;
  for (let x = 0; x < k; x++) {
    cdf += term;
    term *= ((n - x) / (x + 1)) * (p / (1 - p));
  }
  return Math.max(0, 1 - cdf);
}

async function main(): Promise<void> {
  const ns = (arg('--ns') ?? '100,500,2000').split(',').map(Number);
  const trials = Number(arg('--trials') ?? 20);
  const nullTrials = Number(arg('--null-trials') ?? trials);
  const dim = Number(arg('--dim') ?? 384);
  const perms = Number(arg('--perms') ?? 200);
  const shifts = (arg('--shifts') ?? 'none,topic10,reweight,mean,topic6').split(',');
  const variants = (arg('--variants') ?? '').split(',').filter(Boolean);
  for (const v of variants) if (!VARIANTS[v]) throw new Error(`unknown variant ${v}; known: ${Object.keys(VARIANTS).join(', ')}`);
  const refs = !process.argv.includes('--no-refs');
  const cells: Job[] = [];
  for (const shift of shifts)
    for (const n of ns) {
      const t = Math.ceil((shift === 'none' ? nullTrials : trials) / (n > 1000 ? 2 : 1));
      cells.push({ id: cells.length, dim, n, shift, first: 0, trials: t, perms: n > 1000 ? Math.min(perms, 100) : perms, variants, refs });
    }
  const chunks: (Job & { parent: number })[] = [];
  for (const c of cells) {
    const size = c.n > 1000 ? 2 : 5;
    for (let done = 0; done < c.trials; done += size) chunks.push({ ...c, id: chunks.length, parent: c.id, first: done, trials: Math.min(size, c.trials - done) });
  }
  chunks.sort((a, b) => b.n * b.trials - a.n * a.trials);
  const workers = Math.max(1, Math.min(Number(arg('--workers') ?? availableParallelism()), 8));
  console.log(`detection power: dim ${dim}, n per side ${ns.join(', ')}, ${trials} trials per shifted cell and ${nullTrials} per no-shift cell (halved at n > 1000), alpha ${ALPHA}, ${perms} permutations for the references (100 at n > 1000), ${workers} workers`);
  const totals = new Map<number, Counts>();
  const allRecords: TrialRecord[] = [];
  const started = performance.now();
  let next = 0;
  let finished = 0;
  await Promise.all(
    Array.from({ length: workers }, () => {
      const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
      const w = new Worker(boot, { eval: true });
      return new Promise<void>((resolve, reject) => {
        const feed = () => w.postMessage(next < chunks.length ? chunks[next++] : null);
        w.on('message', ({ id, counts, records }: { id: number; counts: Counts; records: TrialRecord[] }) => {
          allRecords.push(...records);
          const parent = chunks.find((c) => c.id === id)!.parent;
          const acc = totals.get(parent) ?? {};
          for (const [k, v] of Object.entries(counts)) acc[k] = (acc[k] ?? 0) + v;
          totals.set(parent, acc);
          if (++finished % Math.max(1, Math.round(chunks.length / 10)) === 0) process.stderr.write(`  ${Math.round((100 * finished) / chunks.length)}% after ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
          feed();
        });
        w.on('error', reject);
        w.on('exit', () => resolve());
        feed();
      });
    }),
  );

  const columns = ['driftwatch', ...variants, 'dw:p<alpha', 'dw:mmd', 'dw:ks', 'dw:domain_classifier', ...(refs ? REFS : [])];
  const header = `${'shift'.padEnd(26)}${'n'.padStart(5)} | ${columns.map((c) => c.padStart(Math.max(8, c.length + 1))).join('')}${refs ? '  best reference' : ''}`;
  console.log(`\nDetections out of trials (for "none": false alarms). dw:<test> = a test inside Driftwatch alone at alpha (its p-value before the combination); dw:p<alpha = the combined p-value alone (without min_effect).`);
  console.log(header);
  console.log('-'.repeat(header.length));
  for (const c of cells) {
    const t = totals.get(c.id)!;
    const cell = (k: string) => `${t[k] ?? 0}/${c.trials}`.padStart(Math.max(8, k.length + 1));
    let best = '';
    if (refs) {
      const pickBest = c.shift === 'none' ? Math.min : Math.max;
      const v = pickBest(...REFS.map((r) => t[r] ?? 0));
      best = `  ${REFS.filter((r) => (t[r] ?? 0) === v).join(', ')} ${v}/${c.trials}`;
    }
    console.log(`${describe(SHIFTS[c.shift]).padEnd(26)}${String(c.n).padStart(5)} | ${columns.map(cell).join('')}${best}   (monitor ${Math.round((t.time_ms ?? 0) / c.trials)} ms/trial)`);
  }
  const nulls = cells.filter((c) => c.shift === 'none');
  if (nulls.length) {
    console.log(`\nFalse alarms: one-sided binomial p of k alarms in T trials against alpha = ${ALPHA} (small = significantly above alpha):`);
    for (const c of nulls) {
      const t = totals.get(c.id)!;
      console.log(`  n = ${String(c.n).padStart(5)}: ${columns.map((k) => `${k} ${t[k] ?? 0}/${c.trials} (p ${binomialUpperTail(t[k] ?? 0, c.trials, ALPHA).toFixed(2)})`).join(', ')}`);
    }
  }
  const dump = arg('--dump');
  if (dump) writeFileSync(dump, allRecords.map((r) => JSON.stringify(r)).join('\n') + '\n');
  console.log(`\nElapsed ${((performance.now() - started) / 1000).toFixed(0)} s.`);
}

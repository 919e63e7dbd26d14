/**
 * Speed benchmark of the embedding compare at production size.
 *
 *   npm run bench -- [--rows 5000] [--dim 1536]
 *
 * Writes baseline and current windows (5,000 x 1536 float32 .npy, the current one
 * with a 10% new topic) to a temporary folder, runs the real `driftwatch compare`
 * code path (compareCommand: .npy parsing + embeddingMonitor) in a fresh child
 * process, and prints the time per method, the total and the child's peak RSS.
 * Then runs bench/sklearn_baseline.py on the same files when numpy + scikit-learn
 * are importable (Debian: apt-get install python3-sklearn), once on the full windows and
 * once with silhouette on a 2,000-row sample, and prints the ratio against the faster.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deriveRng } from '../packages/core/src/stats/rng.js';
import { makeWorld, sample, writeNpy } from './gen.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function child(baseline: string, current: string): Promise<void> {
  const { compareCommand } = await import('../apps/cli/src/commands/compare.js');
  let out = '';
  const t0 = performance.now();
  const code = await compareCommand(['--baseline', baseline, '--current', current, '--json'], { stdout: (s) => (out += s), stderr: (s) => process.stderr.write(s) });
  const wall = performance.now() - t0;
  const result = JSON.parse(out);
  process.stdout.write(JSON.stringify({ code, wall_ms: wall, maxrss_kb: process.resourceUsage().maxRSS, result }));
}

async function main(): Promise<void> {
  const rows = Number(arg('--rows', '5000'));
  const dim = Number(arg('--dim', '1536'));
  const dir = mkdtempSync(join(tmpdir(), 'driftwatch-bench-'));
  const b = join(dir, 'baseline.npy');
  const c = join(dir, 'current.npy');
  try {
    const world = makeWorld(dim, 5);
    const rng = deriveRng(1, 'bench');
    writeNpy(b, sample(world, rows, rng));
    writeNpy(c, sample(world, rows, rng, { kind: 'new_topic', fraction: 0.1 }));
    console.log(`embedding compare benchmark: ${rows} x ${dim} float32 per window (current: 10% new topic), files in ${dir}`);

    const self = fileURLToPath(import.meta.url);
    const run = spawnSync(process.execPath, [...process.execArgv, self, '--child', b, c], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (run.status !== 0) throw new Error(`compare child failed: ${run.stderr}`);
    const { wall_ms, maxrss_kb, result } = JSON.parse(run.stdout);
    const timings: Record<string, number> = result.timings_ms;
    const monitorMs = timings.total;
    console.log(`\nDriftwatch (compareCommand in a fresh process): verdict ${result.status}, score ${result.score}, p-value ${result.p_value}`);
    for (const [k, v] of Object.entries(timings)) if (k !== 'total') console.log(`  ${k.padEnd(20)} ${String(Math.round(v)).padStart(6)} ms`);
    console.log(`  ${'read .npy + other'.padEnd(20)} ${String(Math.round(wall_ms - monitorMs)).padStart(6)} ms`);
    console.log(`  ${'total'.padEnd(20)} ${String(Math.round(wall_ms)).padStart(6)} ms   (monitor ${Math.round(monitorMs)} ms)`);
    console.log(`  peak RSS             ${(maxrss_kb / 1024).toFixed(0).padStart(6)} MB`);

    const python = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import sklearn, numpy'], { stdio: 'ignore' }).status === 0);
    if (!python) {
      console.log('\nscikit-learn baseline skipped: numpy + scikit-learn are not importable. Install them with `apt-get install -y python3-sklearn` (Debian) and rerun.');
      return;
    }
    const script = join(dirname(self), 'sklearn_baseline.py');
    // Two reasonable scripts: silhouette on every row (as the original sketch did) and on a
    // 2,000-row sample (sklearn's sample_size, as a careful user would). The ratio is against the faster.
    const runs: { label: string; seconds: Record<string, number> }[] = [];
    for (const [label, extra] of [['full windows', []], ['silhouette on 2,000 sampled rows', ['--silhouette-sample', '2000']]] as const) {
      const py = spawnSync(python, [script, b, c, ...extra], { encoding: 'utf8' });
      if (py.status !== 0) {
        console.log(`\nscikit-learn baseline (${label}) failed: ${py.stderr.trim().split('\n').pop()}`);
        continue;
      }
      const sk = JSON.parse(py.stdout);
      runs.push({ label, seconds: sk.seconds });
      console.log(`\nscikit-learn (${python}, ${label}: KMeans + silhouette, PCA + PSI, centroids, variance):`);
      for (const [k, v] of Object.entries(sk.seconds as Record<string, number>)) if (k !== 'total') console.log(`  ${k.padEnd(20)} ${String(Math.round(v * 1000)).padStart(6)} ms`);
      console.log(`  ${'total'.padEnd(20)} ${String(Math.round(sk.seconds.total * 1000)).padStart(6)} ms`);
    }
    if (!runs.length) return;
    const fastest = runs.reduce((a, x) => (x.seconds.total < a.seconds.total ? x : a));
    const ratio = wall_ms / 1000 / fastest.seconds.total;
    console.log(`\nSide by side: driftwatch ${(wall_ms / 1000).toFixed(2)} s (descriptive figures + MMD, KS and classifier permutation tests) vs scikit-learn ${fastest.seconds.total.toFixed(2)} s (${fastest.label}; descriptive figures only); peak RSS ${(maxrss_kb / 1024).toFixed(0)} MB.`);
    console.log(`Ratio driftwatch / fastest scikit-learn script: ${ratio.toFixed(2)} (goal <= 1.00: ${ratio <= 1 ? 'met' : 'NOT met'}); peak RSS < 1024 MB: ${maxrss_kb / 1024 < 1024 ? 'met' : 'NOT met'}.`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();

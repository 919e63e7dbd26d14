/**
 * Speed benchmark of `driftwatch compare` at production size against scikit-learn.
 *
 *   npm run bench:compare -- [--rows 5000] [--dim 1536] [--runs 3] [--full-silhouette] [--cli PATH] [--against PATH]
 *
 * (`npm run bench` runs it with the defaults, then bench/window.ts.)
 *
 * Writes a baseline and a current window (5,000 x 1536 float32 .npy, the current one with a
 * 10% new topic) to a temporary folder, reads both once so that both sides find them in the
 * file cache, then runs, `--runs` times and in alternating order:
 * - the real command as a user runs it, `node apps/cli/bin/driftwatch.js compare --baseline B
 *   --current C --json` (compiled dist/, built first with `tsc -b`): the whole process, start-up
 *   included;
 * - `python3 bench/sklearn_baseline.py B C --silhouette-sample 2000` (numpy + scikit-learn;
 *   Debian: apt-get install python3-sklearn): the original design's descriptive figures only,
 *   silhouette on a 2,000-row sample as a careful user would: also the whole process,
 *   interpreter and imports included.
 * Each process reports its own CPU time (user + system, every thread) and peak RSS at exit;
 * wall time is measured here around the process. The machine is shared, so every round prints
 * the load average, and the summary gives medians: the ratio is median Driftwatch wall / median
 * scikit-learn wall (the goal is <= 1), with the median of the per-round ratios beside it.
 * `--full-silhouette` also runs the script with silhouette on every row once (slower: the ratio
 * is always taken against the faster script). `--cli PATH` times another build's
 * bin/driftwatch.js instead of this tree's (not rebuilt here); `--against PATH` times that
 * one too, in the same rounds, for a before/after comparison on the same machine state.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deriveRng } from '../packages/core/src/stats/rng.js';
import { makeWorld, sample, writeNpy } from './gen.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = arg('--cli', join(root, 'apps/cli/bin/driftwatch.js'));
const against = process.argv.includes('--against') ? arg('--against', '') : undefined;

/** One process: wall time measured here, CPU and peak RSS as the process reported them at exit. */
interface Run {
  wall_s: number;
  cpu_s: number;
  rss_mb: number;
  stdout: string;
}

// Each child reports its own resource usage on exit (stderr, last line), so that CPU time and
// peak RSS are the process's own, every thread included, whatever else the machine runs.
const NODE_RUSAGE = `data:text/javascript,import{writeSync}from'node:fs';process.on('exit',()=>{const r=process.resourceUsage();writeSync(2,'\\nRUSAGE '+JSON.stringify({cpu_s:(r.userCPUTime+r.systemCPUTime)/1e6,rss_mb:r.maxRSS/1024})+'\\n')})`;
const PYTHON_RUSAGE = `import atexit, json, resource, runpy, sys
def report():
    r = resource.getrusage(resource.RUSAGE_SELF)
    sys.stderr.write("\\nRUSAGE " + json.dumps({"cpu_s": r.ru_utime + r.ru_stime, "rss_mb": r.ru_maxrss / 1024}) + "\\n")
atexit.register(report)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")`;

function timed(cmd: string, args: string[], what: string): Run {
  const t0 = performance.now();
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const wall_s = (performance.now() - t0) / 1000;
  const line = res.stderr?.split('\n').find((l) => l.startsWith('RUSAGE '));
  if (res.status !== 0 || !line) throw new Error(`${what} failed (exit ${res.status}): ${res.stderr?.trim().split('\n').slice(-5).join('\n')}`);
  const usage = JSON.parse(line.slice('RUSAGE '.length)) as { cpu_s: number; rss_mb: number };
  return { wall_s, ...usage, stdout: res.stdout };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const fmt = (x: number, d = 2) => x.toFixed(d);

function main(): void {
  const rows = Number(arg('--rows', '5000'));
  const dim = Number(arg('--dim', '1536'));
  const runs = Math.max(1, Number(arg('--runs', '3')));

  const build = process.argv.includes('--cli') ? { status: 0, stdout: '', stderr: '' } : spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`tsc -b failed; the benchmark runs the compiled CLI:\n${build.stdout}${build.stderr}`);
  const python = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import sklearn, numpy'], { stdio: 'ignore' }).status === 0);
  if (!python) throw new Error('numpy + scikit-learn are not importable by python3 or /usr/bin/python3; install them (Debian: apt-get install -y python3-sklearn) and rerun');

  const dir = mkdtempSync(join(tmpdir(), 'driftwatch-bench-'));
  const b = join(dir, 'baseline.npy');
  const c = join(dir, 'current.npy');
  try {
    const world = makeWorld(dim, 5);
    const rng = deriveRng(1, 'bench');
    writeNpy(b, sample(world, rows, rng));
    writeNpy(c, sample(world, rows, rng, { kind: 'new_topic', fraction: 0.1 }));
    for (const f of [b, c]) readFileSync(f); // both sides then read them from the file cache
    const script = join(root, 'bench/sklearn_baseline.py');
    console.log(`compare benchmark: ${rows} x ${dim} float32 per window (current: 10% new topic), ${runs} rounds, files in ${dir}`);
    console.log(`  driftwatch:   node ${cli} compare --baseline B --current C --json`);
    if (against) console.log(`  against:      node ${against} compare --baseline B --current C --json (same rounds)`);
    console.log(`  scikit-learn: ${python} bench/sklearn_baseline.py B C --silhouette-sample 2000`);
    console.log(`\nround  load (1/5/15 min)   driftwatch wall / CPU / RSS      scikit-learn wall / CPU / RSS    ratio (walls)`);

    const dw: Run[] = [];
    const sk: Run[] = [];
    const ratios: number[] = [];
    const loads: number[] = [];
    const startup: number[] = [];
    const other: Run[] = [];
    const steps: Record<string, number[]> = {};
    const skSteps: Record<string, number[]> = {};
    let result: { status: string; p_value: number; score: number } | undefined;
    for (let r = 0; r < runs; r++) {
      const before = load();
      loads.push(loadavg()[0]);
      const compare = (bin: string, what: string) => () => timed(process.execPath, ['--import', NODE_RUSAGE, bin, 'compare', '--baseline', b, '--current', c, '--json'], what);
      const jobs = [compare(cli, 'driftwatch compare'), () => timed(python, ['-c', PYTHON_RUSAGE, script, b, c, '--silhouette-sample', '2000'], 'sklearn_baseline.py')];
      if (against) jobs.push(compare(against, 'the --against build'));
      // Rotate the order: no side always runs first or last on a warmer (or busier) machine.
      const done: Run[] = [];
      for (let j = 0; j < jobs.length; j++) {
        const k = (j + r) % jobs.length;
        done[k] = jobs[k]();
      }
      const [d, s] = done;
      if (against) other.push(done[2]);
      startup.push(timed(process.execPath, ['--import', NODE_RUSAGE, cli, '--help'], 'driftwatch --help').wall_s);
      dw.push(d);
      sk.push(s);
      ratios.push(d.wall_s / s.wall_s);
      const out = JSON.parse(d.stdout);
      result = out;
      for (const [k, v] of Object.entries(out.timings_ms as Record<string, number>)) (steps[k] ??= []).push(v);
      for (const [k, v] of Object.entries(JSON.parse(s.stdout).seconds as Record<string, number>)) (skSteps[k] ??= []).push(v * 1000);
      console.log(
        `${String(r + 1).padStart(5)}  ${before.padEnd(18)}  ${fmt(d.wall_s).padStart(6)} s / ${fmt(d.cpu_s).padStart(5)} s / ${fmt(d.rss_mb, 0).padStart(4)} MB   ${fmt(s.wall_s).padStart(6)} s / ${fmt(s.cpu_s).padStart(5)} s / ${fmt(s.rss_mb, 0).padStart(4)} MB   ${fmt(d.wall_s / s.wall_s).padStart(5)}` +
          (against ? `   against: ${fmt(other[r].wall_s)} s / ${fmt(other[r].cpu_s)} s / ${fmt(other[r].rss_mb, 0)} MB` : ''),
      );
    }
    if (process.argv.includes('--full-silhouette')) {
      const full = timed(python, ['-c', PYTHON_RUSAGE, script, b, c], 'sklearn_baseline.py (silhouette on every row)');
      console.log(`\nscikit-learn with silhouette on every row (once, load ${load()}): ${fmt(full.wall_s)} s wall, ${fmt(full.cpu_s)} s CPU, ${fmt(full.rss_mb, 0)} MB; the ratio below is against the faster sampled script`);
    }

    const med = (rs: Run[], k: 'wall_s' | 'cpu_s') => median(rs.map((x) => x[k]));
    const monitor = median(steps.total) / 1000;
    console.log(`\nDriftwatch: verdict ${result?.status}, p-value ${result?.p_value}, score ${result?.score}. Median time per step of the monitor (ms):`);
    console.log(`  ${Object.entries(steps).map(([k, v]) => `${k} ${Math.round(median(v))}`).join(', ')}`);
    console.log(`  outside the monitor (node start-up, loading the code, reading the files, output): ${fmt(med(dw, 'wall_s') - monitor)} s; \`driftwatch --help\` alone: ${fmt(median(startup))} s`);
    console.log(`scikit-learn, median time per step (ms): ${Object.entries(skSteps).map(([k, v]) => `${k} ${Math.round(median(v))}`).join(', ')}`);
    console.log(`  outside the script's own timer (interpreter start-up, imports): ${fmt(med(sk, 'wall_s') - median(skSteps.total) / 1000)} s`);

    const ratio = med(dw, 'wall_s') / med(sk, 'wall_s');
    const rss = Math.max(...dw.map((x) => x.rss_mb));
    console.log(`\nMedian of ${runs} rounds, load average (1 min) ${fmt(Math.min(...loads))}-${fmt(Math.max(...loads))} on ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim() || '?'} cores:`);
    console.log(`  driftwatch compare  wall ${fmt(med(dw, 'wall_s'))} s, CPU ${fmt(med(dw, 'cpu_s'))} s, peak RSS ${fmt(rss, 0)} MB (descriptive figures + MMD, KS and classifier permutation tests)`);
    console.log(`  scikit-learn        wall ${fmt(med(sk, 'wall_s'))} s, CPU ${fmt(med(sk, 'cpu_s'))} s, peak RSS ${fmt(Math.max(...sk.map((x) => x.rss_mb)), 0)} MB (descriptive figures only)`);
    if (against)
      console.log(`  against build       wall ${fmt(med(other, 'wall_s'))} s, CPU ${fmt(med(other, 'cpu_s'))} s, peak RSS ${fmt(Math.max(...other.map((x) => x.rss_mb)), 0)} MB; ratio to scikit-learn ${fmt(med(other, 'wall_s') / med(sk, 'wall_s'))} (CPU ${fmt(med(other, 'cpu_s') / med(sk, 'cpu_s'))})`);
    console.log(`Ratio driftwatch / scikit-learn: ${fmt(ratio)} (walls; median of per-round ratios ${fmt(median(ratios))}; CPU ${fmt(med(dw, 'cpu_s') / med(sk, 'cpu_s'))}); goal <= 1.00: ${ratio <= 1 ? 'met' : 'NOT met'}; peak RSS < 1024 MB: ${rss < 1024 ? 'met' : 'NOT met'}.`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();

/**
 * `driftwatch compare`: run one monitor on two files, offline, with the same
 * functions the monitor workers use (so a stored drift run and a compare of the
 * same windows agree).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { DriftConfig, Matrix, MonitorKind, MonitorResult } from '@driftwatch/core';
import type { ReportInput } from '../report/html.js';
import { InputError, inferKind, readAccuracyRows, readEmbeddings, readInteractions } from './compare-input.js';

// Each kind of compare imports only the modules it needs, by path (@driftwatch/core/<path>.js),
// never the core's index: that would load the queues, databases, providers and metrics
// (bullmq, ioredis, pg, PGlite, openai, prom-client), over a second of start-up that an
// offline compare of two files never uses.

export const COMPARE_USAGE = `Usage: driftwatch compare --baseline FILE --current FILE [options]

Compares two windows offline and prints the monitor's verdict.
  --baseline FILE     reference window
  --current FILE      window to test
  --kind K            embedding | behavior | accuracy (default: inferred from the baseline file)
  --json              print exactly one JSON object (the MonitorResult)
  --html OUT          also write a self-contained HTML report to OUT
  --config FILE       drift_config YAML for thresholds, min_samples, alpha, seed (default: built-in defaults)
  --seed N            seed for sampling and permutations (overrides the config)
  --fail-on-drift     exit 1 when the verdict is drift
Files: embeddings as .npy (2-D float32/float64), .csv or .jsonl (arrays or {"embedding": [...]});
interactions as .jsonl {"query", "response", "error"?, "latency_ms"?};
evaluations as .jsonl {"correct"} or {"expected", "predicted"}, feedback {"score": 1-5}, {"task_success"}.
Exit status: 0 done (whatever the verdict), 1 drift with --fail-on-drift, 2 bad input or usage.
`;

type Io = { stdout: (s: string) => void; stderr: (s: string) => void };
const defaultIo: Io = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };
const KINDS: MonitorKind[] = ['embedding', 'behavior', 'accuracy'];

class UsageError extends Error {}

/** Points shown in the HTML scatter per window. */
const SCATTER_POINTS = 1500;

/** Runs `compare` with argv after the word "compare"; resolves to the exit code. */
export async function compareCommand(argv: string[], io: Io = defaultIo): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        baseline: { type: 'string' },
        current: { type: 'string' },
        kind: { type: 'string' },
        json: { type: 'boolean', default: false },
        html: { type: 'string' },
        config: { type: 'string' },
        seed: { type: 'string' },
        'fail-on-drift': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.stdout(COMPARE_USAGE);
      return 0;
    }
    if (!values.baseline || !values.current) throw new UsageError('--baseline FILE and --current FILE are required');
    if (values.kind !== undefined && !KINDS.includes(values.kind as MonitorKind)) throw new UsageError(`--kind must be one of ${KINDS.join(', ')}, got "${values.kind}"`);
    const config = await readConfig(values.config);
    if (values.seed !== undefined) {
      const seed = Number(values.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got "${values.seed}"`);
      config.seed = seed;
    }
    const kind = (values.kind as MonitorKind | undefined) ?? inferKind(values.baseline);
    if (!values.kind) {
      const other = inferKind(values.current);
      if (other !== kind) throw new InputError(values.current, null, `holds ${other} data but the baseline holds ${kind} data`);
    }
    const { result, scatter } = await run(kind, values.baseline, values.current, config, Boolean(values.html));
    if (values.html) {
      const { renderHtml } = await import('../report/html.js');
      const report: ReportInput = {
        result,
        baselineFile: values.baseline,
        currentFile: values.current,
        alpha: config.alpha,
        scatter,
        generatedAt: new Date(),
        configFile: values.config ?? '(defaults)',
        seed: config.seed,
        permutations: config.embedding_thresholds.permutations,
      };
      try {
        writeFileSync(values.html, renderHtml(report));
      } catch (e) {
        throw new InputError(values.html, null, `cannot write the report: ${(e as Error).message}`);
      }
    }
    io.stdout(values.json ? `${JSON.stringify(result)}\n` : summary(result, values.html));
    return values['fail-on-drift'] && result.status === 'drift' ? 1 : 0;
  } catch (e) {
    if (e instanceof InputError || e instanceof UsageError) {
      io.stderr(`driftwatch compare: ${e.message}\n`);
      if (e instanceof UsageError) io.stderr(COMPARE_USAGE);
      return 2;
    }
    if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`driftwatch compare: ${e.message}\n${COMPARE_USAGE}`);
      return 2;
    }
    if (e instanceof Error && (e.name === 'ConfigError' || e instanceof RangeError || e instanceof SyntaxError)) {
      io.stderr(`driftwatch compare: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

async function readConfig(path: string | undefined): Promise<DriftConfig> {
  if (path) return (await import('@driftwatch/core/config/load.js')).loadDriftConfig(path);
  return (await import('@driftwatch/core/config/schema.js')).driftConfigSchema.parse({ models: [{ name: 'compare' }] });
}

async function run(kind: MonitorKind, baselineFile: string, currentFile: string, config: DriftConfig, withScatter: boolean): Promise<{ result: MonitorResult; scatter?: ReportInput['scatter'] }> {
  const settings = { min_samples: config.min_samples, alpha: config.alpha, seed: config.seed };
  if (kind === 'embedding') {
    // The domain classifier runs on a second thread while this one computes the rest of the
    // monitor (same result as in one thread); the thread starts first, so that its start-up
    // overlaps the reading of the files (off the main thread, fs promises) and the loading
    // of the monitor's code.
    const { startClassifierThread } = await import('@driftwatch/core/monitors/embedding-classifier.js');
    const thread = startClassifierThread();
    try {
      const [b, c, { embeddingMonitorParallel }] = await Promise.all([readEmbeddings(baselineFile), readEmbeddings(currentFile), import('@driftwatch/core/monitors/embedding.js')]);
      if (b.cols !== c.cols) throw new InputError(currentFile, null, `embeddings have ${c.cols} dimensions but the baseline's (${baselineFile}) have ${b.cols}`);
      const result = await embeddingMonitorParallel(b, c, config.embedding_thresholds, settings, thread.classify);
      return { result, scatter: withScatter ? await scatterPoints(b, c, config) : undefined };
    } finally {
      await thread.close();
    }
  }
  if (kind === 'behavior') {
    const b = readInteractions(baselineFile);
    const c = readInteractions(currentFile);
    const [{ behaviorMonitor }, { OfflineModerationProvider }] = await Promise.all([import('@driftwatch/core/monitors/behavior.js'), import('@driftwatch/core/monitors/moderation.js')]);
    const moderation = new OfflineModerationProvider();
    for (const recs of [b, c]) {
      const flags = await moderation.moderate(recs.map((r) => r.response));
      recs.forEach((r, i) => (r.toxic = flags[i].flagged));
    }
    return { result: behaviorMonitor(b, c, config.behavior_thresholds, settings) };
  }
  const rowsB = readAccuracyRows(baselineFile);
  const rowsC = readAccuracyRows(currentFile);
  const { accuracyMonitor, accuracyWindowFrom } = await import('@driftwatch/core/monitors/accuracy.js');
  return { result: accuracyMonitor(accuracyWindowFrom(rowsB), accuracyWindowFrom(rowsC), config.accuracy_thresholds, settings) };
}

/** Both windows on the first two principal components of their pooled sample (after the monitor's projection). */
async function scatterPoints(b: Matrix, c: Matrix, config: DriftConfig): Promise<ReportInput['scatter']> {
  const [{ deriveRng, sampleIndices }, { project, sparseProjection, stack, takeRows, totalVariance }, { pcaFit, pcaTransform }] = await Promise.all([
    import('@driftwatch/core/stats/rng.js'),
    import('@driftwatch/core/stats/matrix.js'),
    import('@driftwatch/core/stats/pca.js'),
  ]);
  const sb = takeRows(b, sampleIndices(b.rows, SCATTER_POINTS, deriveRng(config.seed, 'scatter-baseline')));
  const sc = takeRows(c, sampleIndices(c.rows, SCATTER_POINTS, deriveRng(config.seed, 'scatter-current')));
  const dim = config.embedding_thresholds.projection_dim;
  const pr = b.cols > dim ? sparseProjection(b.cols, dim, deriveRng(config.seed, 'scatter-projection')) : null;
  const zb = pr ? project(sb, pr) : sb;
  const zc = pr ? project(sc, pr) : sc;
  const pooled = stack(zb, zc);
  const fit = pcaFit(pooled, 2);
  const total = totalVariance(pooled);
  const toPairs = (m: Matrix): [number, number][] => {
    const t = pcaTransform(m, fit);
    return Array.from({ length: t.rows }, (_, i) => [t.data[i * t.cols], t.cols > 1 ? t.data[i * t.cols + 1] : 0]);
  };
  const explained = fit.variances.map((v) => (total > 0 ? v / total : 0));
  return { baseline: toPairs(zb), current: toPairs(zc), explained: [explained[0] ?? 0, explained[1] ?? 0] };
}

function fmt(x: unknown): string {
  if (typeof x === 'number') return Number.isInteger(x) ? String(x) : Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(2) : x.toFixed(4);
  return x === null || x === undefined ? '-' : String(x);
}

/** The readable (non-JSON) output. */
export function summary(result: MonitorResult, htmlPath?: string): string {
  const lines = [
    `${result.kind} compare: ${result.status.toUpperCase().replace('_', ' ')}  (score ${fmt(result.score)}, severity ${result.severity}, p-value ${fmt(result.p_value)})`,
    `baseline n=${result.n_baseline}, current n=${result.n_current}`,
    result.reason,
  ];
  const entries = Object.entries(result.methods);
  if (entries.length) {
    const header = ['method', 'baseline', 'current', 'value', 'p-value', 'threshold', 'flagged'];
    const rows = entries.map(([name, m]) => [name, fmt(m.baseline), fmt(m.current), fmt(m.value), fmt(m.p_value), fmt(m.threshold), m.flagged ? 'yes' : 'no']);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    lines.push('', line(header), ...rows.map(line));
  }
  if (result.timings_ms) lines.push('', `time (ms): ${Object.entries(result.timings_ms).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (htmlPath) lines.push(`report written to ${htmlPath}`);
  return `${lines.join('\n')}\n`;
}

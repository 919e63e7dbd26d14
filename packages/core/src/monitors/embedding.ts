import type { EmbeddingThresholds, MonitorSettings } from '../config/schema.js';
import { clusterMeans, kmeansFit, silhouette } from '../stats/clustering.js';
import { clusterProportions } from '../stats/cluster-proportions.js';
import { ksDistance, ksMaxPermutation } from '../stats/ks.js';
import { colMeans, cosineDistance, euclidean, project, sparseProjection, stack, takeRows, totalVariance } from '../stats/matrix.js';
import { mmdPermutationTest } from '../stats/mmd.js';
import { minPCombination, upperShares } from '../stats/multiple.js';
import { column, pcaFit, pcaTransform } from '../stats/pca.js';
import { psi } from '../stats/psi.js';
import { deriveRng, sampleIndices, shuffleInPlace } from '../stats/rng.js';
import { fmtP, insufficientData, judged, r } from './common.js';
import { TOP_SHARE, runEmbeddingClassifier, type EmbeddingClassifierJob, type EmbeddingClassifierOutput } from './embedding-classifier.js';
import type { Matrix, MethodResult, MonitorResult } from './types.js';

/** Principal components tested by KS and binned by PSI. */
const TOP_COMPONENTS = 10;
/** Bandwidths of the MMD kernel mixture, as multiples of the median pairwise distance. */
const MMD_SCALES = [0.5, 1];
/** Random Fourier feature pairs of the MMD kernel. */
const MMD_FEATURES = 256;
/** Score at or above which a drift is `significant` rather than `moderate` (AUC >= 0.6). */
const SIGNIFICANT_SCORE = 0.2;

/**
 * Embedding drift between two windows of embeddings (rows = texts).
 *
 * Pipeline (each window is first subsampled to `t.max_sample` rows with the seeded RNG):
 * 1. Descriptive figures of the original design, reported in `methods` with their
 *    fixed thresholds (they never decide alone; their scale depends on n and d):
 *    - `centroid_distance`: cosine distance between the window means (`value`, full
 *      dimension, all rows) and the Euclidean one (`euclidean`); threshold `distance_threshold`.
 *    - `variance`: total variance (trace of the covariance) per window; `value` is the
 *      relative change; threshold `variance_threshold`.
 *    - `silhouette`: KMeans (`clusters`, ml-kmeans, k-means++) fitted separately on
 *      each window (in the projected space); `value` = |silhouette change|; threshold `silhouette_threshold`.
 *    - `cluster_shift`: how the mix of topics moved. The baseline's KMeans clusters are
 *      its topics; each current row is assigned to the nearest baseline centroid. `value`
 *      = total variation distance of the two windows' cluster proportions (0 = same mix,
 *      1 = disjoint), with `baseline_proportions` / `current_proportions` per cluster,
 *      `distance_ratio` (mean distance of current rows to their centroid over the
 *      baseline's: > 1 when rows lie far from every known topic) and `centroid_distance`
 *      (mean distance from each baseline centroid to the nearest current one). A new
 *      topic raises it; descriptive, not a test.
 *    - `psi`: PSI on projections onto the baseline's top 10 principal directions,
 *      baseline deciles as bins; `value` = mean over the directions, `max` too;
 *      threshold `psi_threshold`.
 * 2. Calibrated tests. Which test is for which shift (bench/power.ts, d = 384, n = 500
 *    rows per side, 20 seeded trials per row, alpha 0.05; detections of each test
 *    alone at alpha (classifier: the better of its two statistics), of the decision,
 *    and of the best reference single method computed on the same data):
 *
 *    | shift                                   | MMD   | classifier | decision | best reference |
 *    |-----------------------------------------|-------|------------|----------|----------------|
 *    | none (false alarms)                     | 1/20  | 1/20       | 2/20     | 1/20           |
 *    | new topic, 10% of the current window    | 11/20 | 20/20      | 20/20    | 15/20 (MMD narrow) |
 *    | two topics re-weighted by 0.1 of mass   | 20/20 | 19/20      | 20/20    | 20/20 (MMD narrow) |
 *    | every row moved 2% of its norm          | 1/20  | 20/20      | 20/20    | 20/20 (linear classifier) |
 *    | new topic, 6% of the current window     | 3/20  | 20/20      | 18/20    | 5/20 (linear classifier) |
 *
 *    At n = 100 (same bench): false alarms 0/20; 10% topic 5/20 (best reference 3/20),
 *    re-weighting 4/20 (6/20, MMD narrow), mean shift 13/20 (15/20, linear classifier),
 *    6% topic 2/20 (3/20, MMD): the decision loses 1 or 2 trials to the best single test
 *    on three rows, the price of testing three statistics at once. At n = 2000 (10 trials,
 *    references not computed): 0/10 false alarms, every shift 10/10.
 *
 *    - `mmd` (re-weighted topics, large new topics): kernel MMD^2 with a mixture of RBF
 *      kernels at 0.5 and 1 x the median pairwise distance, 256 random Fourier features.
 *    - `domain_classifier` (small mean shifts, new topics): a ridge-regularised linear
 *      discriminant telling current rows from baseline rows, 5-fold cross-validated, on
 *      the full dimension (a sparse random projection to `t.classifier_dim` when the
 *      embeddings are wider): a mean shift of 2% of the norm hides in the low-variance
 *      directions that a 64-d projection averages away (10/20 there, 20/20 here). The
 *      ridge is large (max(2, 0.1 + f/N) on standardised features, see
 *      CLASSIFIER_RIDGE in embedding-classifier.ts): close to a nearest-centroid rule, which finds a small new topic
 *      that the fully whitened discriminant loses in its noise.
 *      Two statistics: the out-of-fold AUC (`value`, shifts of the whole window) and the
 *      share of current rows among each fold's top-scored 5%, at least 4 rows
 *      (`top_share`, a small new subpopulation that the AUC dilutes); `tpr_at_fpr10` =
 *      share of current rows scoring above the baseline rows' 90th percentile.
 *    - `ks` (reported, not part of the decision): the largest KS distance over the 10
 *      leading principal components of the pooled projected sample, with its
 *      permutation p-value; it never caught a shift the other two missed.
 *    The MMD and the classifier see the same rows (subsample, full dimension up to
 *    `t.classifier_dim`); KS, PSI and KMeans the `t.projection_dim` projection.
 *    Measured on the same relabellings and left out, because no row gained (n = 500,
 *    20 trials, beside the former classifier settings): MMD at 0.5 x the median bandwidth alone (10% topic 12/20, re-weighting
 *    20/20: the mixture already holds it; as a fourth statistic it cost a re-weighting
 *    detection) and at 0.25 x (1/20 and 4/20); chi-square on k-means clusters of the
 *    pooled rows, k = 8, 16, 32 (re-weighting 15, 18, 18/20 alone; nothing gained as a
 *    fourth statistic); a 10-nearest-neighbour count (Schilling; 6% topic 9/20 alone).
 *
 * Decision, in one paragraph: the pooled rows are relabelled at random `t.permutations`
 * times, and the three statistics (MMD, AUC, top share) are computed on the real
 * labels and on every relabelling. Each statistic's p-value is the share of
 * relabellings that score at least as high; the monitor's `p_value` is the share of
 * relabellings whose smallest p-value is at most the real one (min-p, Westfall &
 * Young), so the false-alarm rate is at most `s.alpha` at any sample size without a
 * Bonferroni factor. The effect is how much better than chance the classifier tells
 * the windows apart, out of sample: the larger of AUC - 0.5 and TPR@10%FPR - 0.1 (the
 * second reads as roughly 0.9 x the share of the current window that is new). Status
 * is `drift` iff p_value < alpha AND effect >= `t.min_effect`; `insufficient_data`
 * when either window has fewer than `s.min_samples` rows (score 0, p_value null).
 * In the bench min_effect blocked one true detection (n = 500, 6% topic, effect 0.0198)
 * and no false alarm (the two at n = 500 had effects 0.039 and 0.044).
 * Each test's `p_value` is its own permutation p-value; `flagged` marks the test with
 * the smallest one when the monitor alarms. The combined p-value can be no smaller
 * than about 3/(B+1) when the statistics disagree about the most extreme
 * relabelling: the config requires B >= 4/alpha - 1.
 *
 * Score (0..1) = clamp(2 x (AUC - 0.5)), the Gini coefficient of the classifier:
 * 0 = indistinguishable windows, 1 = perfectly separable. Severity: `none` without
 * drift; `significant` when drift and score >= 0.2 (AUC >= 0.6); else `moderate`.
 *
 * Deterministic for a given `s.seed` (except `timings_ms`).
 * @throws RangeError when the windows differ in dimension or hold a non-finite value.
 */
export function embeddingMonitor(baseline: Matrix, current: Matrix, t: EmbeddingThresholds, s: MonitorSettings): MonitorResult {
  const steps = embeddingSteps(baseline, current, t, s);
  const first = steps.next();
  if (first.done) return first.value;
  const job = first.value as EmbeddingClassifierJob;
  const wait = steps.next();
  if (wait.done) return wait.value;
  return steps.next(runEmbeddingClassifier(job)).value as MonitorResult;
}

/**
 * The same monitor with its domain classifier computed elsewhere (another thread) while
 * this thread computes the rest: `classify` receives the classifier's input and returns
 * what runEmbeddingClassifier(job) returns there. The result is the one embeddingMonitor
 * gives (every random stream is derived from the seed by name, not by order), except
 * `timings_ms`, where `domain_classifier` is the classifier's own time in its thread.
 * `driftwatch compare` runs this way on two cores.
 */
export async function embeddingMonitorParallel(
  baseline: Matrix,
  current: Matrix,
  t: EmbeddingThresholds,
  s: MonitorSettings,
  classify: (job: EmbeddingClassifierJob) => Promise<EmbeddingClassifierOutput>,
): Promise<MonitorResult> {
  const steps = embeddingSteps(baseline, current, t, s);
  const first = steps.next();
  if (first.done) return first.value;
  const pending = classify(first.value as EmbeddingClassifierJob);
  // A rejection is taken below, after this thread's part; until then it must not count as unhandled.
  pending.catch(() => {});
  const wait = steps.next();
  if (wait.done) return wait.value;
  return steps.next(await pending).value as MonitorResult;
}

/**
 * The monitor in steps: yields the classifier's job as soon as its input is ready, then
 * computes everything else, then yields once more to receive the classifier's output
 * and returns the result. Returns early (insufficient data) without yielding.
 */
function* embeddingSteps(
  baseline: Matrix,
  current: Matrix,
  t: EmbeddingThresholds,
  s: MonitorSettings,
): Generator<EmbeddingClassifierJob | undefined, MonitorResult, EmbeddingClassifierOutput | undefined> {
  if (baseline.cols !== current.cols && baseline.rows > 0 && current.rows > 0)
    throw new RangeError(`baseline embeddings have ${baseline.cols} dimensions, current ${current.cols}`);
  assertFinite(baseline, 'baseline');
  assertFinite(current, 'current');
  const nb = baseline.rows;
  const nc = current.rows;
  if (nb < s.min_samples || nc < s.min_samples || nb < 2 || nc < 2) return insufficientData('embedding', nb, nc, s.min_samples, 'embeddings');

  const timings: Record<string, number> = {};
  const started = performance.now();
  const timed = <T>(name: string, fn: () => T): T => {
    const t0 = performance.now();
    const v = fn();
    timings[name] = Math.round((performance.now() - t0) * 10) / 10;
    return v;
  };
  const methods: Record<string, MethodResult> = {};

  // Descriptive, full dimension, all rows (O(n d)).
  timed('centroid_distance', () => {
    const mb = colMeans(baseline);
    const mc = colMeans(current);
    const cos = cosineDistance(mb, mc);
    methods.centroid_distance = { value: r(cos), euclidean: r(euclidean(mb, mc)), threshold: t.distance_threshold, flagged: cos > t.distance_threshold };
    const vb = totalVariance(baseline, mb);
    const vc = totalVariance(current, mc);
    const rel = vb > 0 ? (vc - vb) / vb : 0;
    methods.variance = { baseline: r(vb), current: r(vc), value: r(rel), threshold: t.variance_threshold, flagged: Math.abs(rel) > t.variance_threshold };
  });

  // Subsample, then project (O(n d k)).
  const { xb, xc, zb, zc } = timed('projection', () => {
    const xb = subsample(baseline, t.max_sample, deriveRng(s.seed, 'sample-baseline'));
    const xc = subsample(current, t.max_sample, deriveRng(s.seed, 'sample-current'));
    if (xb.cols <= t.projection_dim) return { xb, xc, zb: xb, zc: xc };
    const pr = sparseProjection(xb.cols, t.projection_dim, deriveRng(s.seed, 'projection'));
    return { xb, xc, zb: project(xb, pr), zc: project(xc, pr) };
  });
  // The full dimension up to classifier_dim (a small mean shift hides in the
  // low-variance directions that a 64-d projection averages away).
  const { fb, fc } = timed('classifier_projection', () => {
    if (xb.cols <= t.classifier_dim) return { fb: xb, fc: xc };
    const pr = sparseProjection(xb.cols, t.classifier_dim, deriveRng(s.seed, 'classifier-projection'));
    return { fb: project(xb, pr), fc: project(xc, pr) };
  });
  // One set of relabellings of the pooled rows, shared by every test (min-p combination).
  const labelings = timed('permutations', () => drawLabelings(zb.rows, zc.rows, t.permutations, deriveRng(s.seed, 'permutations')));
  // The classifier may run elsewhere meanwhile (embeddingMonitorParallel).
  yield { fb, fc, labelings, seed: s.seed };
  const p = zb.cols;
  const q = Math.min(TOP_COMPONENTS, p);

  // Leading principal components of the pooled sample (label-free, so tests on them keep their level).
  const { sb, sc } = timed('pca', () => {
    const fit = pcaFit(stack(zb, zc), q);
    return { sb: pcaTransform(zb, fit), sc: pcaTransform(zc, fit) };
  });

  timed('psi', () => {
    const fit = pcaFit(zb, q);
    const pb = pcaTransform(zb, fit);
    const pc = pcaTransform(zc, fit);
    const values = Array.from({ length: fit.q }, (_, k) => psi(column(pb, k), column(pc, k)));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    methods.psi = { value: r(mean), max: r(Math.max(...values)), components: fit.q, threshold: t.psi_threshold, flagged: mean > t.psi_threshold };
  });

  timed('kmeans', () => {
    const seed = Math.floor(deriveRng(s.seed, 'kmeans').next() * 2 ** 31);
    const cb = kmeansFit(zb, t.clusters, seed);
    const cc = kmeansFit(zc, t.clusters, seed);
    const silB = silhouette(zb, cb.labels, cb.k, deriveRng(s.seed, 'silhouette-baseline'));
    const silC = silhouette(zc, cc.labels, cc.k, deriveRng(s.seed, 'silhouette-current'));
    const delta = Math.abs(silC - silB);
    methods.silhouette = { baseline: r(silB), current: r(silC), value: r(delta), clusters: cb.k, threshold: t.silhouette_threshold, flagged: delta > t.silhouette_threshold };
    // Centroids in the original space: means of each cluster's full-dimension rows.
    const fb = clusterMeans(xb, cb.labels, cb.k);
    const fc = clusterMeans(xc, cc.labels, cc.k);
    const d = xb.cols;
    let shift = 0;
    for (let a = 0; a < cb.k; a++) {
      let best = Infinity;
      for (let b = 0; b < cc.k; b++) best = Math.min(best, euclidean(fb.centroids.subarray(a * d, (a + 1) * d), fc.centroids.subarray(b * d, (b + 1) * d)));
      shift += best;
    }
    // Topics: the baseline's clusters, with the current window's rows assigned to them (fitted on the baseline only).
    const topics = clusterProportions(zb, cb.labels, cb.centroids, cb.k, zc);
    methods.cluster_shift = {
      value: r(topics.shift),
      baseline_proportions: topics.baseline.map((x) => r(x)),
      current_proportions: topics.current.map((x) => r(x)),
      distance_ratio: r(topics.distance_ratio),
      centroid_distance: r(shift / cb.k),
      threshold: null,
      flagged: false,
    };
  });

  const mmd = timed('mmd', () => mmdPermutationTest(fb, fc, { permutations: t.permutations, rng: deriveRng(s.seed, 'mmd'), scales: MMD_SCALES, features: MMD_FEATURES, labelings }));
  // Reported beside the decision: KS on the leading pooled components (same relabellings).
  const ks = timed('ks', () => {
    const cols = Array.from({ length: q }, (_, k) => {
      const c = new Float64Array(sb.rows + sc.rows);
      for (let i = 0; i < sb.rows; i++) c[i] = sb.data[i * sb.cols + k];
      for (let i = 0; i < sc.rows; i++) c[sb.rows + i] = sc.data[i * sc.cols + k];
      return c;
    });
    let component = 0;
    let d = -1;
    for (let k = 0; k < q; k++) {
      const dk = ksDistance(cols[k].subarray(0, sb.rows), cols[k].subarray(sb.rows));
      if (dk > d) [d, component] = [dk, k];
    }
    return { d, component, p_value: upperShares(ksMaxPermutation(cols, sb.rows, labelings))[0] };
  });

  const classified = yield undefined;
  if (!classified) throw new Error('the embedding monitor needs the domain classifier\'s output');
  const clf = classified.result;
  timings.domain_classifier = Math.round(classified.ms * 10) / 10;

  // Min-p over the three statistics on the same relabellings: exact level alpha, no Bonferroni factor.
  const combined = minPCombination([mmd.permutation, clf.permutation.auc, clf.permutation.top]);
  const [pMmd, pAuc, pTop] = combined.marginal;
  const pKs = ks.p_value;
  const pValue = combined.p_value;
  const effect = Math.max(clf.auc - 0.5, clf.tpr - clf.fpr);
  const bigEnough = effect >= t.min_effect;
  const pClf = Math.min(pAuc, pTop);
  const first = Math.min(pMmd, pClf);
  const leads = (p: number) => pValue < s.alpha && bigEnough && p === first;
  methods.mmd = { value: r(mmd.mmd2, 8), p_value: r(pMmd), standardized: r(mmd.standardized, 3), bandwidth: r(mmd.bandwidth), permutations: mmd.permutations, threshold: s.alpha, flagged: leads(pMmd) };
  methods.ks = { value: r(ks.d), p_value: r(pKs), component: ks.component, components: q, threshold: s.alpha, flagged: false, note: 'reported, not part of the decision' };
  methods.domain_classifier = { value: r(clf.auc), effect: r(effect), tpr_at_fpr10: r(clf.tpr), top_share: r(clf.top), top_fraction: clf.top_fraction, p_value: r(pClf), p_auc: r(pAuc), p_top_share: r(pTop), features: fb.cols, folds: clf.folds, permutations: clf.permutations, threshold: s.alpha, min_effect: t.min_effect, flagged: leads(pClf) };

  const significant = pValue < s.alpha;
  const drift = significant && bigEnough;
  const score = Math.min(1, Math.max(0, 2 * (clf.auc - 0.5)));
  timings.total = Math.round((performance.now() - started) * 10) / 10;
  const evidence = `MMD p=${fmtP(pMmd)}, classifier p=${fmtP(pAuc)} (AUC ${clf.auc.toFixed(3)}) / ${fmtP(pTop)} (top-${TOP_SHARE * 100}% share, TPR at 10% FPR ${clf.tpr.toFixed(3)}); min-p combined p=${fmtP(pValue)}`;
  const reason = drift
    ? `drift: ${evidence} < alpha ${s.alpha} and effect ${effect.toFixed(3)} >= min_effect ${t.min_effect}`
    : significant
      ? `no drift: ${evidence} is significant but effect ${effect.toFixed(3)} < min_effect ${t.min_effect}`
      : `no drift: ${evidence} >= alpha ${s.alpha}`;
  return {
    ...judged('embedding', { drift, score, p_value: pValue, significantScore: SIGNIFICANT_SCORE, n_baseline: nb, n_current: nc, methods, gauges: {}, reason }),
    timings_ms: timings,
  };
}

/** B random relabellings of n + m pooled rows: 0/1 vectors with m ones (uniform over all such). */
function drawLabelings(n: number, m: number, B: number, rng: ReturnType<typeof deriveRng>): Uint8Array[] {
  const base = new Uint8Array(n + m);
  for (let i = n; i < n + m; i++) base[i] = 1;
  return Array.from({ length: B }, () => shuffleInPlace(Uint8Array.from(base), rng));
}

function subsample(m: Matrix, max: number, rng: ReturnType<typeof deriveRng>): Matrix {
  return takeRows(m, sampleIndices(m.rows, max, rng));
}

function assertFinite(m: Matrix, name: string): void {
  if (m.data.length !== m.rows * m.cols) throw new RangeError(`${name}: data holds ${m.data.length} values, expected ${m.rows} x ${m.cols}`);
  for (let i = 0; i < m.data.length; i++)
    if (!Number.isFinite(m.data[i])) throw new RangeError(`${name}: row ${Math.floor(i / m.cols)} column ${i % m.cols} is not a finite number`);
}

import type { EmbeddingThresholds, MonitorSettings } from '../config/schema.js';
import { domainClassifierTest } from '../stats/classifier.js';
import { clusterMeans, kmeansFit, silhouette } from '../stats/clustering.js';
import { clusterProportions } from '../stats/cluster-proportions.js';
import { ksTwoSample } from '../stats/ks.js';
import { colMeans, cosineDistance, euclidean, project, sparseProjection, stack, takeRows, totalVariance, zeros } from '../stats/matrix.js';
import { mmdPermutationTest } from '../stats/mmd.js';
import { column, pcaFit, pcaTransform } from '../stats/pca.js';
import { psi } from '../stats/psi.js';
import { deriveRng, sampleIndices } from '../stats/rng.js';
import { fmtP, insufficientData, judged, r } from './common.js';
import type { Matrix, MethodResult, MonitorResult } from './types.js';

/** Principal components tested by KS and binned by PSI. */
const TOP_COMPONENTS = 10;
/** Leading principal components whose squares are added to the domain classifier's features (so it sees spread changes too). */
const QUADRATIC_COMPONENTS = 16;
/**
 * Weighted Bonferroni (weights sum to 1): test i alarms alone when p_i < weight_i x alpha.
 * The classifier gets half of alpha because it has the broadest power in
 * bench/detection.ts (new topics, mean shifts, spread changes); MMD (re-weighting,
 * large new topics at small n) and KS a quarter each. Fixed in advance, so the
 * family-wise false-alarm rate stays <= alpha.
 */
const WEIGHTS = { mmd: 0.25, ks: 0.25, domain_classifier: 0.5 } as const;
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
 * 2. Calibrated tests, all on a sparse random projection to `t.projection_dim`
 *    dimensions (so 1536-d input never reaches anything quadratic in d):
 *    - `mmd`: permutation test of RBF-kernel MMD^2 (mixture of bandwidths around the
 *      median heuristic), `t.permutations` permutations, p = (1 + #{T_b >= T}) / (B + 1).
 *    - `ks`: two-sample KS on each of the top 10 principal components of the pooled
 *      sample, Bonferroni over the components. The pooled (not the baseline's own)
 *      directions are used because directions fitted to the baseline alone fit its
 *      noise and make the test anticonservative; pooled directions are invariant
 *      under relabelling, so the KS null holds exactly.
 *    - `domain_classifier`: a regularised linear discriminant (features: pooled
 *      principal components plus the squares of the 16 leading ones) telling current
 *      rows from baseline rows, 5-fold cross-validated. Test statistic: the share of
 *      current rows among each fold's top-scored 10% (`top_share`), p-value by
 *      `t.permutations` label permutations, each re-running the cross-validation.
 *      `value` = out-of-fold AUC; `tpr_at_fpr10` = share of current rows scoring above
 *      the baseline rows' 90th percentile.
 *    Each test suits a different shift (MMD: new topics and re-weighting; KS: shifts
 *    along the main axes; classifier: small mean shifts, spread changes).
 *
 * Decision: `p_value` = min(1, 4 p_mmd, 4 p_ks, 2 p_classifier), a weighted Bonferroni
 * combination (see WEIGHTS; each test's `threshold` is its level weight x alpha), so
 * the false-alarm rate is at most `s.alpha` at any sample size. The effect is how much
 * better than chance the classifier tells the windows apart, out of sample: the
 * larger of AUC - 0.5 and TPR@10%FPR - 0.1 (the second reads as roughly 0.9 x the
 * share of the current window that is new, e.g. ~0.09 for a 10% new topic the
 * classifier recognises; the first suits shifts of the whole window). Status is
 * `drift` iff p_value < alpha AND effect >= `t.min_effect`; `insufficient_data` when
 * either window has fewer than `s.min_samples` rows (score 0, p_value null).
 * Note: with fewer than 4/alpha - 1 permutations the MMD test can never be significant
 * (its smallest p-value is 1/(B+1)).
 *
 * Score (0..1) = clamp(2 x (AUC - 0.5)), the Gini coefficient of the classifier:
 * 0 = indistinguishable windows, 1 = perfectly separable. Severity: `none` without
 * drift; `significant` when drift and score >= 0.2 (AUC >= 0.6); else `moderate`.
 *
 * Deterministic for a given `s.seed` (except `timings_ms`).
 * @throws RangeError when the windows differ in dimension or hold a non-finite value.
 */
export function embeddingMonitor(baseline: Matrix, current: Matrix, t: EmbeddingThresholds, s: MonitorSettings): MonitorResult {
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
  const p = zb.cols;
  const q = Math.min(TOP_COMPONENTS, p);

  // Pooled principal components: the coordinates of every calibrated test.
  const { sb, sc } = timed('pca', () => {
    const fit = pcaFit(stack(zb, zc), p);
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

  const mmd = timed('mmd', () => mmdPermutationTest(sb, sc, { permutations: t.permutations, rng: deriveRng(s.seed, 'mmd') }));
  const ks = timed('ks', () => {
    let best = { d: 0, p_value: 1, component: 0 };
    for (let k = 0; k < q; k++) {
      const res = ksTwoSample(column(sb, k), column(sc, k));
      if (res.p_value < best.p_value || k === 0) best = { d: res.d, p_value: res.p_value, component: k };
    }
    return { ...best, p_value: Math.min(1, best.p_value * q) };
  });
  const clf = timed('domain_classifier', () =>
    domainClassifierTest(withSquares(sb, Math.min(QUADRATIC_COMPONENTS, p)), withSquares(sc, Math.min(QUADRATIC_COMPONENTS, p)), {
      permutations: t.permutations,
      rng: deriveRng(s.seed, 'classifier'),
    }),
  );

  const effect = Math.max(clf.auc - 0.5, clf.tpr - clf.fpr);
  const bigEnough = effect >= t.min_effect;
  const level = (m: keyof typeof WEIGHTS) => WEIGHTS[m] * s.alpha;
  methods.mmd = { value: r(mmd.mmd2, 8), p_value: r(mmd.p_value), standardized: r(mmd.standardized, 3), bandwidth: r(mmd.bandwidth), permutations: mmd.permutations, threshold: r(level('mmd')), flagged: mmd.p_value < level('mmd') && bigEnough };
  methods.ks = { value: r(ks.d), p_value: r(ks.p_value), component: ks.component, components: q, threshold: r(level('ks')), flagged: ks.p_value < level('ks') && bigEnough };
  methods.domain_classifier = { value: r(clf.auc), effect: r(effect), tpr_at_fpr10: r(clf.tpr), top_share: r(clf.top), p_value: r(clf.p_value), folds: clf.folds, permutations: clf.permutations, threshold: r(level('domain_classifier')), min_effect: t.min_effect, flagged: clf.p_value < level('domain_classifier') && bigEnough };

  const pValue = Math.min(1, mmd.p_value / WEIGHTS.mmd, ks.p_value / WEIGHTS.ks, clf.p_value / WEIGHTS.domain_classifier);
  const significant = pValue < s.alpha;
  const drift = significant && bigEnough;
  const score = Math.min(1, Math.max(0, 2 * (clf.auc - 0.5)));
  timings.total = Math.round((performance.now() - started) * 10) / 10;
  const evidence = `MMD p=${fmtP(mmd.p_value)}, KS p=${fmtP(ks.p_value)}, classifier p=${fmtP(clf.p_value)} (AUC ${clf.auc.toFixed(3)}, TPR at 10% FPR ${clf.tpr.toFixed(3)}); combined p=${fmtP(pValue)}`;
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

function subsample(m: Matrix, max: number, rng: ReturnType<typeof deriveRng>): Matrix {
  return takeRows(m, sampleIndices(m.rows, max, rng));
}

/** The matrix with the squares of its first k columns appended. */
function withSquares(m: Matrix, k: number): Matrix {
  const out = zeros(m.rows, m.cols + k);
  for (let i = 0; i < m.rows; i++) {
    const src = i * m.cols;
    const dst = i * out.cols;
    for (let j = 0; j < m.cols; j++) out.data[dst + j] = m.data[src + j];
    for (let j = 0; j < k; j++) out.data[dst + m.cols + j] = m.data[src + j] ** 2;
  }
  return out;
}

function assertFinite(m: Matrix, name: string): void {
  if (m.data.length !== m.rows * m.cols) throw new RangeError(`${name}: data holds ${m.data.length} values, expected ${m.rows} x ${m.cols}`);
  for (let i = 0; i < m.data.length; i++)
    if (!Number.isFinite(m.data[i])) throw new RangeError(`${name}: row ${Math.floor(i / m.cols)} column ${i % m.cols} is not a finite number`);
}

import type { Matrix, Rng } from '../monitors/types.js';
import { gaussian, randInt } from './rng.js';

export interface MmdOptions {
  /** Number of label permutations B; the smallest attainable p-value is 1/(B+1). */
  permutations: number;
  rng: Rng;
  /** Random Fourier feature pairs D (default 128); the kernel is approximated to about 1/sqrt(D) per entry. */
  features?: number;
  /** Base bandwidth sigma; default: median pairwise distance of the pooled sample. */
  bandwidth?: number;
  /** The kernel is the average of RBF kernels with sigma = scale * bandwidth (default [0.5, 1, 2]). */
  scales?: number[];
  /** Relabellings to use instead of drawing `permutations` (0/1 over the pooled rows, x first; ones = y), shared with other tests. */
  labelings?: Uint8Array[];
}

export interface MmdResult {
  /** Biased (V-statistic) MMD^2 estimate ||mean phi(X) - mean phi(Y)||^2 with the approximate kernel. */
  mmd2: number;
  /** (1 + #{T_b >= T}) / (B + 1): exact level for any sample size. */
  p_value: number;
  bandwidth: number;
  permutations: number;
  /** (T - mean of the permutation null) / its standard deviation: a scale-free size of the discrepancy. */
  standardized: number;
  /** MMD^2 on the observed labels (index 0) and on every relabelling. */
  permutation: Float64Array;
}

/** Median Euclidean distance over up to `pairs` random pairs of rows (the median heuristic). */
export function medianDistance(m: Matrix, rng: Rng, pairs = 2000): number {
  const { rows, cols, data } = m;
  const d: number[] = [];
  for (let t = 0; t < pairs && rows > 1; t++) {
    const i = randInt(rng, rows);
    let j = randInt(rng, rows - 1);
    if (j >= i) j++;
    let s = 0;
    for (let c = 0; c < cols; c++) {
      const x = data[i * cols + c] - data[j * cols + c];
      s += x * x;
    }
    d.push(Math.sqrt(s));
  }
  d.sort((a, b) => a - b);
  return d.length ? d[d.length >> 1] || 1 : 1;
}

/**
 * Permutation test of H0: X and Y come from the same distribution, with the
 * kernel two-sample statistic MMD^2 (Gretton et al. 2012) for a mixture of RBF
 * kernels at `scales` x the median-heuristic bandwidth of the pooled sample.
 *
 * The kernel is evaluated through D random Fourier features (Rahimi & Recht
 * 2007): phi(x) = [cos(w.x), sin(w.x)] / sqrt(D), w ~ N(0, I / sigma^2), so
 * MMD^2 = ||mean phi(X) - mean phi(Y)||^2 costs O((n+m) D) per permutation
 * instead of O((n+m)^2), and memory is linear in n. The bandwidth and the
 * features depend on the pooled sample only, which permutations leave
 * unchanged, so the permutation p-value has exact level whatever D is; D only
 * affects power.
 */
export function mmdPermutationTest(x: Matrix, y: Matrix, opts: MmdOptions): MmdResult {
  if (x.cols !== y.cols) throw new RangeError('samples differ in dimension');
  const p = x.cols;
  const n = x.rows;
  const m = y.rows;
  const N = n + m;
  const D = opts.features ?? 128;
  const scales = opts.scales ?? [0.5, 1, 2];
  const pooled = { rows: N, cols: p, data: new Float64Array(N * p) };
  pooled.data.set(x.data, 0);
  pooled.data.set(y.data, n * p);
  const bandwidth = opts.bandwidth ?? medianDistance(pooled, opts.rng);

  const w = new Float64Array(D * p);
  for (let r = 0; r < D; r++) {
    const s = 1 / (scales[r % scales.length] * bandwidth);
    for (let c = 0; c < p; c++) w[r * p + c] = gaussian(opts.rng) * s;
  }
  const F = 2 * D;
  const phi = new Float32Array(N * F);
  const norm = 1 / Math.sqrt(D);
  const pd = pooled.data;
  // Four rows and two features at a time: eight independent dot products per pass, each
  // summed over c in the order of one row and one feature alone (bit-identical to one at a
  // time), with each w entry read once for four rows and each row entry once for two features.
  let i = 0;
  for (; i + 4 <= N; i += 4) {
    const o0 = i * p;
    const o1 = o0 + p;
    const o2 = o1 + p;
    const o3 = o2 + p;
    let r = 0;
    for (; r + 2 <= D; r += 2) {
      let t0 = 0;
      let t1 = 0;
      let t2 = 0;
      let t3 = 0;
      let u0 = 0;
      let u1 = 0;
      let u2 = 0;
      let u3 = 0;
      const wr = r * p;
      const vr = wr + p;
      for (let c = 0; c < p; c++) {
        const wc = w[wr + c];
        const vc = w[vr + c];
        const x0 = pd[o0 + c];
        const x1 = pd[o1 + c];
        const x2 = pd[o2 + c];
        const x3 = pd[o3 + c];
        t0 += wc * x0;
        u0 += vc * x0;
        t1 += wc * x1;
        u1 += vc * x1;
        t2 += wc * x2;
        u2 += vc * x2;
        t3 += wc * x3;
        u3 += vc * x3;
      }
      const q = i * F + 2 * r;
      phi[q] = Math.cos(t0) * norm;
      phi[q + 1] = Math.sin(t0) * norm;
      phi[q + 2] = Math.cos(u0) * norm;
      phi[q + 3] = Math.sin(u0) * norm;
      phi[q + F] = Math.cos(t1) * norm;
      phi[q + F + 1] = Math.sin(t1) * norm;
      phi[q + F + 2] = Math.cos(u1) * norm;
      phi[q + F + 3] = Math.sin(u1) * norm;
      phi[q + 2 * F] = Math.cos(t2) * norm;
      phi[q + 2 * F + 1] = Math.sin(t2) * norm;
      phi[q + 2 * F + 2] = Math.cos(u2) * norm;
      phi[q + 2 * F + 3] = Math.sin(u2) * norm;
      phi[q + 3 * F] = Math.cos(t3) * norm;
      phi[q + 3 * F + 1] = Math.sin(t3) * norm;
      phi[q + 3 * F + 2] = Math.cos(u3) * norm;
      phi[q + 3 * F + 3] = Math.sin(u3) * norm;
    }
    for (; r < D; r++) {
      let t0 = 0;
      let t1 = 0;
      let t2 = 0;
      let t3 = 0;
      const wr = r * p;
      for (let c = 0; c < p; c++) {
        const wc = w[wr + c];
        t0 += wc * pd[o0 + c];
        t1 += wc * pd[o1 + c];
        t2 += wc * pd[o2 + c];
        t3 += wc * pd[o3 + c];
      }
      const q = i * F + 2 * r;
      phi[q] = Math.cos(t0) * norm;
      phi[q + 1] = Math.sin(t0) * norm;
      phi[q + F] = Math.cos(t1) * norm;
      phi[q + F + 1] = Math.sin(t1) * norm;
      phi[q + 2 * F] = Math.cos(t2) * norm;
      phi[q + 2 * F + 1] = Math.sin(t2) * norm;
      phi[q + 3 * F] = Math.cos(t3) * norm;
      phi[q + 3 * F + 1] = Math.sin(t3) * norm;
    }
  }
  for (; i < N; i++) {
    const o = i * p;
    for (let r = 0; r < D; r++) {
      let t = 0;
      const wr = r * p;
      for (let c = 0; c < p; c++) t += w[wr + c] * pd[o + c];
      phi[i * F + 2 * r] = Math.cos(t) * norm;
      phi[i * F + 2 * r + 1] = Math.sin(t) * norm;
    }
  }
  const total = new Float64Array(F);
  for (let i = 0; i < N; i++) for (let f = 0; f < F; f++) total[f] += phi[i * F + f];

  // Sum over the smaller side only; the other side's sum is total - that.
  const small = Math.min(n, m);
  const large = N - small;
  const sumX = new Float64Array(F);
  const idx = new Int32Array(N);
  // Observed: the smaller sample's rows first.
  const xIsSmall = n <= m;
  for (let i = 0; i < N; i++) idx[i] = xIsSmall ? i : (i + n) % N;
  const observed = subsetStatistic(phi, F, idx, small, large, total, sumX);
  const B = opts.labelings ? opts.labelings.length : opts.permutations;
  const stats = new Float64Array(B + 1);
  stats[0] = observed;
  let atLeast = 0;
  let mean = 0;
  let sq = 0;
  for (let b = 0; b < B; b++) {
    if (opts.labelings) {
      // The rows labelled as the smaller side first.
      const lab = opts.labelings[b];
      if (lab.length !== N) throw new RangeError(`labeling ${b} has ${lab.length} entries, expected ${N}`);
      const want = xIsSmall ? 0 : 1;
      let k = 0;
      for (let i = 0; i < N; i++) if (lab[i] === want) idx[k++] = i;
      if (k !== small) throw new RangeError(`labeling ${b} has ${N - k} ones, expected ${m}`);
      for (let i = 0; i < N; i++) if (lab[i] !== want) idx[k++] = i;
    } else partialShuffle(idx, small, opts.rng);
    const t = subsetStatistic(phi, F, idx, small, large, total, sumX);
    stats[b + 1] = t;
    if (t >= observed) atLeast++;
    mean += t;
    sq += t * t;
  }
  mean /= B || 1;
  const sd = Math.sqrt(Math.max(0, sq / (B || 1) - mean * mean));
  return {
    mmd2: observed,
    p_value: (1 + atLeast) / (B + 1),
    bandwidth,
    permutations: B,
    standardized: sd > 0 ? (observed - mean) / sd : 0,
    permutation: stats,
  };
}

/** ||mean phi(rows idx[0..k)) - mean phi(the other rows)||^2. */
function subsetStatistic(phi: Float32Array, F: number, idx: Int32Array, k: number, rest: number, total: Float64Array, sum: Float64Array): number {
  sum.fill(0);
  // Eight (then four) rows per pass over sum: the same additions in the same order, an eighth of the loads and stores of sum.
  let t = 0;
  for (; t + 8 <= k; t += 8) {
    const o0 = idx[t] * F;
    const o1 = idx[t + 1] * F;
    const o2 = idx[t + 2] * F;
    const o3 = idx[t + 3] * F;
    const o4 = idx[t + 4] * F;
    const o5 = idx[t + 5] * F;
    const o6 = idx[t + 6] * F;
    const o7 = idx[t + 7] * F;
    for (let f = 0; f < F; f++) sum[f] = sum[f] + phi[o0 + f] + phi[o1 + f] + phi[o2 + f] + phi[o3 + f] + phi[o4 + f] + phi[o5 + f] + phi[o6 + f] + phi[o7 + f];
  }
  for (; t + 4 <= k; t += 4) {
    const o0 = idx[t] * F;
    const o1 = idx[t + 1] * F;
    const o2 = idx[t + 2] * F;
    const o3 = idx[t + 3] * F;
    for (let f = 0; f < F; f++) sum[f] = sum[f] + phi[o0 + f] + phi[o1 + f] + phi[o2 + f] + phi[o3 + f];
  }
  for (; t < k; t++) {
    const o = idx[t] * F;
    for (let f = 0; f < F; f++) sum[f] += phi[o + f];
  }
  let s = 0;
  for (let f = 0; f < F; f++) {
    const d = sum[f] / k - (total[f] - sum[f]) / rest;
    s += d * d;
  }
  return s;
}

/** Put a uniformly random k-subset in idx[0..k) (partial Fisher-Yates; the rest of idx keeps the complement). */
function partialShuffle(idx: Int32Array, k: number, rng: Rng): void {
  const N = idx.length;
  for (let i = 0; i < k; i++) {
    const j = i + randInt(rng, N - i);
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}


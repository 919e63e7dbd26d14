import { kmeans as mlKmeans } from 'ml-kmeans';
import { Random } from 'ml-random';
import type { Matrix, Rng } from '../monitors/types.js';
import { clusterDistanceSumsWasm, descriptiveWasmReady, distanceRowsWasm, kmeansStepsWasm, pairwiseDistancesWasm, type KmeansSteps } from './descriptive-wasm.js';
import { sampleIndices } from './rng.js';

export interface Clustering {
  k: number;
  /** Cluster id per row. */
  labels: Int32Array;
  /** k x cols centroids (mean of the rows assigned to each cluster, in the clustered space). */
  centroids: Float64Array;
  sizes: Int32Array;
}

/**
 * KMeans (k-means++ initialisation, Lloyd iterations) as ml-kmeans 7 computes it, seeded.
 * k is capped at rows - 1.
 */
export function kmeansFit(m: Matrix, k: number, seed: number, maxIterations = 50): Clustering {
  k = Math.max(1, Math.min(k, m.rows - 1));
  const { labels, centres } = kmeansLloyd(m, k, seed, maxIterations);
  // The last step's centres are clusterMeans(m, labels, k) already (each cluster's rows
  // summed from 0 in row order, divided by their number), but for the empty clusters, which
  // keep an earlier centre where clusterMeans gives 0.
  const sizes = new Int32Array(k);
  for (let i = 0; i < labels.length; i++) sizes[labels[i]]++;
  for (let c = 0; c < k; c++) if (!sizes[c]) centres.fill(0, c * m.cols, (c + 1) * m.cols);
  return { k, labels, centroids: centres, sizes };
}

/** What ml-kmeans's `kmeans(rows, k, { seed, maxIterations })` returns: clusters, centroids (k x cols), iterations, converged. */
export interface LloydResult {
  labels: Int32Array;
  centres: Float64Array;
  iterations: number;
  converged: boolean;
}

/**
 * ml-kmeans 7's `kmeans(rows, k, { seed, maxIterations })` (k-means++ start, then Lloyd
 * steps with its squared Euclidean distance and tolerance 1e-6), computed here with the
 * same arithmetic in the same order, so every label, centre and iteration count is the
 * library's; the tests compare the two on many inputs. The library's own loop is not used
 * because of its CPU cost across a fleet of a thousand models: its updateCenters and
 * updateClusterID on arrays of arrays were two thirds of the monitor's k-means time. Each
 * step (ml-kmeans utils.js step):
 * - every row goes to the centre at the smallest squared distance (ml-nearest-vector:
 *   the first centre strictly below the running minimum, starting from Number.MAX_VALUE);
 *   a centre that did not move keeps last step's distances (the same sums), the others
 *   get a column of the distance table (descriptive-wasm.ts kmeansStepsWasm, or the JS
 *   loops of kmeansSteps);
 * - each centre becomes the mean of its rows: their sum in row order from 0, each
 *   dimension divided by the count; an empty cluster keeps its centre (updateCenters). A
 *   cluster whose rows did not change keeps last step's mean (the same sum, the same
 *   quotient);
 * - converged when no centre moved by a squared distance above the tolerance (hasConverged).
 * Where a row has no centre below Number.MAX_VALUE (NaN or infinite entries) or k is not
 * one the library accepts, the library itself runs (it rejects the input).
 */
export function kmeansLloyd(m: Matrix, k: number, seed: number, maxIterations = 50): LloydResult {
  const { rows: n, cols } = m;
  if (k <= 0 || k > n || !Number.isInteger(k)) return library(m, k, seed, maxIterations);
  const steps = kmeansSteps(m, k);
  const start = kmeansPlusPlus(m, k, seed, steps);
  const limit = maxIterations === 0 ? Number.MAX_VALUE : maxIterations;
  let centres = new Float64Array(k * cols);
  for (let c = 0; c < k; c++) centres.set(start[c], c * cols);
  let next = new Float64Array(k * cols);
  const nearest = new Int32Array(n);
  const moved = new Uint8Array(k).fill(1);
  const changed = new Uint8Array(k);
  const counts = new Int32Array(k);
  const labels = new Int32Array(n);
  let converged = false;
  let iterations = 0;
  while (!converged && iterations < limit) {
    iterations++;
    // Assignment; a cluster whose rows change is marked (all of them on the first step: the
    // k-means++ centres are rows, not means).
    steps.nearest(centres, moved, nearest);
    changed.fill(iterations === 1 ? 1 : 0);
    for (let i = 0; i < n; i++) {
      const best = nearest[i];
      if (best < 0) return library(m, k, seed, maxIterations);
      const was = labels[i];
      if (was !== best) {
        changed[was] = 1;
        changed[best] = 1;
        labels[i] = best;
      }
    }
    // Means of the changed clusters (sums from 0 in row order); the others stay.
    next.set(centres);
    steps.sums(labels, changed, next, counts);
    for (let c = 0; c < k; c++) {
      if (!changed[c]) continue;
      const o = c * cols;
      const size = counts[c];
      if (size) for (let j = 0; j < cols; j++) next[o + j] /= size;
      else for (let j = 0; j < cols; j++) next[o + j] = centres[o + j];
    }
    // hasConverged(new, old): squaredEuclidean of each pair > tolerance; which centres moved.
    converged = true;
    for (let c = 0; c < k; c++) {
      const o = c * cols;
      let d = 0;
      let same = true;
      for (let j = 0; j < cols; j++) {
        const a = next[o + j];
        const b = centres[o + j];
        d += (a - b) * (a - b);
        if (a !== b) same = false;
      }
      if (d > 1e-6) converged = false;
      moved[c] = same ? 0 : 1;
    }
    const old = centres;
    centres = next;
    next = old;
  }
  return { labels, centres, iterations, converged };
}

/** ml-kmeans itself, for the inputs it rejects (see kmeansLloyd). */
function library(m: Matrix, k: number, seed: number, maxIterations: number): LloydResult {
  const { rows: n, cols, data } = m;
  const rows = Array.from({ length: n }, (_, i) => Array.from(data.subarray(i * cols, (i + 1) * cols)));
  const res = mlKmeans(rows, k, { seed, maxIterations, initialization: 'kmeans++' });
  return { labels: Int32Array.from(res.clusters), centres: Float64Array.from(res.centroids.flat()), iterations: res.iterations, converged: res.converged };
}

/** The SIMD kernels' k-means steps, or the same arithmetic in JS loops. */
function kmeansSteps(m: Matrix, k: number): KmeansSteps {
  const kernel = kmeansStepsWasm(m, k);
  if (kernel) return kernel;
  const { rows, cols, data } = m;
  const toPoint = (q: ArrayLike<number>) => {
    const out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      const o = i * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) {
        const x = data[o + c] - q[c];
        s += x * x;
      }
      out[i] = s;
    }
    return out;
  };
  const table: Float64Array[] = new Array<Float64Array>(k);
  return {
    toPoint,
    toRow: (r) => toPoint(data.subarray(r * cols, (r + 1) * cols)),
    nearest: (centres, moved, labels) => {
      for (let c = 0; c < k; c++) if (moved[c]) table[c] = toPoint(centres.subarray(c * cols, (c + 1) * cols));
      for (let i = 0; i < rows; i++) {
        let best = -1;
        let bestD = Number.MAX_VALUE;
        for (let c = 0; c < k; c++) {
          const d = table[c][i];
          if (d < bestD) {
            bestD = d;
            best = c;
          }
        }
        labels[i] = best;
      }
    },
    sums: (labels, changed, sums, counts) => {
      for (let c = 0; c < k; c++)
        if (changed[c]) {
          sums.fill(0, c * cols, (c + 1) * cols);
          counts[c] = 0;
        }
      for (let i = 0; i < rows; i++) {
        const c = labels[i];
        if (!changed[c]) continue;
        counts[c]++;
        const o = c * cols;
        const r = i * cols;
        for (let j = 0; j < cols; j++) sums[o + j] += data[r + j];
      }
    },
  };
}

/**
 * The starting centres that ml-kmeans's own `initialization: 'kmeans++'` picks for this
 * seed (ml-kmeans 7 kmeanspp: greedy k-means++ with 2 + floor(ln k) candidates per centre,
 * drawn with ml-random's Random(seed), the library's own generator), computed with the same
 * arithmetic in the same order, so the clustering is unchanged. Done here because
 * ml-kmeans computes them through ml-matrix with a fresh array per row read (Matrix.getRow
 * in every distance): that was 70 % of a fit on 300 rows, more than the Lloyd iterations.
 * Each candidate's squared distances to all rows come from `distances` at once.
 */
function kmeansPlusPlus(m: Matrix, k: number, seed: number, distances: Pick<KmeansSteps, 'toRow'>): number[][] {
  const { rows: n, cols, data } = m;
  const random = new Random(seed);
  const trials = 2 + Math.floor(Math.log(k));
  // Sum starting from the first entry (ml-spectra-processing xSum), and ml-matrix's sum from 0 (the same value).
  const total = (a: Float64Array) => {
    let s = a[0];
    for (let i = 1; i < a.length; i++) s += a[i];
    return s;
  };
  const first = random.randInt(n);
  const centres = [first];
  // ml-distance-euclidean's squaredEuclidean of row i and the centre: (x_i - x_c)^2 summed in column order.
  let closest: Float64Array = distances.toRow(first);
  const cumulative = new Float64Array(n);
  let candidate: Float64Array = new Float64Array(n);
  let spare: Float64Array = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    // random.choice(n, { replace: true, size: trials, probabilities: closest / sum }).
    const scale = 1 / total(closest);
    let acc = closest[0] * scale;
    cumulative[0] = acc;
    for (let i = 1; i < n; i++) cumulative[i] = acc = acc + closest[i] * scale;
    const picks: number[] = [];
    for (let t = 0; t < trials; t++) {
      const u = random.random();
      let idx = 0;
      while (idx < n - 1 && u > cumulative[idx]) idx++;
      picks.push(idx);
    }
    let best = -1;
    let bestPot = Infinity;
    let bestDistances = closest;
    for (const pick of picks) {
      const toPick = distances.toRow(pick);
      let pot = 0;
      for (let i = 0; i < n; i++) {
        const d = Math.min(closest[i], toPick[i]);
        candidate[i] = d;
        pot += d;
      }
      if (pot < bestPot) {
        best = pick;
        bestPot = pot;
        // Keep this candidate's distances; the next candidate writes into the other buffer.
        bestDistances = candidate;
        candidate = spare;
        spare = bestDistances;
      }
    }
    centres.push(best >= 0 ? best : picks[0]);
    if (bestDistances !== closest) {
      // closest becomes the chosen distances; its old buffer is free again.
      spare = closest;
      closest = bestDistances;
    }
  }
  return centres.map((i) => Array.from(data.subarray(i * cols, (i + 1) * cols)));
}

/** Mean and size of the rows of `m` in each cluster (e.g. to get full-dimension centroids of a clustering found on reduced data). */
export function clusterMeans(m: Matrix, labels: ArrayLike<number>, k: number): { centroids: Float64Array; sizes: Int32Array } {
  const { rows, cols, data } = m;
  const centroids = new Float64Array(k * cols);
  const sizes = new Int32Array(k);
  for (let i = 0; i < rows; i++) {
    const c = labels[i];
    sizes[c]++;
    for (let j = 0; j < cols; j++) centroids[c * cols + j] += data[i * cols + j];
  }
  for (let c = 0; c < k; c++) for (let j = 0; j < cols; j++) centroids[c * cols + j] /= sizes[c] || 1;
  return { centroids, sizes };
}

/**
 * Mean silhouette coefficient s(i) = (b - a) / max(a, b) with Euclidean
 * distances (a: mean distance to the own cluster, b: smallest mean distance to
 * another cluster; s = 0 for singletons). Like scikit-learn's `sample_size`,
 * the mean is taken over at most `sampleSize` rows drawn with `rng`; their a and
 * b use all rows. Cost O(sampleSize * n * cols). In [-1, 1]; near 1 = compact,
 * well-separated clusters.
 */
export function silhouette(m: Matrix, labels: ArrayLike<number>, k: number, rng?: Rng, sampleSize = 300): number {
  const { rows, cols, data } = m;
  if (k < 2 || rows < 3) return 0;
  const sizes = new Int32Array(k);
  for (let i = 0; i < rows; i++) sizes[labels[i]]++;
  const sample = rng && rows > sampleSize ? sampleIndices(rows, sampleSize, rng) : Int32Array.from({ length: rows }, (_, i) => i);
  // Distance sums to each cluster, for four sampled rows at a time (sums[q * k + cluster]):
  // each row's sums in its own order, four independent distances per pass over the rows.
  const sums = new Float64Array(4 * k);
  let total = 0;
  const coefficient = (i: number, q: number): number => {
    const own = labels[i];
    if (sizes[own] <= 1) return 0; // s(i) = 0
    const a = sums[q * k + own] / (sizes[own] - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && sizes[c] > 0) b = Math.min(b, sums[q * k + c] / sizes[c]);
    if (!Number.isFinite(b)) return 0;
    const mx = Math.max(a, b);
    return mx > 0 ? (b - a) / mx : 0;
  };
  // Every row is in the sample: each distance once (d(i, j) = d(j, i) exactly: the same
  // squares summed in the same order), then each row's sums over j in ascending order
  // as below. The same value at half the distance computations. The SIMD kernel keeps its
  // memory, so it holds the whole matrix only up to 512 rows (2 MB); above, with the
  // kernel, the sampled path below computes each distance twice, the same value.
  const full =
    sample.length === rows && rows <= 2048
      ? (rows <= 512 ? pairwiseDistancesWasm(m) : null) ?? (descriptiveWasmReady() ? null : { dist: pairwiseDistances(m), stride: rows })
      : null;
  if (full) {
    const { dist, stride } = full;
    // With the kernels: each row's sums over its cluster's rows j in ascending order (the
    // order of the loop below), eight rows per pass, from the rows listed cluster by cluster.
    const bySums = descriptiveWasmReady() ? clusterDistanceSumsWasm(dist, stride, rows, ...clusterOrder(labels, sizes, rows), k) : null;
    if (bySums) {
      for (let i = 0; i < rows; i++) {
        for (let c = 0; c < k; c++) sums[c] = bySums[c * stride + i];
        total += coefficient(i, 0);
      }
      return total / rows;
    }
    for (let i = 0; i < rows; i++) {
      sums.fill(0);
      const oi = i * stride;
      for (let j = 0; j < rows; j++) if (j !== i) sums[labels[j]] += dist[oi + j];
      total += coefficient(i, 0);
    }
    return total / rows;
  }
  let t = 0;
  // Two sampled rows per call of the SIMD kernel when there is one (the same distances).
  const kernel = distanceRowsWasm(m);
  if (kernel) {
    const { stride } = kernel;
    for (; t + 2 <= sample.length; t += 2) {
      const i0 = sample[t];
      const i1 = sample[t + 1];
      const d = kernel.rows(i0, i1);
      sums.fill(0);
      for (let j = 0; j < rows; j++) {
        const l = labels[j];
        if (j !== i0) sums[l] += d[j];
        if (j !== i1) sums[k + l] += d[stride + j];
      }
      total += coefficient(i0, 0);
      total += coefficient(i1, 1);
    }
  }
  for (; t + 4 <= sample.length; t += 4) {
    sums.fill(0);
    const i0 = sample[t];
    const i1 = sample[t + 1];
    const i2 = sample[t + 2];
    const i3 = sample[t + 3];
    const o0 = i0 * cols;
    const o1 = i1 * cols;
    const o2 = i2 * cols;
    const o3 = i3 * cols;
    for (let j = 0; j < rows; j++) {
      const oj = j * cols;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let c = 0; c < cols; c++) {
        const x = data[oj + c];
        const d0 = data[o0 + c] - x;
        const d1 = data[o1 + c] - x;
        const d2 = data[o2 + c] - x;
        const d3 = data[o3 + c] - x;
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
      }
      const l = labels[j];
      if (j !== i0) sums[l] += Math.sqrt(s0);
      if (j !== i1) sums[k + l] += Math.sqrt(s1);
      if (j !== i2) sums[2 * k + l] += Math.sqrt(s2);
      if (j !== i3) sums[3 * k + l] += Math.sqrt(s3);
    }
    total += coefficient(i0, 0);
    total += coefficient(i1, 1);
    total += coefficient(i2, 2);
    total += coefficient(i3, 3);
  }
  for (; t < sample.length; t++) {
    const i = sample[t];
    sums.fill(0);
    const oi = i * cols;
    for (let j = 0; j < rows; j++) {
      if (j === i) continue;
      const oj = j * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) {
        const d = data[oi + c] - data[oj + c];
        s += d * d;
      }
      sums[labels[j]] += Math.sqrt(s);
    }
    total += coefficient(i, 0);
  }
  return total / sample.length;
}

/** The rows listed cluster by cluster (ascending within each) and where each cluster's list ends. */
function clusterOrder(labels: ArrayLike<number>, sizes: Int32Array, rows: number): [Int32Array, Int32Array] {
  const k = sizes.length;
  const ends = new Int32Array(k);
  const at = new Int32Array(k);
  let acc = 0;
  for (let c = 0; c < k; c++) {
    at[c] = acc;
    acc += sizes[c];
    ends[c] = acc;
  }
  const order = new Int32Array(rows);
  for (let j = 0; j < rows; j++) order[at[labels[j]]++] = j;
  return [order, ends];
}

/** Euclidean distances between all rows (rows x rows, symmetric), each pair computed once, as silhouette sums them (sum over columns of (x_i - x_j)^2). */
function pairwiseDistances(m: Matrix): Float64Array {
  const { rows, cols, data } = m;
  const dist = new Float64Array(rows * rows);
  const pair = (i: number, j: number) => {
    const oi = i * cols;
    const oj = j * cols;
    let s = 0;
    for (let c = 0; c < cols; c++) {
      const d = data[oi + c] - data[oj + c];
      s += d * d;
    }
    dist[i * rows + j] = dist[j * rows + i] = Math.sqrt(s);
  };
  let i = 0;
  // Two rows i, i + 1 against four rows j at a time: eight independent sums (each in the
  // order of one pair alone), each column entry read once for the two or the four.
  for (; i + 2 <= rows; i += 2) {
    const a = i * cols;
    const b = a + cols;
    pair(i, i + 1);
    let j = i + 2;
    for (; j + 4 <= rows; j += 4) {
      const o0 = j * cols;
      const o1 = o0 + cols;
      const o2 = o1 + cols;
      const o3 = o2 + cols;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let t0 = 0;
      let t1 = 0;
      let t2 = 0;
      let t3 = 0;
      for (let c = 0; c < cols; c++) {
        const x = data[a + c];
        const y = data[b + c];
        const z0 = data[o0 + c];
        const z1 = data[o1 + c];
        const z2 = data[o2 + c];
        const z3 = data[o3 + c];
        const d0 = x - z0;
        const d1 = x - z1;
        const d2 = x - z2;
        const d3 = x - z3;
        const e0 = y - z0;
        const e1 = y - z1;
        const e2 = y - z2;
        const e3 = y - z3;
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
        t0 += e0 * e0;
        t1 += e1 * e1;
        t2 += e2 * e2;
        t3 += e3 * e3;
      }
      const ri = i * rows;
      const rk = ri + rows;
      dist[ri + j] = dist[j * rows + i] = Math.sqrt(s0);
      dist[ri + j + 1] = dist[(j + 1) * rows + i] = Math.sqrt(s1);
      dist[ri + j + 2] = dist[(j + 2) * rows + i] = Math.sqrt(s2);
      dist[ri + j + 3] = dist[(j + 3) * rows + i] = Math.sqrt(s3);
      dist[rk + j] = dist[j * rows + i + 1] = Math.sqrt(t0);
      dist[rk + j + 1] = dist[(j + 1) * rows + i + 1] = Math.sqrt(t1);
      dist[rk + j + 2] = dist[(j + 2) * rows + i + 1] = Math.sqrt(t2);
      dist[rk + j + 3] = dist[(j + 3) * rows + i + 1] = Math.sqrt(t3);
    }
    for (; j < rows; j++) {
      pair(i, j);
      pair(i + 1, j);
    }
  }
  // A last row alone has every pair already.
  return dist;
}

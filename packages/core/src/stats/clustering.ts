import { kmeans as mlKmeans } from 'ml-kmeans';
import { Random } from 'ml-random';
import type { Matrix, Rng } from '../monitors/types.js';
import { centreDistancesWasm, descriptiveWasmReady, distanceRowsWasm, pairwiseDistancesWasm } from './descriptive-wasm.js';
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
 * KMeans (k-means++ initialisation, Lloyd iterations) through ml-kmeans, seeded.
 * k is capped at rows - 1.
 *
 * ml-kmeans measures with its `distanceFunction` option (default: ml-distance-euclidean's
 * squaredEuclidean, a call per row and centre on arrays of numbers); here that function
 * answers from a table of every row's squared distance to each centre, filled once per
 * centre by descriptive-wasm.ts's SIMD kernel (or a JS loop), each distance summed as
 * squaredEuclidean sums it, so the clustering is unchanged: a fit on 300 x 64 rows took
 * 10 ms, two thirds of it in those calls and in copying the rows into arrays. The rows
 * ml-kmeans averages (updateCenters) are views of m's rows, not copies.
 */
export function kmeansFit(m: Matrix, k: number, seed: number, maxIterations = 50): Clustering {
  k = Math.max(1, Math.min(k, m.rows - 1));
  const distances = centreDistances(m);
  const rows = Array.from({ length: m.rows }, (_, i) => m.data.subarray(i * m.cols, (i + 1) * m.cols));
  const res = mlKmeans(rows as unknown as number[][], k, {
    seed,
    maxIterations,
    initialization: kmeansPlusPlus(m, k, seed, distances),
    distanceFunction: tabulatedDistance(rows, k, distances),
  });
  const labels = Int32Array.from(res.clusters);
  return { k, labels, ...clusterMeans(m, labels, k) };
}

interface CentreDistances {
  /** Squared distance of every row to q (sum over the columns in order of (x - q)^2). */
  toPoint: (q: ArrayLike<number>) => Float64Array;
  /** The same to row r. */
  toRow: (r: number) => Float64Array;
}

function centreDistances(m: Matrix): CentreDistances {
  const kernel = centreDistancesWasm(m);
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
  return { toPoint, toRow: (r) => toPoint(data.subarray(r * cols, (r + 1) * cols)) };
}

/**
 * ml-kmeans's distanceFunction: squaredEuclidean(p, q), looked up in a table when p is one
 * of `rows` (by identity; ml-kmeans asks for each row's distance to every centre, row by
 * row, centre by centre). The first question about a centre fills its column of the table
 * for all rows; the columns of the last 2k centres are kept (ml-kmeans makes k new centre
 * arrays per iteration). Any other question (the centres' moves) is computed as asked.
 */
function tabulatedDistance(rows: ArrayLike<number>[], k: number, distances: CentreDistances): (p: ArrayLike<number>, q: ArrayLike<number>) => number {
  const n = rows.length;
  const size = 2 * k;
  const centres: (ArrayLike<number> | null)[] = new Array<ArrayLike<number> | null>(size).fill(null);
  const tables: Float64Array[] = new Array<Float64Array>(size);
  let next = 0;
  let slot = 0;
  let rowStart = 0;
  let row = -1;
  let lastP: ArrayLike<number> | null = null;
  return (p, q) => {
    const newRow = p !== lastP;
    if (newRow) {
      lastP = p;
      row = row + 1 < n && rows[row + 1] === p ? row + 1 : rows[0] === p ? 0 : -1;
    }
    // The centre that the last row started with, or the one after the last centre.
    let s = newRow ? rowStart : slot + 1 === size ? 0 : slot + 1;
    if (row < 0) {
      let d = 0;
      for (let i = 0; i < p.length; i++) d += (p[i] - q[i]) * (p[i] - q[i]);
      return d;
    }
    if (centres[s] !== q) {
      s = centres.indexOf(q);
      if (s < 0) {
        s = next;
        next = next + 1 === size ? 0 : next + 1;
        centres[s] = q;
        tables[s] = distances.toPoint(q);
      }
    }
    if (newRow) rowStart = s;
    slot = s;
    return tables[s][row];
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
function kmeansPlusPlus(m: Matrix, k: number, seed: number, distances: CentreDistances): number[][] {
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

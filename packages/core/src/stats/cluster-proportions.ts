import type { Matrix } from '../monitors/types.js';
import { centreDistancesWasm } from './descriptive-wasm.js';

/** Index of the nearest of k centroids (rows of `centroids`, m.cols wide) for each row of m. */
export function assignNearest(m: Matrix, centroids: Float64Array, k: number): Int32Array {
  return nearestIn(distanceTable(m, centroids, k), m.rows);
}

/**
 * Every row's squared distance to each of the k centroids (one array per centroid, each sum
 * over the columns in order of (x - centroid)^2): from descriptive-wasm.ts's SIMD kernel
 * where it runs, else from the same sums here.
 */
function distanceTable(m: Matrix, centroids: Float64Array, k: number): Float64Array[] {
  const { rows, cols, data } = m;
  const kernel = k > 0 ? centreDistancesWasm(m) : null;
  return Array.from({ length: k }, (_, c) => {
    const q = centroids.subarray(c * cols, (c + 1) * cols);
    if (kernel) return kernel.toPoint(q);
    const out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let d = 0;
      for (let j = 0; j < cols; j++) {
        const x = data[i * cols + j] - q[j];
        d += x * x;
      }
      out[i] = d;
    }
    return out;
  });
}

/** For each row, the first centroid at the smallest distance in the table. */
function nearestIn(table: Float64Array[], rows: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < table.length; c++)
      if (table[c][i] < bestD) {
        bestD = table[c][i];
        best = c;
      }
    out[i] = best;
  }
  return out;
}

export interface ClusterProportions {
  /**
   * Share of each baseline cluster (topic) in the baseline and in the current window; the
   * last entry is "outside": rows farther from their nearest centroid than 95 % of that
   * cluster's baseline rows (about 5 % of the baseline by construction; a new topic fills it).
   */
  baseline: number[];
  current: number[];
  /** Total variation distance between the two (0 = same mix, 1 = disjoint): half the sum of |current - baseline|. */
  shift: number;
  /** Mean distance of current rows to their nearest baseline centroid over that of baseline rows (1 = as close; > 1: rows far from every known topic). */
  distance_ratio: number;
}

/** The q-quantile of xs (sorted copy, linear interpolation). */
function quantile(xs: number[], q: number): number {
  if (!xs.length) return Infinity;
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  return s[lo] + (h - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]) - s[lo]);
}

/**
 * Topics of the baseline (a clustering fitted on it) and how the current window spreads
 * over them: each current row goes to its nearest baseline centroid, or to "outside" when
 * it is farther from it than 95 % of that topic's baseline rows. A topic that grew or
 * shrank moves the shares; a new topic fills "outside". `shift` sums it up.
 */
export function clusterProportions(baseline: Matrix, baselineLabels: ArrayLike<number>, centroids: Float64Array, k: number, current: Matrix): ClusterProportions {
  const dist = (m: Matrix, i: number, c: number) => {
    let d = 0;
    for (let j = 0; j < m.cols; j++) {
      const x = m.data[i * m.cols + j] - centroids[c * m.cols + j];
      d += x * x;
    }
    return Math.sqrt(d);
  };
  const db = Array.from({ length: baseline.rows }, (_, i) => dist(baseline, i, baselineLabels[i]));
  const radius = Array.from({ length: k }, (_, c) => quantile(db.filter((_, i) => baselineLabels[i] === c), 0.95));
  // Each current row's nearest centroid and its distance, from one table of squared distances.
  const table = distanceTable(current, centroids, k);
  const cur = nearestIn(table, current.rows);
  const dc = Array.from({ length: current.rows }, (_, i) => Math.sqrt(table[cur[i]]?.[i] ?? NaN));
  const share = (labels: ArrayLike<number>, d: number[], n: number) => {
    const p = new Array<number>(k + 1).fill(0);
    for (let i = 0; i < labels.length; i++) p[d[i] > radius[labels[i]] ? k : labels[i]]++;
    return p.map((x) => x / (n || 1));
  };
  const pb = share(baselineLabels, db, baseline.rows);
  const pc = share(cur, dc, current.rows);
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / (xs.length || 1);
  const mb = mean(db);
  return { baseline: pb, current: pc, shift: pb.reduce((a, x, i) => a + Math.abs(pc[i] - x), 0) / 2, distance_ratio: mb > 0 ? mean(dc) / mb : 1 };
}

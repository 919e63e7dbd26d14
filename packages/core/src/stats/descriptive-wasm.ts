/**
 * The loops that took most of the embedding monitor's descriptive figures' time (k-means,
 * silhouette, cluster shift, KS, PCA), in WebAssembly with 128-bit SIMD (the callers keep
 * their JS loops where it is missing):
 * - `pairRows`: Euclidean distances of two rows to every row (silhouette), two rows per
 *   f64x2 (the rows stored transposed), eight per pass;
 * - `centre`: squared Euclidean distances of every row to one point (k-means: ml-kmeans's
 *   distance to each centre, k-means++), the same layout;
 * - `nearest`, `clusterSums`: clustering.ts's k-means steps (each row's nearest centre, two
 *   rows per f64x2; each cluster's sum of rows, two columns per f64x2);
 * - `distanceSums`: silhouette's sums of each row's distances over each cluster's rows, from
 *   the matrix of `pairRows`, two rows per f64x2, eight per pass;
 * - `ksWalk` (with `steps`, its table from the labels): the KS walks of many relabellings at
 *   once (ks.ts ksMaxPermutation), four relabellings per i32x4, sixteen per pass over a
 *   column's sorted order;
 * - `cov`, `project`: matrix.ts covariance's sums and pca.ts pcaTransform's scores, two
 *   entries or components per f64x2;
 * - `accumulate`, `rotate`: the eigenvector updates of matrix.ts symmetricEigen (tred2's
 *   accumulation of its Householder transformations, tql2's plane rotations), two entries
 *   per f64x2.
 * Each float lane does the IEEE double subtraction, multiplication, addition and division
 * of the JS loop in the same order (each distance or dot product summed over the columns in
 * order from 0, no fused multiply-add; f64x2.sqrt is the correctly rounded square root, as
 * Math.sqrt), and the walks are exact integers, so every figure is bit-identical to the JS
 * loops'; V8 does not vectorise JS. No package in the dependency tree has such kernels
 * (ml-kmeans and ml-matrix are plain JS), and the module is under 4 KB, so it is assembled
 * here from its instruction list with the encoding helpers of wasm.ts, as mmd.ts and
 * classifier-wasm.ts do (no binary file, no build step).
 *
 * One memory for all: every function below lays out its arrays from address 0, so a view
 * or closure it returns is valid only until the next call into this file.
 */

import type { Matrix } from '../monitors/types.js';
import { add, addF64x2, addI64x2, bitselectV128, constF64x2, constI64x2, end, get, i32, instantiate, loadI32, ltF64x2, mul, mulF64x2, name, section, set, shl, subF64x2, uleb, vec, whileFits, zeroV128, type WasmMemory } from './wasm.js';

type Fn = (...args: number[]) => void;
interface Kernels {
  memory: WasmMemory;
  pairRows: Fn;
  centre: Fn;
  ksWalk: Fn;
  steps: Fn;
  accumulate: Fn;
  cov: Fn;
  project: Fn;
  rotate: Fn;
  nearest: Fn;
  clusterSums: Fn;
  distanceSums: Fn;
}
let compiled: Kernels | null | undefined;
let enabled = true;

/** Off: the callers run their JS loops, as where WebAssembly is missing (tests compare the two). */
export function setDescriptiveWasm(on: boolean): void {
  enabled = on;
}

/** Whether the kernels compile here and are on. */
export function descriptiveWasmReady(): boolean {
  return kernels() !== null;
}

function kernels(): typeof compiled {
  if (!enabled) return null;
  if (compiled === undefined) compiled = compile();
  return compiled;
}

/** The module's memory grown to `bytes` (null when that is over 2 GB or cannot be had). */
function buffer(bytes: number): ArrayBuffer | null {
  const k = kernels();
  if (!k || bytes > 2 ** 31) return null;
  const have = k.memory.buffer.byteLength;
  if (bytes > have)
    try {
      k.memory.grow(Math.ceil((bytes - have) / 65536));
    } catch {
      return null;
    }
  return k.memory.buffer;
}

const align = (x: number) => Math.ceil(x / 16) * 16;

/** m's rows, transposed (column c of the result holds entry c of every row), padded with zero rows to a multiple of 8, at address 0. */
function transpose(m: Matrix, buf: ArrayBuffer, npad: number): void {
  const { rows, cols, data } = m;
  const t = new Float64Array(buf, 0, cols * npad);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let c = 0; c < cols; c++) t[c * npad + i] = data[o + c];
  }
  for (let c = 0; c < cols; c++) t.fill(0, c * npad + rows, (c + 1) * npad);
}

/**
 * All Euclidean distances between the rows of m: dist[i * stride + j] = sqrt(sum over c in
 * order of (x_ic - x_jc)^2), as clustering.ts's pairwiseDistances computes them. A view
 * into the module's memory (see above); null without the kernels.
 */
export function pairwiseDistancesWasm(m: Matrix): { dist: Float64Array; stride: number } | null {
  const { rows, cols } = m;
  const npad = Math.ceil(rows / 8) * 8;
  const distAt = align(cols * npad * 8);
  const buf = buffer(distAt + npad * npad * 8);
  if (!buf || !compiled) return null;
  transpose(m, buf, npad);
  const { pairRows } = compiled;
  const stride = npad * 8;
  // Rows i and i + 1 against the rows from the multiple of 8 at or below i; the few pairs
  // below the diagonal come out again, the same values, and the mirror stores fill the rest.
  for (let i = 0; i < rows; i += 2) pairRows(0, npad, cols, i, i + 1, i & ~7, distAt + i * stride, distAt + (i + 1) * stride, distAt);
  return { dist: new Float64Array(buf, distAt, npad * npad), stride: npad };
}

/**
 * Distances of two rows of m to every row: `rows(i0, i1)` returns a view holding row i0's
 * distances at [0, stride) and row i1's at [stride, 2 stride), each summed as above.
 * Null without the kernels.
 */
export function distanceRowsWasm(m: Matrix): { rows: (i0: number, i1: number) => Float64Array; stride: number } | null {
  const { rows, cols } = m;
  const npad = Math.ceil(rows / 8) * 8;
  const outAt = align(cols * npad * 8);
  const buf = buffer(outAt + 2 * npad * 8);
  if (!buf || !compiled) return null;
  transpose(m, buf, npad);
  const { pairRows } = compiled;
  const out = new Float64Array(buf, outAt, 2 * npad);
  return {
    rows: (i0, i1) => {
      pairRows(0, npad, cols, i0, i1, 0, outAt, outAt + npad * 8, 0);
      return out;
    },
    stride: npad,
  };
}

/**
 * Squared Euclidean distances of every row of m to one point (sum over c in order of
 * (x_ic - q_c)^2, as ml-distance-euclidean's squaredEuclidean): `toPoint(q)` for any point,
 * `toRow(r)` for row r of m; each returns a new array of m.rows entries. Null without the kernels.
 */
export function centreDistancesWasm(m: Matrix): { toPoint: (q: ArrayLike<number>) => Float64Array; toRow: (r: number) => Float64Array } | null {
  const { rows, cols, data } = m;
  const npad = Math.ceil(rows / 8) * 8;
  const qAt = align(cols * npad * 8);
  const outAt = align(qAt + cols * 8);
  const buf = buffer(outAt + npad * 8);
  if (!buf || !compiled) return null;
  transpose(m, buf, npad);
  return pointDistances(m, buf, npad, qAt, outAt, compiled.centre);
}

/** toPoint and toRow of centreDistancesWasm over m transposed into buf (the point at qAt, the distances written at outAt). */
function pointDistances(m: Matrix, buf: ArrayBuffer, npad: number, qAt: number, outAt: number, centre: Fn): { toPoint: (q: ArrayLike<number>) => Float64Array; toRow: (r: number) => Float64Array } {
  const { rows, cols, data } = m;
  const q = new Float64Array(buf, qAt, cols);
  const out = new Float64Array(buf, outAt, rows);
  const run = () => {
    centre(0, npad, cols, qAt, outAt);
    return out.slice();
  };
  return {
    toPoint: (point) => {
      for (let c = 0; c < cols; c++) q[c] = point[c];
      return run();
    },
    toRow: (r) => {
      q.set(data.subarray(r * cols, (r + 1) * cols));
      return run();
    },
  };
}

/**
 * max over the columns and over the walk of |walk| for each labelling (ks.ts's walk: in each
 * column's sorted order `orders[k]`, a row labelled 0 adds m, a row labelled 1 subtracts n;
 * read only where `tieEnds[k]` is 1), computed in 32-bit integers: exact while n m < 2^31.
 * Null without the kernels or beyond that.
 */
export function ksWalksWasm(orders: Int32Array[], tieEnds: Uint8Array[], labelings: Uint8Array[], n: number, m: number): Int32Array | null {
  const N = n + m;
  const cols = orders.length;
  const B = labelings.length;
  if (n * m >= 2 ** 31 || !kernels()) return null;
  const blocks = Math.ceil(B / 16);
  const ordersAt = blocks * N * 64;
  const tiesAt = align(ordersAt + cols * N * 4);
  const outAt = align(tiesAt + cols * N);
  const labsAt = align(outAt + blocks * 64);
  const buf = buffer(labsAt + B * N);
  if (!buf || !compiled) return null;
  // steps[(block N + row) 16 + lane]: what row adds to the walk of labelling 16 block + lane
  // (m, or -n where the label is not 0), filled by the kernel from the labels.
  new Int32Array(buf, 0, blocks * N * 16).fill(0);
  const labs = new Uint8Array(buf, labsAt, B * N);
  for (let b = 0; b < B; b++) labs.set(labelings[b], b * N);
  compiled.steps(labsAt, N, B, 0, n, m);
  const ord = new Int32Array(buf, ordersAt, cols * N);
  const ties = new Uint8Array(buf, tiesAt, cols * N);
  for (let k = 0; k < cols; k++) {
    ord.set(orders[k], k * N);
    ties.set(tieEnds[k], k * N);
  }
  compiled.ksWalk(0, N, blocks, ordersAt, tiesAt, cols, outAt);
  return new Int32Array(buf, outAt, blocks * 16).slice(0, B);
}

/**
 * matrix.ts covariance's sums: the upper triangle (b >= a) of sum over the rows, in order,
 * of (x_ia - mean_a)(x_ib - mean_b), four rows per pass as there (c + x0a x0b + x1a x1b +
 * x2a x2b + x3a x3b, then one row at a time), two entries b per f64x2. Returns a new
 * cols x cols array (the entries below the diagonal are not meaningful); null without the kernels.
 */
export function covarianceSumsWasm(m: Matrix, mean: ArrayLike<number>): Float64Array | null {
  const { rows, cols, data } = m;
  const cp = cols + (cols & 1);
  const meanAt = align(rows * cp * 8);
  const cAt = align(meanAt + cp * 8);
  const xbAt = align(cAt + cp * cp * 8);
  const buf = buffer(xbAt + 4 * cp * 8);
  if (!buf || !compiled) return null;
  const x = new Float64Array(buf, 0, rows * cp);
  if (cp === cols) x.set(data);
  else for (let i = 0; i < rows; i++) {
    x.set(data.subarray(i * cols, (i + 1) * cols), i * cp);
    x[i * cp + cols] = 0;
  }
  const mu = new Float64Array(buf, meanAt, cp);
  for (let j = 0; j < cols; j++) mu[j] = mean[j];
  mu.fill(0, cols);
  const c = new Float64Array(buf, cAt, cp * cp);
  c.fill(0);
  compiled.cov(0, rows, cp, meanAt, cAt, xbAt);
  const out = new Float64Array(cols * cols);
  for (let a = 0; a < cols; a++) out.set(c.subarray(a * cp + a, a * cp + cols), a * cols + a);
  return out;
}

/**
 * pca.ts pcaTransform's scores: out[i q + k] = sum over j in order of (x_ij - mean_j) comp_kj,
 * two components per f64x2 (components k and k + 1 interleaved). Null without the kernels.
 */
export function projectWasm(m: Matrix, mean: ArrayLike<number>, components: ArrayLike<number>, q: number): Float64Array | null {
  const { rows, cols: p, data } = m;
  const pp = p + (p & 1);
  const pairs = Math.ceil(q / 2);
  const meanAt = align(rows * pp * 8);
  const cpAt = align(meanAt + pp * 8);
  const outAt = align(cpAt + pairs * p * 16);
  const xbAt = align(outAt + rows * pairs * 16);
  const buf = buffer(xbAt + pp * 8);
  if (!buf || !compiled) return null;
  const x = new Float64Array(buf, 0, rows * pp);
  if (pp === p) x.set(data);
  else for (let i = 0; i < rows; i++) {
    x.set(data.subarray(i * p, (i + 1) * p), i * pp);
    x[i * pp + p] = 0;
  }
  const mu = new Float64Array(buf, meanAt, pp);
  for (let j = 0; j < p; j++) mu[j] = mean[j];
  mu.fill(0, p);
  const cp = new Float64Array(buf, cpAt, pairs * p * 2);
  cp.fill(0);
  for (let k = 0; k < q; k++) for (let j = 0; j < p; j++) cp[((k >> 1) * p + j) * 2 + (k & 1)] = components[k * p + j];
  compiled.project(0, rows, pp, meanAt, cpAt, pairs, outAt, xbAt, p);
  const scores = new Float64Array(buf, outAt, rows * pairs * 2);
  const out = new Float64Array(rows * q);
  for (let i = 0; i < rows; i++) for (let k = 0; k < q; k++) out[i * q + k] = scores[i * pairs * 2 + k];
  return out;
}

/**
 * Plane rotations applied in order to the rows of the n x n row-major w, in place (matrix.ts
 * tql2's eigenvector updates): rotation r turns rows at = rowOf[r] and at + 1 by
 * (c, s) = (cs[2 r], cs[2 r + 1]): row at + 1 <- s row at + c row at + 1, row at <- c row at
 * - s row at + 1, two entries per f64x2. False (w untouched) without the kernels.
 */
export function rotateRowsWasm(w: Float64Array, n: number, rowOf: Int32Array, cs: Float64Array, count: number): boolean {
  const np = n + (n & 1);
  const idxAt = align(n * np * 8);
  const csAt = align(idxAt + count * 4);
  const buf = buffer(csAt + count * 16);
  if (!buf || !compiled) return false;
  const x = new Float64Array(buf, 0, n * np);
  if (np === n) x.set(w.subarray(0, n * n));
  else for (let i = 0; i < n; i++) {
    x.set(w.subarray(i * n, (i + 1) * n), i * np);
    x[i * np + n] = 0;
  }
  new Int32Array(buf, idxAt, count).set(rowOf.subarray(0, count));
  new Float64Array(buf, csAt, 2 * count).set(cs.subarray(0, 2 * count));
  compiled.rotate(0, np * 8, count, idxAt, csAt);
  if (np === n) w.set(x);
  else for (let i = 0; i < n; i++) w.set(x.subarray(i * np, i * np + n), i * n);
  return true;
}

/**
 * The second half of matrix.ts tred2 (accumulating the Householder transformations into v,
 * n x n row-major, JAMA's V), for i = 0 .. n - 2:
 *   v[n - 1][i] = v[i][i]; v[i][i] = 1; h = d[i + 1]
 *   if h != 0: d[k] = v[k][i + 1] / h (k <= i); g_j = sum over k <= i in order of
 *     v[k][i + 1] v[k][j]; v[k][j] -= g_j d[k] (j, k <= i)
 *   v[k][i + 1] = 0 (k <= i)
 * with every g_j computed before the updates (g_j reads column j and i + 1 only, which no
 * other j updates), two columns j per f64x2. The same operations on every entry as the loop
 * one column at a time. False (v and d untouched) without the kernels.
 */
export function accumulateWasm(v: Float64Array, n: number, d: Float64Array): boolean {
  const dAt = align(n * n * 8);
  const gAt = align(dAt + n * 8);
  const buf = buffer(gAt + (n + 2) * 8);
  if (!buf || !compiled) return false;
  const x = new Float64Array(buf, 0, n * n);
  x.set(v.subarray(0, n * n));
  const dv = new Float64Array(buf, dAt, n);
  dv.set(d.subarray(0, n));
  compiled.accumulate(0, n, dAt, gAt);
  v.set(x);
  d.set(dv);
  return true;
}

/** The steps of clustering.ts's k-means on the rows of one matrix (see kmeansStepsWasm). */
export interface KmeansSteps {
  /** Squared distance of every row to q (sum over the columns in order of (x - q)^2): a new array. */
  toPoint: (q: ArrayLike<number>) => Float64Array;
  /** The same to row r. */
  toRow: (r: number) => Float64Array;
  /**
   * labels[i] = the first centre c (rows of `centres`, k x cols) whose squared distance to row
   * i is below every earlier one's and below Number.MAX_VALUE, -1 where none is. The
   * distances to the centres with moved[c] = 0 are last call's.
   */
  nearest: (centres: Float64Array, moved: Uint8Array, labels: Int32Array) => void;
  /** For each c with changed[c] = 1: sums[c] = 0 + the rows labelled c in row order (k x cols), counts[c] = their number; the others untouched. */
  sums: (labels: Int32Array, changed: Uint8Array, sums: Float64Array, counts: Int32Array) => void;
}

/**
 * k-means steps on the rows of m with k centres (clustering.ts kmeansLloyd): the distances
 * of `centre` into a table of k columns, the nearest centre of two rows per f64x2 (strict
 * f64x2.lt against the running minimum from Number.MAX_VALUE, the centres in order, as
 * ml-nearest-vector compares), and the clusters' sums of rows in row order, two columns per
 * f64x2 (each entry's additions those of the JS loop). Null without the kernels.
 */
export function kmeansStepsWasm(m: Matrix, k: number): KmeansSteps | null {
  const { rows, cols, data } = m;
  const npad = Math.ceil(rows / 8) * 8;
  const cp = cols + (cols & 1);
  const qAt = align(cols * npad * 8);
  const outAt = align(qAt + cols * 8);
  const cAt = align(outAt + npad * 8);
  const dAt = align(cAt + k * cols * 8);
  const xAt = align(dAt + k * npad * 8);
  const sAt = align(xAt + rows * cp * 8);
  const nearestAt = align(sAt + k * cp * 8);
  const labelsAt = align(nearestAt + npad * 8);
  const changedAt = align(labelsAt + rows * 4);
  const countsAt = align(changedAt + k * 4);
  const buf = buffer(countsAt + k * 4);
  if (!buf || !compiled) return null;
  transpose(m, buf, npad);
  const x = new Float64Array(buf, xAt, rows * cp);
  if (cp === cols) x.set(data);
  else for (let i = 0; i < rows; i++) {
    x.set(data.subarray(i * cols, (i + 1) * cols), i * cp);
    x[i * cp + cols] = 0;
  }
  const { centre, nearest, clusterSums } = compiled;
  const out = new Float64Array(buf, outAt, rows);
  const c64 = new Float64Array(buf, cAt, k * cols);
  const s64 = new Float64Array(buf, sAt, k * cp);
  const near = new Int32Array(buf, nearestAt, 2 * rows); // i64 lanes: the low word of row i at 2 i
  const lab = new Int32Array(buf, labelsAt, rows);
  const chg = new Int32Array(buf, changedAt, k);
  const cnt = new Int32Array(buf, countsAt, k);
  return {
    ...pointDistances(m, buf, npad, qAt, outAt, centre),
    nearest: (centres, moved, labels) => {
      for (let c = 0; c < k; c++)
        if (moved[c]) {
          c64.set(centres.subarray(c * cols, (c + 1) * cols), c * cols);
          centre(0, npad, cols, cAt + c * cols * 8, dAt + c * npad * 8);
        }
      nearest(dAt, npad, k, nearestAt);
      for (let i = 0; i < rows; i++) labels[i] = near[2 * i];
    },
    sums: (labels, changed, sums, counts) => {
      lab.set(labels);
      for (let c = 0; c < k; c++) {
        chg[c] = changed[c];
        if (changed[c]) {
          cnt[c] = 0;
          s64.fill(0, c * cp, (c + 1) * cp);
        }
      }
      clusterSums(xAt, rows, cp, labelsAt, changedAt, sAt, countsAt);
      for (let c = 0; c < k; c++)
        if (changed[c]) {
          counts[c] = cnt[c];
          sums.set(s64.subarray(c * cp, c * cp + cols), c * cols);
        }
    },
  };
}

/**
 * silhouette's sums for every row i of a distance matrix from pairwiseDistancesWasm (dist,
 * stride): out[c stride + i] = 0 + the distances dist[j stride + i] (= dist[i stride + j])
 * of the rows j in `order` from ends[c - 1] to ends[c] (cluster c's rows, ascending), in
 * that order, eight rows i per pass. The diagonal is set to 0 first (adding +0 to these
 * sums, which are never -0, leaves them as they are: the row itself is left out). A view
 * into the module's memory (see above), valid until the next call; null without the kernels.
 */
export function clusterDistanceSumsWasm(dist: Float64Array, stride: number, rows: number, order: Int32Array, ends: Int32Array, k: number): Float64Array | null {
  if (!compiled || dist.buffer !== compiled.memory.buffer) return null;
  const distAt = dist.byteOffset;
  const orderAt = align(distAt + stride * stride * 8);
  const endsAt = align(orderAt + rows * 4);
  const outAt = align(endsAt + k * 4);
  // Growing the memory detaches dist's buffer; the matrix stays at the same address.
  const buf = buffer(outAt + k * stride * 8);
  if (!buf) return null;
  const d = new Float64Array(buf, distAt, stride * stride);
  for (let i = 0; i < rows; i++) d[i * stride + i] = 0;
  new Int32Array(buf, orderAt, rows).set(order.subarray(0, rows));
  new Int32Array(buf, endsAt, k).set(ends.subarray(0, k));
  compiled.distanceSums(distAt, stride, orderAt, endsAt, k, outAt);
  return new Float64Array(buf, outAt, k * stride);
}

function compile(): Kernels | null {
  const m = instantiate(moduleBytes());
  if (!m) return null;
  const x = m.exports;
  return { memory: m.memory, pairRows: x.pairRows as Fn, centre: x.centre as Fn, ksWalk: x.ksWalk as Fn, steps: x.steps as Fn, accumulate: x.accumulate as Fn, cov: x.cov as Fn, project: x.project as Fn, rotate: x.rotate as Fn, nearest: x.nearest as Fn, clusterSums: x.clusterSums as Fn, distanceSums: x.distanceSums as Fn };
}

/**
 * The module: imports memory m.mem, exports (addresses in bytes; T = the rows transposed,
 * T[c npad + i] = row i's entry c, npad a multiple of 8)
 *   pairRows(T, npad, cols, i0, i1, j0, out0, out1, D):
 *     for j = j0; j + 8 <= npad; j += 8:      // rows j..j+7, two per f64x2
 *       x_q = y_q = 0 (f64x2, q = 0..3)
 *       for c < cols:
 *         z_q = f64x2[T + 8 (c npad + j + 2 q)]
 *         x_q = x_q + (splat(T[c npad + i0]) - z_q)^2;  y_q = y_q + (splat(T[c npad + i1]) - z_q)^2
 *       f64x2[out0 + 8 (j + 2 q)] = sqrt(x_q);  f64x2[out1 + 8 (j + 2 q)] = sqrt(y_q)
 *       if D: f64[D + 8 ((j + l) npad + i0)] = lane of sqrt(x), f64[... + 8] = lane of sqrt(y)
 *             (the mirror entries; i1 must be i0 + 1)
 *   centre(T, npad, cols, q, out):
 *     for j = 0; j + 8 <= npad; j += 8:
 *       a_q = 0;  for c < cols: a_q = a_q + (f64x2[T + 8 (c npad + j + 2 q)] - splat(f64[q + 8 c]))^2
 *       f64x2[out + 8 (j + 2 q)] = a_q
 *   nearest(D, npad, k, out):   // D: k columns of npad squared distances
 *     for j = 0; j + 2 <= npad; j += 2:   // rows j, j + 1
 *       best = splat(MAX_VALUE); idx = splat(-1) (i64x2)
 *       for c < k: d = f64x2[D + 8 (c npad + j)]; lt = d < best; best = lt ? d : best; idx = lt ? c : idx
 *       i64x2[out + 8 j] = idx
 *   clusterSums(X, rows, cp, labels, changed, S, counts):   // X: rows x cp row-major, cp even
 *     for i < rows: c = i32[labels + 4 i]
 *       if i32[changed + 4 c]: i32[counts + 4 c] += 1; f64x2[S + 8 (c cp + b)] += f64x2[X + 8 (i cp + b)] (b = 0, 2, ..)
 *   distanceSums(D, npad, order, ends, k, out):   // D: npad x npad distances, order: rows by cluster
 *     for i = 0; i + 8 <= npad; i += 8:   // rows i..i+7, two per f64x2
 *       pos = 0
 *       for c < k: a_q = 0 (q = 0..3)
 *         for ; pos < i32[ends + 4 c]; pos++: j = i32[order + 4 pos]; a_q = a_q + f64x2[D + 8 (j npad + i + 2 q)]
 *         f64x2[out + 8 (c npad + i + 2 q)] = a_q
 *   steps(L, N, B, S, n, m):   // L: B labellings of N bytes, one after the other
 *     i32[S + 64 ((b >> 4) N + r) + 4 (b & 15)] = u8[L + b N + r] ? -n : m   (b < B, r < N)
 *   ksWalk(S, N, blocks, orders, ties, cols, out):   // S: i32 steps, (block N + row) x 16 lanes
 *     for each block: a_q = 0 (i32x4, q = 0..3)
 *       for k < cols: w_q = 0
 *         for t < N: r = i32[orders + 4 (k N + t)]
 *           w_q = w_q + i32x4[S + 64 (block N + r) + 16 q]
 *           if u8[ties + k N + t]: a_q = max_s(a_q, abs(w_q))
 *       i32x4[out + 64 block + 16 q] = a_q
 */
function moduleBytes(): Uint8Array {
  const times = (n: number, f: (r: number) => number[]) => Array.from({ length: n }, (_, r) => f(r)).flat();
  const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
  const loadAt = (offset: number) => simd(0, 3, ...uleb(offset));
  const storeAt = (offset: number) => simd(11, 3, ...uleb(offset));
  const splatLoad = simd(10, 3, 0); // v128.load64_splat
  const sqrtF64x2 = simd(239);
  const extractF64 = (lane: number) => simd(33, lane);
  const storeF64At = (offset: number) => [0x39, 3, ...uleb(offset)];
  const addI32x4 = simd(174);
  const absI32x4 = simd(160);
  const maxI32x4 = simd(184);
  const load8u = [0x2d, 0, 0];
  const tee = (i: number) => [0x22, ...uleb(i)];
  const ifThen = (body: number[]) => [0x04, 0x40, ...body, ...end];

  // pairRows. Parameters 0..8: T, npad, cols, i0, i1, j0, out0, out1, D; i32 locals 9: j, 10: c,
  // 11: col (T + 8 c npad + 8 j), 12: stride (8 npad), 13: a (x address), 14: b (y address), 15: mirror address;
  // v128 locals 16: x, 17: y, 18: z, 19: d, 20..23: x_q, 24..27: y_q.
  const P = { T: 0, npad: 1, cols: 2, i0: 3, i1: 4, j0: 5, out0: 6, out1: 7, D: 8, j: 9, c: 10, col: 11, stride: 12, a: 13, b: 14, mir: 15, x: 16, y: 17, z: 18, d: 19, xq: 20, yq: 24 };
  const square = (from: number, acc: number) => [...get(from), ...get(P.z), ...subF64x2, ...tee(P.d), ...get(P.d), ...mulF64x2, ...get(acc), ...addF64x2, ...set(acc)];
  const pairColumn = [
    ...get(P.a), ...splatLoad, ...set(P.x),
    ...get(P.b), ...splatLoad, ...set(P.y),
    ...times(4, (q) => [...get(P.col), ...loadAt(16 * q), ...set(P.z), ...square(P.x, P.xq + q), ...square(P.y, P.yq + q)]),
    ...get(P.col), ...get(P.stride), ...add, ...set(P.col),
    ...get(P.a), ...get(P.stride), ...add, ...set(P.a),
    ...get(P.b), ...get(P.stride), ...add, ...set(P.b),
  ];
  const mirror = times(4, (q) =>
    times(2, (l) => [
      ...get(P.mir), ...get(P.xq + q), ...extractF64(l), ...storeF64At(0),
      ...get(P.mir), ...get(P.yq + q), ...extractF64(l), ...storeF64At(8),
      ...get(P.mir), ...get(P.stride), ...add, ...set(P.mir),
    ]),
  );
  const pairBody = [
    ...vec([[7, 0x7f], [12, 0x7b]]),
    ...get(P.npad), ...i32(3), ...shl, ...set(P.stride),
    ...get(P.j0), ...set(P.j),
    ...whileFits(P.j, 8, P.npad, [
      ...times(8, (q) => [...zeroV128, ...set(P.xq + q)]),
      ...get(P.T), ...get(P.j), ...i32(3), ...shl, ...add, ...set(P.col),
      ...get(P.T), ...get(P.i0), ...i32(3), ...shl, ...add, ...set(P.a),
      ...get(P.T), ...get(P.i1), ...i32(3), ...shl, ...add, ...set(P.b),
      ...i32(0), ...set(P.c),
      ...whileFits(P.c, 1, P.cols, pairColumn),
      ...times(4, (q) => [...get(P.xq + q), ...sqrtF64x2, ...set(P.xq + q), ...get(P.yq + q), ...sqrtF64x2, ...set(P.yq + q)]),
      ...times(4, (q) => [...get(P.out0), ...get(P.j), ...i32(3), ...shl, ...add, ...get(P.xq + q), ...storeAt(16 * q)]),
      ...times(4, (q) => [...get(P.out1), ...get(P.j), ...i32(3), ...shl, ...add, ...get(P.yq + q), ...storeAt(16 * q)]),
      ...get(P.D),
      ...ifThen([...get(P.D), ...get(P.j), ...get(P.stride), ...mul, ...add, ...get(P.i0), ...i32(3), ...shl, ...add, ...set(P.mir), ...mirror]),
    ]),
    ...end,
  ];

  // centre. Parameters 0..4: T, npad, cols, q, out; i32 locals 5: j, 6: c, 7: col, 8: stride, 9: qc;
  // v128 locals 10: x, 11: d, 12..15: a_q.
  const Q = { T: 0, npad: 1, cols: 2, q: 3, out: 4, j: 5, c: 6, col: 7, stride: 8, qc: 9, x: 10, d: 11, a: 12 };
  const centreBody = [
    ...vec([[5, 0x7f], [6, 0x7b]]),
    ...get(Q.npad), ...i32(3), ...shl, ...set(Q.stride),
    ...i32(0), ...set(Q.j),
    ...whileFits(Q.j, 8, Q.npad, [
      ...times(4, (q) => [...zeroV128, ...set(Q.a + q)]),
      ...get(Q.T), ...get(Q.j), ...i32(3), ...shl, ...add, ...set(Q.col),
      ...get(Q.q), ...set(Q.qc),
      ...i32(0), ...set(Q.c),
      ...whileFits(Q.c, 1, Q.cols, [
        ...get(Q.qc), ...splatLoad, ...set(Q.x),
        ...times(4, (q) => [...get(Q.col), ...loadAt(16 * q), ...get(Q.x), ...subF64x2, ...tee(Q.d), ...get(Q.d), ...mulF64x2, ...get(Q.a + q), ...addF64x2, ...set(Q.a + q)]),
        ...get(Q.col), ...get(Q.stride), ...add, ...set(Q.col),
        ...get(Q.qc), ...i32(8), ...add, ...set(Q.qc),
      ]),
      ...times(4, (q) => [...get(Q.out), ...get(Q.j), ...i32(3), ...shl, ...add, ...get(Q.a + q), ...storeAt(16 * q)]),
    ]),
    ...end,
  ];

  // ksWalk. Parameters 0..6: S, N, blocks, orders, ties, cols, out; i32 locals 7: block, 8: k, 9: t,
  // 10: base (S + 64 block N), 11: ord (orders + 4 k N + 4 t), 12: tie (ties + k N + t), 13: row address;
  // v128 locals 14..17: w_q, 18..21: a_q.
  const K = { S: 0, N: 1, blocks: 2, orders: 3, ties: 4, cols: 5, out: 6, block: 7, k: 8, t: 9, base: 10, ord: 11, tie: 12, row: 13, w: 14, a: 18 };
  const ksBody = [
    ...vec([[7, 0x7f], [8, 0x7b]]),
    ...i32(0), ...set(K.block),
    ...get(K.S), ...set(K.base),
    ...whileFits(K.block, 1, K.blocks, [
      ...times(4, (q) => [...zeroV128, ...set(K.a + q)]),
      ...get(K.orders), ...set(K.ord),
      ...get(K.ties), ...set(K.tie),
      ...i32(0), ...set(K.k),
      ...whileFits(K.k, 1, K.cols, [
        ...times(4, (q) => [...zeroV128, ...set(K.w + q)]),
        ...i32(0), ...set(K.t),
        ...whileFits(K.t, 1, K.N, [
          ...get(K.base), ...get(K.ord), ...loadI32(0), ...i32(6), ...shl, ...add, ...set(K.row),
          ...times(4, (q) => [...get(K.w + q), ...get(K.row), ...loadAt(16 * q), ...addI32x4, ...set(K.w + q)]),
          ...get(K.tie), ...load8u,
          ...ifThen(times(4, (q) => [...get(K.a + q), ...get(K.w + q), ...absI32x4, ...maxI32x4, ...set(K.a + q)])),
          ...get(K.ord), ...i32(4), ...add, ...set(K.ord),
          ...get(K.tie), ...i32(1), ...add, ...set(K.tie),
        ]),
      ]),
      ...times(4, (q) => [...get(K.out), ...get(K.block), ...i32(6), ...shl, ...add, ...get(K.a + q), ...storeAt(16 * q)]),
      ...get(K.base), ...get(K.N), ...i32(6), ...shl, ...add, ...set(K.base),
    ]),
    ...end,
  ];


  // cov. Parameters 0..5: X, rows, cp, mean, C, xb; i32 locals 6: i, 7: a, 8: b, 9: j, 10: src, 11: dst,
  // 12: row of C, 13: S (8 cp), 14..17: xb rows; v128 locals 18..21: x_r.
  const V = { X: 0, rows: 1, cp: 2, mean: 3, C: 4, xb: 5, i: 6, a: 7, b: 8, j: 9, src: 10, dst: 11, rowC: 12, S: 13, xr: 14, x: 18 };
  const andI32 = [0x71];
  const centre4 = (R: number) =>
    times(R, (r) => [
      ...get(V.X), ...get(V.i), ...i32(r), ...add, ...get(V.S), ...mul, ...add, ...set(V.src),
      ...get(V.xr + r), ...set(V.dst),
      ...i32(0), ...set(V.j),
      ...whileFits(V.j, 16, V.S, [
        ...get(V.dst), ...get(V.j), ...add,
        ...get(V.src), ...get(V.j), ...add, ...loadAt(0),
        ...get(V.mean), ...get(V.j), ...add, ...loadAt(0),
        ...subF64x2, ...storeAt(0),
      ]),
    ]);
  const covRows = (R: number) => [
    ...centre4(R),
    ...i32(0), ...set(V.a),
    ...whileFits(V.a, 1, V.cp, [
      ...times(R, (r) => [...get(V.xr + r), ...get(V.a), ...i32(3), ...shl, ...add, ...splatLoad, ...set(V.x + r)]),
      ...get(V.C), ...get(V.a), ...get(V.S), ...mul, ...add, ...set(V.rowC),
      ...get(V.a), ...i32(-2), ...andI32, ...i32(3), ...shl, ...set(V.b),
      ...whileFits(V.b, 16, V.S, [
        ...get(V.rowC), ...get(V.b), ...add,
        ...get(V.rowC), ...get(V.b), ...add, ...loadAt(0),
        ...times(R, (r) => [...get(V.x + r), ...get(V.xr + r), ...get(V.b), ...add, ...loadAt(0), ...mulF64x2, ...addF64x2]),
        ...storeAt(0),
      ]),
    ]),
  ];
  const covBody = [
    ...vec([[12, 0x7f], [4, 0x7b]]),
    ...get(V.cp), ...i32(3), ...shl, ...set(V.S),
    ...times(4, (r) => [...get(V.xb), ...get(V.S), ...i32(r), ...mul, ...add, ...set(V.xr + r)]),
    ...i32(0), ...set(V.i),
    ...whileFits(V.i, 4, V.rows, covRows(4)),
    ...whileFits(V.i, 1, V.rows, covRows(1)),
    ...end,
  ];

  // project. Parameters 0..8: X, rows, pp, mean, CP, pairs, out, xb, p; i32 locals 9: i, 10: qq, 11: j,
  // 12: src, 13: component pair address, 14: S (8 pp), 15: 8 p; v128 local 16: acc.
  const J = { X: 0, rows: 1, pp: 2, mean: 3, CP: 4, pairs: 5, out: 6, xb: 7, p: 8, i: 9, qq: 10, j: 11, src: 12, cq: 13, S: 14, P8: 15, acc: 16 };
  const projectBody = [
    ...vec([[7, 0x7f], [1, 0x7b]]),
    ...get(J.pp), ...i32(3), ...shl, ...set(J.S),
    ...get(J.p), ...i32(3), ...shl, ...set(J.P8),
    ...i32(0), ...set(J.i),
    ...whileFits(J.i, 1, J.rows, [
      ...get(J.X), ...get(J.i), ...get(J.S), ...mul, ...add, ...set(J.src),
      ...i32(0), ...set(J.j),
      ...whileFits(J.j, 16, J.S, [
        ...get(J.xb), ...get(J.j), ...add,
        ...get(J.src), ...get(J.j), ...add, ...loadAt(0),
        ...get(J.mean), ...get(J.j), ...add, ...loadAt(0),
        ...subF64x2, ...storeAt(0),
      ]),
      ...i32(0), ...set(J.qq),
      ...whileFits(J.qq, 1, J.pairs, [
        ...get(J.CP), ...get(J.qq), ...get(J.P8), ...mul, ...i32(1), ...shl, ...add, ...set(J.cq),
        ...zeroV128, ...set(J.acc),
        ...i32(0), ...set(J.j),
        ...whileFits(J.j, 8, J.P8, [
          ...get(J.acc),
          ...get(J.cq), ...get(J.j), ...i32(1), ...shl, ...add, ...loadAt(0),
          ...get(J.xb), ...get(J.j), ...add, ...splatLoad,
          ...mulF64x2, ...addF64x2, ...set(J.acc),
        ]),
        ...get(J.out), ...get(J.i), ...get(J.pairs), ...mul, ...get(J.qq), ...add, ...i32(4), ...shl, ...add, ...get(J.acc), ...storeAt(0),
      ]),
    ]),
    ...end,
  ];

  // rotate. Parameters 0..4: W, S (row bytes), count, idx, cs; i32 locals 5: r, 6: o0, 7: o1, 8: k;
  // v128 locals 9: c, 10: s, 11: wh, 12: wi.
  const O = { W: 0, S: 1, count: 2, idx: 3, cs: 4, r: 5, o0: 6, o1: 7, k: 8, c: 9, s: 10, wh: 11, wi: 12 };
  const rotateBody = [
    ...vec([[4, 0x7f], [4, 0x7b]]),
    ...i32(0), ...set(O.r),
    ...whileFits(O.r, 1, O.count, [
      ...get(O.W), ...get(O.idx), ...get(O.r), ...i32(2), ...shl, ...add, ...loadI32(0), ...get(O.S), ...mul, ...add, ...set(O.o0),
      ...get(O.o0), ...get(O.S), ...add, ...set(O.o1),
      ...get(O.cs), ...get(O.r), ...i32(4), ...shl, ...add, ...splatLoad, ...set(O.c),
      ...get(O.cs), ...get(O.r), ...i32(4), ...shl, ...add, ...i32(8), ...add, ...splatLoad, ...set(O.s),
      ...i32(0), ...set(O.k),
      ...whileFits(O.k, 16, O.S, [
        ...get(O.o1), ...get(O.k), ...add, ...loadAt(0), ...set(O.wh),
        ...get(O.o0), ...get(O.k), ...add, ...loadAt(0), ...set(O.wi),
        ...get(O.o1), ...get(O.k), ...add,
        ...get(O.s), ...get(O.wi), ...mulF64x2, ...get(O.c), ...get(O.wh), ...mulF64x2, ...addF64x2,
        ...storeAt(0),
        ...get(O.o0), ...get(O.k), ...add,
        ...get(O.c), ...get(O.wi), ...mulF64x2, ...get(O.s), ...get(O.wh), ...mulF64x2, ...subF64x2,
        ...storeAt(0),
      ]),
    ]),
    ...end,
  ];

  // steps. Parameters 0..5: L, N, B, S, n, m; i32 locals 6: b, 7: r, 8: src, 9: dst, 10: -n.
  const G = { L: 0, N: 1, B: 2, S: 3, n: 4, m: 5, b: 6, r: 7, src: 8, dst: 9, neg: 10 };
  const [subI32, shrU, andI32b, select, storeI32] = [[0x6b], [0x76], [0x71], [0x1b], [0x36, 2, 0]];
  const stepsBody = [
    ...vec([[5, 0x7f]]),
    ...i32(0), ...get(G.n), ...subI32, ...set(G.neg),
    ...i32(0), ...set(G.b),
    ...whileFits(G.b, 1, G.B, [
      ...get(G.S), ...get(G.b), ...i32(4), ...shrU, ...get(G.N), ...mul, ...i32(6), ...shl, ...add,
      ...get(G.b), ...i32(15), ...andI32b, ...i32(2), ...shl, ...add, ...set(G.dst),
      ...get(G.L), ...get(G.b), ...get(G.N), ...mul, ...add, ...set(G.src),
      ...i32(0), ...set(G.r),
      ...whileFits(G.r, 1, G.N, [
        ...get(G.dst), ...get(G.neg), ...get(G.m), ...get(G.src), ...get(G.r), ...add, ...load8u, ...select, ...storeI32,
        ...get(G.dst), ...i32(64), ...add, ...set(G.dst),
      ]),
    ]),
    ...end,
  ];

  // accumulate. Parameters 0..3: V, n, D, G; i32 locals 4: i, 5: k, 6: jb, 7: row, 8: S (8 n), 9: i + 1,
  // 10: L (bytes of the column pairs 0..i), 11: n - 1; f64 local 12: h; v128 locals 13: splat, 14: (spare).
  const A = { V: 0, n: 1, D: 2, G: 3, i: 4, k: 5, jb: 6, row: 7, S: 8, ip1: 9, L: 10, nm1: 11, h: 12, sp: 13 };
  const f64 = (x: number) => [0x44, ...new Uint8Array(Float64Array.of(x).buffer)];
  const [loadF64At, storeF64, neF64, divF64, subI32b] = [(o: number) => [0x2b, 3, ...uleb(o)], [0x39, 3, 0], [0x62], [0xa3], [0x6b]];
  const vAt = (r: number[], c: number[]) => [...get(A.V), ...r, ...get(A.S), ...mul, ...add, ...c, ...i32(3), ...shl, ...add]; // address of V[r][c]
  const accumulateBody = [
    ...vec([[8, 0x7f], [1, 0x7c], [2, 0x7b]]),
    ...get(A.n), ...i32(3), ...shl, ...set(A.S),
    ...get(A.n), ...i32(1), ...subI32b, ...set(A.nm1),
    ...i32(0), ...set(A.i),
    ...whileFits(A.i, 1, A.nm1, [
      ...get(A.i), ...i32(1), ...add, ...set(A.ip1),
      ...vAt(get(A.nm1), get(A.i)), ...vAt(get(A.i), get(A.i)), ...loadF64At(0), ...storeF64,
      ...vAt(get(A.i), get(A.i)), ...f64(1), ...storeF64,
      ...get(A.D), ...get(A.ip1), ...i32(3), ...shl, ...add, ...loadF64At(0), ...set(A.h),
      ...get(A.h), ...f64(0), ...neF64,
      ...ifThen([
        ...i32(0), ...set(A.k),
        ...whileFits(A.k, 1, A.ip1, [
          ...get(A.D), ...get(A.k), ...i32(3), ...shl, ...add,
          ...vAt(get(A.k), get(A.ip1)), ...loadF64At(0), ...get(A.h), ...divF64, ...storeF64,
        ]),
        // L = 16 ceil((i + 1) / 2)
        ...get(A.i), ...i32(2), ...add, ...i32(1), ...[0x76], ...i32(4), ...shl, ...set(A.L),
        ...i32(0), ...set(A.jb),
        ...whileFits(A.jb, 16, A.L, [...get(A.G), ...get(A.jb), ...add, ...zeroV128, ...storeAt(0)]),
        ...i32(0), ...set(A.k),
        ...whileFits(A.k, 1, A.ip1, [
          ...get(A.V), ...get(A.k), ...get(A.S), ...mul, ...add, ...set(A.row),
          ...get(A.row), ...get(A.ip1), ...i32(3), ...shl, ...add, ...splatLoad, ...set(A.sp),
          ...i32(0), ...set(A.jb),
          ...whileFits(A.jb, 16, A.L, [
            ...get(A.G), ...get(A.jb), ...add,
            ...get(A.G), ...get(A.jb), ...add, ...loadAt(0),
            ...get(A.sp), ...get(A.row), ...get(A.jb), ...add, ...loadAt(0), ...mulF64x2,
            ...addF64x2, ...storeAt(0),
          ]),
        ]),
        ...i32(0), ...set(A.k),
        ...whileFits(A.k, 1, A.ip1, [
          ...get(A.V), ...get(A.k), ...get(A.S), ...mul, ...add, ...set(A.row),
          ...get(A.D), ...get(A.k), ...i32(3), ...shl, ...add, ...splatLoad, ...set(A.sp),
          ...i32(0), ...set(A.jb),
          ...whileFits(A.jb, 16, A.L, [
            ...get(A.row), ...get(A.jb), ...add,
            ...get(A.row), ...get(A.jb), ...add, ...loadAt(0),
            ...get(A.G), ...get(A.jb), ...add, ...loadAt(0), ...get(A.sp), ...mulF64x2,
            ...subF64x2, ...storeAt(0),
          ]),
        ]),
      ]),
      ...i32(0), ...set(A.k),
      ...whileFits(A.k, 1, A.ip1, [...vAt(get(A.k), get(A.ip1)), ...f64(0), ...storeF64]),
    ]),
    ...end,
  ];

  // nearest. Parameters 0..3: D, npad, k, out; i32 locals 4: j, 5: c, 6: col, 7: stride (8 npad);
  // v128 locals 8: best, 9: idx, 10: cv (c in both i64 lanes), 11: d, 12: mask.
  const N = { D: 0, npad: 1, k: 2, out: 3, j: 4, c: 5, col: 6, stride: 7, best: 8, idx: 9, cv: 10, d: 11, mask: 12 };
  const nearestBody = [
    ...vec([[4, 0x7f], [5, 0x7b]]),
    ...get(N.npad), ...i32(3), ...shl, ...set(N.stride),
    ...i32(0), ...set(N.j),
    ...whileFits(N.j, 2, N.npad, [
      ...constF64x2(Number.MAX_VALUE), ...set(N.best),
      ...constI64x2(-1n), ...set(N.idx),
      ...zeroV128, ...set(N.cv),
      ...get(N.D), ...get(N.j), ...i32(3), ...shl, ...add, ...set(N.col),
      ...i32(0), ...set(N.c),
      ...whileFits(N.c, 1, N.k, [
        ...get(N.col), ...loadAt(0), ...set(N.d),
        ...get(N.d), ...get(N.best), ...ltF64x2, ...set(N.mask),
        ...get(N.d), ...get(N.best), ...get(N.mask), ...bitselectV128, ...set(N.best),
        ...get(N.cv), ...get(N.idx), ...get(N.mask), ...bitselectV128, ...set(N.idx),
        ...get(N.cv), ...constI64x2(1n), ...addI64x2, ...set(N.cv),
        ...get(N.col), ...get(N.stride), ...add, ...set(N.col),
      ]),
      ...get(N.out), ...get(N.j), ...i32(3), ...shl, ...add, ...get(N.idx), ...storeAt(0),
    ]),
    ...end,
  ];

  // clusterSums. Parameters 0..6: X, rows, cp, labels, changed, S, counts; i32 locals 7: i, 8: c,
  // 9: src, 10: dst, 11: b, 12: row bytes (8 cp), 13: label address, 14: count address.
  const U = { X: 0, rows: 1, cp: 2, labels: 3, changed: 4, S: 5, counts: 6, i: 7, c: 8, src: 9, dst: 10, b: 11, rb: 12, lab: 13, cnt: 14 };
  const clusterSumsBody = [
    ...vec([[8, 0x7f]]),
    ...get(U.cp), ...i32(3), ...shl, ...set(U.rb),
    ...get(U.X), ...set(U.src),
    ...get(U.labels), ...set(U.lab),
    ...i32(0), ...set(U.i),
    ...whileFits(U.i, 1, U.rows, [
      ...get(U.lab), ...loadI32(0), ...set(U.c),
      ...get(U.changed), ...get(U.c), ...i32(2), ...shl, ...add, ...loadI32(0),
      ...ifThen([
        ...get(U.counts), ...get(U.c), ...i32(2), ...shl, ...add, ...set(U.cnt),
        ...get(U.cnt), ...get(U.cnt), ...loadI32(0), ...i32(1), ...add, ...storeI32,
        ...get(U.S), ...get(U.c), ...get(U.rb), ...mul, ...add, ...set(U.dst),
        ...i32(0), ...set(U.b),
        ...whileFits(U.b, 16, U.rb, [
          ...get(U.dst), ...get(U.b), ...add,
          ...get(U.dst), ...get(U.b), ...add, ...loadAt(0),
          ...get(U.src), ...get(U.b), ...add, ...loadAt(0),
          ...addF64x2, ...storeAt(0),
        ]),
      ]),
      ...get(U.src), ...get(U.rb), ...add, ...set(U.src),
      ...get(U.lab), ...i32(4), ...add, ...set(U.lab),
    ]),
    ...end,
  ];

  // distanceSums. Parameters 0..5: D, npad, order, ends, k, out; i32 locals 6: i, 7: c, 8: pos, 9: end,
  // 10: base (D + 8 i), 11: stride (8 npad), 12: addr; v128 locals 13..16: acc_q.
  const W = { D: 0, npad: 1, order: 2, ends: 3, k: 4, out: 5, i: 6, c: 7, pos: 8, end: 9, base: 10, stride: 11, addr: 12, acc: 13 };
  const distanceSumsBody = [
    ...vec([[7, 0x7f], [4, 0x7b]]),
    ...get(W.npad), ...i32(3), ...shl, ...set(W.stride),
    ...i32(0), ...set(W.i),
    ...whileFits(W.i, 8, W.npad, [
      ...get(W.D), ...get(W.i), ...i32(3), ...shl, ...add, ...set(W.base),
      ...i32(0), ...set(W.pos),
      ...i32(0), ...set(W.c),
      ...whileFits(W.c, 1, W.k, [
        ...times(4, (q) => [...zeroV128, ...set(W.acc + q)]),
        ...get(W.ends), ...get(W.c), ...i32(2), ...shl, ...add, ...loadI32(0), ...set(W.end),
        ...whileFits(W.pos, 1, W.end, [
          ...get(W.base), ...get(W.order), ...get(W.pos), ...i32(2), ...shl, ...add, ...loadI32(0), ...get(W.stride), ...mul, ...add, ...set(W.addr),
          ...times(4, (q) => [...get(W.acc + q), ...get(W.addr), ...loadAt(16 * q), ...addF64x2, ...set(W.acc + q)]),
        ]),
        ...times(4, (q) => [...get(W.out), ...get(W.c), ...get(W.npad), ...mul, ...get(W.i), ...add, ...i32(3), ...shl, ...add, ...get(W.acc + q), ...storeAt(16 * q)]),
      ]),
    ]),
    ...end,
  ];
  const params = (n: number) => [0x60, ...vec(Array.from({ length: n }, () => [0x7f])), 0];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec([params(9), params(5), params(7), params(6), params(4)])),
    ...section(2, vec([[...name('m'), ...name('mem'), 0x02, 0x00, 1]])), // import memory m.mem, min 1 page
    ...section(3, vec([[0], [1], [2], [3], [0], [1], [3], [4], [4], [2], [3]])),
    ...section(
      7,
      vec([
        [...name('pairRows'), 0x00, 0],
        [...name('centre'), 0x00, 1],
        [...name('ksWalk'), 0x00, 2],
        [...name('cov'), 0x00, 3],
        [...name('project'), 0x00, 4],
        [...name('rotate'), 0x00, 5],
        [...name('steps'), 0x00, 6],
        [...name('accumulate'), 0x00, 7],
        [...name('nearest'), 0x00, 8],
        [...name('clusterSums'), 0x00, 9],
        [...name('distanceSums'), 0x00, 10],
      ]),
    ),
    ...section(10, vec([pairBody, centreBody, ksBody, covBody, projectBody, rotateBody, stepsBody, accumulateBody, nearestBody, clusterSumsBody, distanceSumsBody].map((b) => [...uleb(b.length), ...b]))),
  ]);
}

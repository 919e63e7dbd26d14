import type { Matrix, Rng } from '../monitors/types.js';
import { gaussian, randInt } from './rng.js';
import {
  absF64x2, add, addF64, addF64x2, addI64x2, and, andNotV128, andV128, anyTrueV128, bitselectV128, constF64x2, constI64x2, convertI32ToF64, convertLowI32x4ToF64x2,
  demoteF64x2Zero, divF64x2, end, extendLowI32x4ToI64x2, extractLaneF64x2, extractLaneI64x2, geF64x2, get, gtSI64x2, i32, ifThen, instantiate, loadF64, loadI32, loadV128,
  loadV128At, ltF64x2, mul, mulF64x2, name, notV128, orV128, promoteLowF32x4, section, set, shl, shlI64x2, shrSI64x2, shrU, shrUI64x2, shuffleI8x16, splatF64x2, storeF64, storeI32,
  storeV128, storeV128At, subF64x2, subI64x2, truncSatF64x2ToI32x4Zero, uleb, vec, whileFits, wrapI64, xorV128, zeroV128, type WasmMemory,
} from './wasm.js';

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
  const d = new Float64Array(rows > 1 ? Math.max(0, Math.ceil(pairs)) : 0);
  let nan = false;
  for (let t = 0; t < d.length; t++) {
    const i = randInt(rng, rows);
    let j = randInt(rng, rows - 1);
    if (j >= i) j++;
    let s = 0;
    for (let c = 0; c < cols; c++) {
      const x = data[i * cols + c] - data[j * cols + c];
      s += x * x;
    }
    d[t] = Math.sqrt(s);
    nan ||= s !== s;
  }
  // The typed array's numeric sort (a quarter of the time of Array.prototype.sort with a comparator);
  // with a NaN distance, where the comparator's order is the engine's choice, the comparator as before.
  const sorted = nan ? Array.from(d).sort((a, b) => a - b) : d.sort();
  return sorted.length ? sorted[sorted.length >> 1] || 1 : 1;
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
  return mmdTest(x, y, opts, true);
}

/** mmdPermutationTest on the JS loops alone (what runs where WebAssembly SIMD is missing): for tests and diagnostics. */
export function mmdPermutationTestJs(x: Matrix, y: Matrix, opts: MmdOptions): MmdResult {
  return mmdTest(x, y, opts, false);
}

function mmdTest(x: Matrix, y: Matrix, opts: MmdOptions, wasm: boolean): MmdResult {
  if (x.cols !== y.cols) throw new RangeError('samples differ in dimension');
  const p = x.cols;
  const n = x.rows;
  const m = y.rows;
  const N = n + m;
  const D = opts.features ?? 128;
  const scales = opts.scales ?? [0.5, 1, 2];
  const small = Math.min(n, m);
  const B = opts.labelings ? opts.labelings.length : opts.permutations;
  // The pooled rows, phi, the relabellings and the statistics live in the SIMD kernel's memory when there is one (see mmdKernel), else in the JS heap.
  const kernel = wasm ? mmdKernel(N, p, D, small, B) : null;
  const pooled = { rows: N, cols: p, data: kernel ? kernel.pooled : new Float64Array(N * p) };
  pooled.data.set(x.data, 0);
  pooled.data.set(y.data, n * p);
  const bandwidth = opts.bandwidth ?? medianDistance(pooled, opts.rng);

  const w = new Float64Array(D * p);
  for (let r = 0; r < D; r++) {
    const s = 1 / (scales[r % scales.length] * bandwidth);
    for (let c = 0; c < p; c++) w[r * p + c] = gaussian(opts.rng) * s;
  }
  const norm = 1 / Math.sqrt(D);
  // stats[0]: the observed statistic; stats[b + 1]: relabelling b's.
  const stats = kernel ? kernelStatistics(kernel, w, n, m, p, D, norm, B, opts) : jsStatistics(pooled.data, w, n, m, p, D, norm, B, opts);
  const observed = stats[0];
  let atLeast = 0;
  let mean = 0;
  let sq = 0;
  for (let b = 0; b < B; b++) {
    const t = stats[b + 1];
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

/** The rows labelled as the smaller side by labeling b, in order, into out[at..at + small) (out has room up to at + N); throws unless there are `small` of them. */
function smallSide(lab: Uint8Array, b: number, N: number, small: number, m: number, want: number, out: Int32Array, at: number, scale: number): void {
  if (lab.length !== N) throw new RangeError(`labeling ${b} has ${lab.length} entries, expected ${N}`);
  // Without a branch (the labels are random, so a branch would be mispredicted half the time): every row is
  // written at the next free place, which only a row of the smaller side takes. Writes past the list (before
  // the count is checked) land where the next list goes, or, after the last list, in out's slack of N entries.
  let k = 0;
  for (let i = 0; i < N; i++) {
    out[at + k] = i * scale;
    k += ((lab[i] ^ want) - 1) >>> 31; // 1 where lab[i] === want, else 0
  }
  if (k !== small) throw new RangeError(`labeling ${b} has ${N - k} ones, expected ${m}`);
}

/** The JS loops: phi as float32 (N x 2D, row-major), each relabelling's sums over the smaller side. */
function jsStatistics(pd: Float64Array, w: Float64Array, n: number, m: number, p: number, D: number, norm: number, B: number, opts: MmdOptions): Float64Array {
  const N = n + m;
  const F = 2 * D;
  const small = Math.min(n, m);
  const phi = new Float32Array(N * F);
  featuresJs(pd, w, N, p, D, phi, norm);
  const total = new Float64Array(F);
  for (let i = 0; i < N; i++) for (let f = 0; f < F; f++) total[f] += phi[i * F + f];

  // Sum over the smaller side only; the other side's sum is total - that.
  const large = N - small;
  const sumX = new Float64Array(F);
  const idx = new Int32Array(N);
  // Observed: the smaller sample's rows first.
  const xIsSmall = n <= m;
  for (let i = 0; i < N; i++) idx[i] = xIsSmall ? i : (i + n) % N;
  const stats = new Float64Array(B + 1);
  stats[0] = subsetStatistic(phi, F, idx, small, large, total, sumX);
  const want = xIsSmall ? 0 : 1;
  for (let b = 0; b < B; b++) {
    if (opts.labelings) smallSide(opts.labelings[b], b, N, small, m, want, idx, 0, 1);
    else partialShuffle(idx, small, opts.rng);
    stats[b + 1] = subsetStatistic(phi, F, idx, small, large, total, sumX);
  }
  return stats;
}

/**
 * The same statistics through the SIMD kernel: phi promoted to float64 in blocks of BLOCK
 * features (mmdKernel), every relabelling's row list written first, then per block of
 * features the sums and the statistic's terms of all relabellings (`sumDraws`), so that a
 * block's rows stay in cache across the relabellings. The additions per (relabelling,
 * feature) and the statistic's terms per relabelling are the JS loops', in their order.
 */
function kernelStatistics(kernel: MmdKernel, w: Float64Array, n: number, m: number, p: number, D: number, norm: number, B: number, opts: MmdOptions): Float64Array {
  const N = n + m;
  const small = Math.min(n, m);
  kernel.features(w, N, p, D, norm);
  const rows = kernel.rows;
  const xIsSmall = n <= m;
  // Row lists as byte offsets into a block of phi. Observed: the smaller sample's rows.
  for (let t = 0; t < small; t++) rows[t] = (xIsSmall ? t : n + t) * ROW_BYTES;
  if (opts.labelings) {
    const want = xIsSmall ? 0 : 1;
    for (let b = 0; b < B; b++) smallSide(opts.labelings[b], b, N, small, m, want, rows, (b + 1) * small, ROW_BYTES);
  } else {
    const idx = new Int32Array(N);
    for (let i = 0; i < N; i++) idx[i] = xIsSmall ? i : (i + n) % N;
    for (let b = 0; b < B; b++) {
      partialShuffle(idx, small, opts.rng);
      const at = (b + 1) * small;
      for (let t = 0; t < small; t++) rows[at + t] = idx[t] * ROW_BYTES;
    }
  }
  return kernel.statistics(small, N - small, B + 1);
}

/** phi = [cos(w_r . x_i), sin(w_r . x_i)] * norm for every row i and feature r, phi row-major (N x 2D). */
function featuresJs(pd: Float64Array, w: Float64Array, N: number, p: number, D: number, phi: Float32Array, norm: number): void {
  const F = 2 * D;
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
}

/** ||mean phi(rows idx[0..k)) - mean phi(the other rows)||^2. */
function subsetStatistic(phi: Float32Array, F: number, idx: Int32Array, k: number, rest: number, total: Float64Array, sum: Float64Array): number {
  sumRowsJs(phi, F, idx, k, sum);
  let s = 0;
  for (let f = 0; f < F; f++) {
    const d = sum[f] / k - (total[f] - sum[f]) / rest;
    s += d * d;
  }
  return s;
}

/** sum[f] = phi[idx[0]][f] + phi[idx[1]][f] + ... + phi[idx[k-1]][f], added in that order. */
function sumRowsJs(phi: Float32Array, F: number, idx: Int32Array, k: number, sum: Float64Array): void {
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
}

/** Features per block of phi in the kernel's memory (a block's N rows, 77 kB at N = 300 + 300, stay in cache across all relabellings), and a block row's bytes. */
const BLOCK_SHIFT = 5;
const BLOCK = 1 << BLOCK_SHIFT;
/** Rows added per pass over a block's sums in sumDraws. */
const PASS_ROWS = 8;
const ROW_BYTES = BLOCK * 8;

interface MmdKernel {
  /** The pooled rows (N x p, row-major). */
  pooled: Float64Array;
  /** Row lists of the observed labels and of every relabelling ((B + 1) x k byte offsets of rows in a block of phi, then N entries of slack for smallSide). */
  rows: Int32Array;
  /** featuresJs through the `dots` export: fills phi (float64 in blocks of BLOCK features) from pooled and w. */
  features: (w: Float64Array, N: number, p: number, D: number, norm: number) => void;
  /** phi: float64, in blocks of BLOCK features (see trig). */
  phi: Float64Array;
  /** The dot products w_r . x_i: out[i 2 ceil(D / 2) + r]. */
  out: Float64Array;
  /** Fills phi from out. */
  trig: (rows: number, D: number, norm: number) => void;
  /** The statistic of each of the `draws` row lists of k rows (the other side has `rest`), from phi. */
  statistics: (k: number, rest: number, draws: number) => Float64Array;
}

type Dots = (x: number, p: number, rows: number, wp: number, pairs: number, out: number) => void;
type SinCos = (out: number, rows: number, pairs: number, phi: number, blockBytes: number, normAt: number, list: number) => number;
type SumDraws = (phi: number, rows: number, k: number, rest: number, draws: number, totals: number, stats: number, sum: number) => void;

let mmdModule: { memory: WasmMemory; sumDraws: SumDraws; dots: Dots; sinCos: SinCos } | null | undefined;

/** Whether the WebAssembly kernels compile here (else the JS loops run): for tests and diagnostics. */
export function mmdWasmReady(): boolean {
  if (mmdModule === undefined) mmdModule = compileMmd();
  return mmdModule !== null;
}

/**
 * The loops that take nearly all of this test's time, in WebAssembly with 128-bit SIMD:
 * - `dots`: the N x D dot products w_r . x_i of the random features, two features per
 *   instruction (f64x2: w_r[c], w_r+1[c] times x_i[c]), four rows per pass;
 * - `sinCos`: phi = Math.fround(cos(t) norm), Math.fround(sin(t) norm) of the dot products,
 *   two arguments per instruction. It is V8's own Math.sin/Math.cos (fdlibm: the Cody-Waite
 *   reduction of __ieee754_rem_pio2 by pi/2 in 33 + 53 bits for |t| up to 2^19 pi/2, then
 *   __kernel_sin/__kernel_cos with their polynomials), operation for operation, with every
 *   branch taken per lane by masks; the arguments that would take fdlibm's other branches
 *   (|t| beyond 2^19 pi/2, within 2^-20 of pi/2, or reductions that cancel more than 16
 *   bits: a few per run) are listed and left to Math.cos/Math.sin. So phi is bit-identical
 *   to the JS loop's (tested on a million arguments of every range, none differ);
 * - `sumDraws`: the relabelling sums and the statistic's terms. phi is kept as float64 (the
 *   float32 values the JS loop stores, promoted once: the promotion is exact, and the sums
 *   no longer promote every value 200 times) in blocks of BLOCK features, each block N rows
 *   of BLOCK values. For one block and every relabelling in turn, the rows of the
 *   relabelling are added in order to the block's sums, two features per instruction,
 *   PASS_ROWS rows per pass over the sums, the pass unrolled over the block's features (the
 *   sums held in registers instead ran slower), then the block's terms (sum/k - (total - sum)/rest)^2
 *   are added to the relabelling's statistic in feature order. A block's rows stay in cache
 *   across all relabellings, and the row lists are written in one pass beforehand.
 * Each lane does the IEEE double multiplication, addition and division that the JS loops
 * do (featuresJs with V8's Math.sin/Math.cos, sumRowsJs, subsetStatistic), in the same order (each dot product over c
 * in order, each sum over the rows in order, each statistic over the features in order),
 * with no fused multiply-add, so every statistic, p-value and permutation array is
 * bit-identical to the JS loops'; they run several times faster, as V8 does not vectorise
 * JS. No numeric package in the dependency tree has such a kernel (ml-matrix is plain JS),
 * and the module is a few hundred bytes, so it is assembled here from its instruction list
 * (readable, no binary file, no build step). Null, and the JS loops run, where WebAssembly
 * SIMD is unavailable or the arrays would not fit in 2 GB.
 */
function mmdKernel(N: number, p: number, D: number, k: number, B: number): MmdKernel | null {
  if (mmdModule === undefined) mmdModule = compileMmd();
  if (!mmdModule) return null;
  const F = 2 * D;
  const blocks = Math.ceil(F / BLOCK);
  const pairs = Math.ceil(D / 2);
  const align = (x: number) => Math.ceil(x / 16) * 16;
  const pooledOffset = 0;
  const wOffset = align(pooledOffset + N * p * 8);
  const dotsOffset = align(wOffset + pairs * p * 16);
  const phiOffset = align(dotsOffset + N * pairs * 16);
  const rowsOffset = align(phiOffset + blocks * N * ROW_BYTES);
  const identOffset = align(rowsOffset + ((B + 1) * k + N) * 4);
  const totalsOffset = align(identOffset + N * 4);
  const statsOffset = align(totalsOffset + blocks * ROW_BYTES);
  const scratchOffset = align(statsOffset + (B + 1) * 8);
  const listOffset = align(scratchOffset + ROW_BYTES + 16);
  const bytes = listOffset + 64 * pairs * 2 * 4;
  if (bytes > 2 ** 31) return null;
  const { memory, sumDraws, dots, sinCos } = mmdModule;
  const have = memory.buffer.byteLength;
  if (bytes > have) {
    try {
      memory.grow(Math.ceil((bytes - have) / 65536));
    } catch {
      return null; // no room for the kernel's memory: the JS loops need less
    }
  }
  const buffer = memory.buffer;
  const phi = new Float64Array(buffer, phiOffset, blocks * N * BLOCK);
  const wp = new Float64Array(buffer, wOffset, pairs * p * 2);
  const out = new Float64Array(buffer, dotsOffset, N * pairs * 2);
  const features = (w: Float64Array, rows: number, cols: number, features: number, norm: number) => {
    // w's rows r and r + 1 interleaved: wp[(q p + c) 2 + lane] = w[(2 q + lane) p + c] (a zero row pads an odd D).
    wp.fill(0);
    for (let r = 0; r < features; r++) for (let c = 0; c < cols; c++) wp[((r >> 1) * cols + c) * 2 + (r & 1)] = w[r * cols + c];
    // In calls of 64 rows: V8 first runs a WebAssembly function from its baseline compiler
    // and switches to the optimised code only for later calls (no on-stack replacement).
    for (let i0 = 0; i0 < rows; i0 += 64) dots(pooledOffset + i0 * cols * 8, cols, Math.min(64, rows - i0), wOffset, pairs, dotsOffset + i0 * pairs * 16);
    trig(rows, features, norm);
  };
  const list = new Int32Array(buffer, listOffset, 64 * pairs * 2);
  const normAt = scratchOffset + ROW_BYTES + 8;
  const scalars = new Float64Array(buffer, normAt, 1);
  // phi from the dot products in `out`: feature 2r of row i = Math.fround(Math.cos(t) * norm), 2r + 1 its sine,
  // at phi[((f / BLOCK) N + i) BLOCK + f % BLOCK] (features 2r and 2r + 1 share a block).
  const trig = (rows: number, features: number, norm: number) => {
    scalars[0] = norm;
    const F2 = pairs * 2;
    for (let i0 = 0; i0 < rows; i0 += 64) {
      const fallbacks = sinCos(dotsOffset + i0 * pairs * 16, Math.min(64, rows - i0), pairs, phiOffset + i0 * ROW_BYTES, rows * ROW_BYTES, normAt, listOffset);
      // The few arguments the kernel leaves to Math.cos/Math.sin (see sinCosStep).
      for (let j = 0; j < fallbacks; j++) {
        const a = (list[j] - dotsOffset) / 8;
        const i = Math.floor(a / F2);
        const r = a - i * F2;
        if (r >= features) continue;
        const t = out[a];
        const f = 2 * r;
        const q = ((f >> BLOCK_SHIFT) * rows + i) * BLOCK + (f & (BLOCK - 1));
        phi[q] = Math.fround(Math.cos(t) * norm);
        phi[q + 1] = Math.fround(Math.sin(t) * norm);
      }
    }
    // Zero features pad the last block (the kernel writes the zero row that pads an odd D there too): their sums and terms are +0, which leave every statistic unchanged.
    for (let f = 2 * features; f < blocks * BLOCK; f++) for (let i = 0; i < rows; i++) phi[((f >> BLOCK_SHIFT) * rows + i) * BLOCK + (f & (BLOCK - 1))] = 0;
  };
  const ident = new Int32Array(buffer, identOffset, N);
  for (let i = 0; i < N; i++) ident[i] = i * ROW_BYTES;
  const stats = new Float64Array(buffer, statsOffset, B + 1);
  const statistics = (count: number, rest: number, draws: number) => {
    stats.fill(0);
    for (let c = 0; c < blocks; c++) {
      const block = phiOffset + c * N * ROW_BYTES;
      const totals = totalsOffset + c * ROW_BYTES;
      // The block's totals over all rows in order (sumDraws' sums of one list of all rows), then every row list's statistic terms.
      sumDraws(block, identOffset, N, 1, 1, totals, scratchOffset + ROW_BYTES, totals);
      sumDraws(block, rowsOffset, count, rest, draws, totals, statsOffset, scratchOffset);
    }
    return stats.slice(0, draws);
  };
  return { pooled: new Float64Array(buffer, pooledOffset, N * p), rows: new Int32Array(buffer, rowsOffset, (B + 1) * k + N), phi, out, features, trig, statistics };
}

/**
 * [Math.fround(Math.cos(t) * norm), Math.fround(Math.sin(t) * norm)] for every t, computed as
 * the kernel computes phi (sinCos, and Math.cos/Math.sin for the arguments it leaves to them);
 * null without WebAssembly SIMD. For tests and diagnostics.
 */
export function mmdKernelSinCos(t: Float64Array, norm: number): Float64Array | null {
  const rows = Math.ceil(t.length / 2);
  const kernel = mmdKernel(rows, 1, 2, 1, 0);
  if (!kernel) return null;
  kernel.out.fill(0, 0, rows * 2);
  kernel.out.set(t);
  kernel.trig(rows, 2, norm);
  const result = new Float64Array(2 * t.length);
  for (let k = 0; k < t.length; k++) {
    result[2 * k] = kernel.phi[(k >> 1) * BLOCK + 2 * (k & 1)];
    result[2 * k + 1] = kernel.phi[(k >> 1) * BLOCK + 2 * (k & 1) + 1];
  }
  return result;
}

function compileMmd(): { memory: WasmMemory; sumDraws: SumDraws; dots: Dots; sinCos: SinCos } | null {
  const m = instantiate(mmdWasm());
  return m ? { memory: m.memory, sumDraws: m.exports.sumDraws as SumDraws, dots: m.exports.dots as Dots, sinCos: m.exports.sinCos as SinCos } : null;
}

/**
 * The module: imports memory m.mem, exports (addresses in bytes; f64x2 = two float64 lanes)
 *   sumDraws(phi, rows, k, rest, draws, totals, stats, sum):   // one block of BLOCK features
 *     for b < draws:
 *       sum = 0 (BLOCK float64)
 *       for t < k, PASS_ROWS rows at a time, then one:   // the rows of list b, in order
 *         o_r = phi + i32[rows + 4 (b k + t + r)]
 *         for f < BLOCK, two at a time (unrolled): f64x2 sum[f] = sum[f] + phi[o_0 + f] + ... + phi[o_R-1 + f]
 *       s = f64[stats + 8 b]
 *       for f < BLOCK, two at a time:                // the block's features in order
 *         d = sum[f] / k - (totals[f] - sum[f]) / rest
 *         s = s + lane 0 of d d; s = s + lane 1 of d d
 *       f64[stats + 8 b] = s
 *   dots(x, p, rows, wp, pairs, out):
 *     i = 0
 *     while i + 4 <= rows:         // four rows per pass, then one
 *       o_r = x + (i + r) p 8
 *       for q < pairs:
 *         acc_r = 0 (f64x2)
 *         for c < p: acc_r = acc_r + f64x2[wp + (q p + c) 16] * splat(f64[o_r + 8 c])
 *         f64x2[out + ((i + r) pairs + q) 16] = acc_r
 *       i += 4
 */
function mmdWasm(): Uint8Array {
  // sumDraws. Parameters 0..7: phi, rows, k, rest, draws, totals, stats, sum; i32 locals 8: b, 9: t, 10: at, 11: f,
  // 12..12 + R - 1: o_0..o_R-1 (R rows per pass), then the bytes of a block row; f64 locals k, rest, s; v128 local d.
  const R = PASS_ROWS;
  const S = { phi: 0, rows: 1, k: 2, rest: 3, draws: 4, totals: 5, stats: 6, sum: 7, b: 8, t: 9, at: 10, f: 11, o: 12, rb: 12 + R, kf: 13 + R, rf: 14 + R, s: 15 + R, d: 16 + R };
  const statAddress = [...get(S.stats), ...get(S.b), ...i32(3), ...shl, ...add];
  const rowOffset = (r: number) => [...get(S.phi), ...get(S.at), ...loadI32(4 * r), ...add, ...set(S.o + r)];
  const sumAddress = [...get(S.sum), ...get(S.f), ...add];
  const sumPass = (rows: number) =>
    whileFits(S.t, rows, S.k, [
      ...Array.from({ length: rows }, (_, r) => rowOffset(r)).flat(),
      ...get(S.at), ...i32(4 * rows), ...add, ...set(S.at),
      // The block's features two at a time, unrolled: constant offsets instead of address arithmetic.
      ...Array.from({ length: BLOCK / 2 }, (_, j) => [
        ...get(S.sum), ...get(S.sum), ...loadV128At(16 * j),
        ...Array.from({ length: rows }, (_, r) => [...get(S.o + r), ...loadV128At(16 * j), ...addF64x2]).flat(),
        ...storeV128At(16 * j),
      ]).flat(),
    ]);
  const term = [
    ...sumAddress, ...loadV128, ...set(S.d),
    ...get(S.d), ...get(S.kf), ...splatF64x2, ...divF64x2,
    ...get(S.totals), ...get(S.f), ...add, ...loadV128, ...get(S.d), ...subF64x2, ...get(S.rf), ...splatF64x2, ...divF64x2,
    ...subF64x2, ...set(S.d),
    ...get(S.d), ...get(S.d), ...mulF64x2, ...set(S.d),
    ...get(S.s), ...get(S.d), ...extractLaneF64x2(0), ...addF64, ...get(S.d), ...extractLaneF64x2(1), ...addF64, ...set(S.s),
  ];
  const sumDrawsBody = [
    ...vec([[5 + R, 0x7f], [3, 0x7c], [1, 0x7b]]),
    ...i32(ROW_BYTES), ...set(S.rb),
    ...get(S.k), ...convertI32ToF64, ...set(S.kf),
    ...get(S.rest), ...convertI32ToF64, ...set(S.rf),
    ...get(S.rows), ...set(S.at),
    ...whileFits(S.b, 1, S.draws, [
      ...i32(0), ...set(S.f),
      ...whileFits(S.f, 16, S.rb, [...sumAddress, ...zeroV128, ...storeV128]),
      ...i32(0), ...set(S.t),
      ...sumPass(R),
      ...sumPass(1),
      ...statAddress, ...loadF64, ...set(S.s),
      ...i32(0), ...set(S.f),
      ...whileFits(S.f, 16, S.rb, term),
      ...statAddress, ...get(S.s), ...storeF64,
    ]),
    ...end,
  ];

  // sinCos. Parameters 0..6: out, rows, pairs, phi, blockBytes, normAt, list; i32 locals 7: i, 8: q, 9: at, 10: to,
  // 11: count, 12: row; v128 locals 13: x, 14: t, 15: n, 16: y0, 17: y1, 18: small, 19: z, 20: v, 21: ks, 22: kc,
  // 23: fallback, 24: u, 25: norm.
  const C = { out: 0, rows: 1, pairs: 2, phi: 3, blockBytes: 4, normAt: 5, list: 6, i: 7, q: 8, at: 9, to: 10, count: 11, row: 12 };
  const V = { x: 13, t: 14, n: 15, y0: 16, y1: 17, small: 18, z: 19, v: 20, ks: 21, kc: 22, fallback: 23, u: 24, norm: 25 };
  const f = constF64x2;
  const below = (hex: bigint) => [...constI64x2(hex), ...ltF64x2]; // |a| < the double with these bits
  // p(z) = c_0 + z (c_1 + z (... + z c_k)), Horner's order as in fdlibm.
  // (IEEE addition and multiplication commute exactly, so (...) z + c is fdlibm's c + z (...).)
  const horner = (cs: number[]) => [...f(cs[cs.length - 1]), ...cs.slice(0, -1).reverse().flatMap((c) => [...get(V.z), ...mulF64x2, ...f(c), ...addF64x2])];
  const lane = (k: number) => [
    ...get(V.fallback), ...extractLaneI64x2(k), ...wrapI64, ...ifThen,
    ...get(C.list), ...get(C.count), ...i32(2), ...shl, ...add, ...get(C.at), ...i32(8 * k), ...add, ...storeI32,
    ...get(C.count), ...i32(1), ...add, ...set(C.count),
    ...end,
  ];
  const sinCosStep = [
    ...get(C.at), ...loadV128, ...set(V.x),
    ...get(V.x), ...absF64x2, ...set(V.t),
    // Reduction as in fdlibm's __ieee754_rem_pio2 for |x| up to 2^19 pi/2: n = (int) (t 2/pi + 1/2),
    // r = t - n pio2_1, w = n pio2_1t, y0 = r - w, y1 = (r - y0) - w.
    ...get(V.t), ...f(6.36619772367581382433e-1), ...mulF64x2, ...f(0.5), ...addF64x2, ...truncSatF64x2ToI32x4Zero, ...set(V.u),
    ...get(V.u), ...extendLowI32x4ToI64x2, ...set(V.n),
    ...get(V.u), ...convertLowI32x4ToF64x2, ...set(V.u),
    ...get(V.t), ...get(V.u), ...f(1.57079632673412561417), ...mulF64x2, ...subF64x2, ...set(V.v), // r
    ...get(V.u), ...f(6.07710050650619224932e-11), ...mulF64x2, ...set(V.kc), // w
    ...get(V.v), ...get(V.kc), ...subF64x2, ...set(V.y0),
    ...get(V.v), ...get(V.y0), ...subF64x2, ...get(V.kc), ...subF64x2, ...set(V.y1),
    // Lanes left to Math.cos/Math.sin: |x| beyond the reduction (or NaN), |x| within 2^-20 of
    // pi/2 (fdlibm reduces those with more bits of pi/2), and any lane whose y0 lost more than
    // 16 bits to cancellation (fdlibm may then add a second and third round).
    ...get(V.t), ...below(0x413921fc00000000n), ...notV128,
    ...get(V.t), ...constI64x2(0x3ff921fb00000000n), ...geF64x2, ...get(V.t), ...below(0x3ff921fc00000000n), ...andV128, ...orV128,
    ...get(V.t), ...i32(52), ...shrUI64x2, ...get(V.y0), ...absF64x2, ...i32(52), ...shrUI64x2, ...subI64x2, ...constI64x2(16n), ...gtSI64x2, ...orV128,
    ...set(V.fallback),
    // |x| <= pi/4 (high word at most 0x3fe921fb): no reduction, n = 0, y0 = |x|, y1 = 0.
    ...get(V.t), ...below(0x3fe921fc00000000n), ...set(V.small),
    ...get(V.n), ...get(V.small), ...andNotV128, ...set(V.n),
    ...get(V.t), ...get(V.y0), ...get(V.small), ...bitselectV128, ...set(V.y0),
    ...get(V.y1), ...get(V.small), ...andNotV128, ...set(V.y1),
    // __kernel_sin(y0, y1, iy) with iy = 0 for the unreduced lanes, else 1.
    ...get(V.y0), ...get(V.y0), ...mulF64x2, ...set(V.z),
    ...get(V.z), ...get(V.y0), ...mulF64x2, ...set(V.v),
    ...horner([8.33333333332248946124e-3, -1.98412698298579493134e-4, 2.75573137070700676789e-6, -2.50507602534068634195e-8, 1.58969099521155010221e-10]), ...set(V.u), // r
    ...get(V.y0), ...get(V.v), ...f(-1.66666666666666324348e-1), ...get(V.z), ...get(V.u), ...mulF64x2, ...addF64x2, ...mulF64x2, ...addF64x2, // y0 + v (S1 + z r)
    ...get(V.y0),
    ...get(V.z), ...f(0.5), ...get(V.y1), ...mulF64x2, ...get(V.v), ...get(V.u), ...mulF64x2, ...subF64x2, ...mulF64x2, ...get(V.y1), ...subF64x2,
    ...get(V.v), ...f(-1.66666666666666324348e-1), ...mulF64x2, ...subF64x2, ...subF64x2, // y0 - ((z (y1/2 - v r) - y1) - v S1)
    ...get(V.small), ...bitselectV128, ...set(V.ks),
    // __kernel_cos(y0, y1): r = z p(z); qx = 0 (|y0| < 0.3), 0.28125 (|y0| > 0.78125), else |y0|/4 with its low word cleared.
    ...get(V.z), ...horner([4.16666666666666019037e-2, -1.38888888888741095749e-3, 2.48015872894767294178e-5, -2.75573143513906633035e-7, 2.08757232129817482790e-9, -1.13596475577881948265e-11]), ...mulF64x2, ...set(V.u),
    ...get(V.y0), ...absF64x2, ...set(V.t),
    ...f(0.28125),
    ...get(V.t), ...constI64x2(-0x100000000n), ...andV128, ...constI64x2(0x0020000000000000n), ...subI64x2,
    ...get(V.t), ...constI64x2(0x3fe9000100000000n), ...geF64x2, ...bitselectV128,
    ...get(V.t), ...below(0x3fd3333300000000n), ...andNotV128, ...set(V.v), // qx
    ...f(1), ...get(V.v), ...subF64x2,
    ...f(0.5), ...get(V.z), ...mulF64x2, ...get(V.v), ...subF64x2,
    ...get(V.z), ...get(V.u), ...mulF64x2, ...get(V.y0), ...get(V.y1), ...mulF64x2, ...subF64x2, ...subF64x2, ...subF64x2, ...set(V.kc), // (1 - qx) - ((z/2 - qx) - (z r - y0 y1))
    // |y0| < 2^-27: sin = y0, cos = 1.
    ...get(V.t), ...below(0x3e40000000000000n), ...set(V.v),
    ...get(V.y0), ...get(V.ks), ...get(V.v), ...bitselectV128, ...set(V.ks),
    ...f(1), ...get(V.kc), ...get(V.v), ...bitselectV128, ...set(V.kc),
    // Quadrant n mod 4: sin = ks, kc, -ks, -kc and cos = kc, -ks, -kc, ks; then sin takes x's sign.
    ...get(V.n), ...i32(63), ...shlI64x2, ...i32(63), ...shrSI64x2, ...set(V.v), // n odd
    ...get(V.kc), ...get(V.ks), ...get(V.v), ...bitselectV128,
    ...get(V.n), ...i32(62), ...shlI64x2, ...constI64x2(-0x8000000000000000n), ...andV128, ...xorV128,
    ...get(V.x), ...constI64x2(-0x8000000000000000n), ...andV128, ...xorV128,
    ...get(V.norm), ...mulF64x2, ...demoteF64x2Zero, ...promoteLowF32x4, ...set(V.u), // sin, as Math.fround(Math.sin(x) norm)
    ...get(V.ks), ...get(V.kc), ...get(V.v), ...bitselectV128,
    ...get(V.n), ...constI64x2(1n), ...addI64x2, ...i32(62), ...shlI64x2, ...constI64x2(-0x8000000000000000n), ...andV128, ...xorV128,
    ...get(V.norm), ...mulF64x2, ...demoteF64x2Zero, ...promoteLowF32x4, ...set(V.v), // cos
    // Features 4q.. 4q + 3 of the row: cos, sin of lane 0, then of lane 1.
    ...get(C.to), ...get(V.v), ...get(V.u), ...shuffleI8x16([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]), ...storeV128,
    ...get(C.to), ...get(V.v), ...get(V.u), ...shuffleI8x16([8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31]), ...storeV128At(16),
    ...get(V.fallback), ...anyTrueV128, ...ifThen, ...lane(0), ...lane(1), ...end,
  ];
  const sinCosBody = [
    ...vec([[6, 0x7f], [13, 0x7b]]),
    ...get(C.normAt), ...loadF64, ...splatF64x2, ...set(V.norm),
    ...get(C.out), ...set(C.at),
    ...whileFits(C.i, 1, C.rows, [
      ...get(C.phi), ...get(C.i), ...i32(ROW_BYTES), ...mul, ...add, ...set(C.row),
      ...i32(0), ...set(C.q),
      ...whileFits(C.q, 1, C.pairs, [
        // feature 4q is in block 4q / BLOCK at column 4q % BLOCK
        ...get(C.row), ...get(C.q), ...i32(BLOCK_SHIFT - 2), ...shrU, ...get(C.blockBytes), ...mul, ...add,
        ...get(C.q), ...i32(BLOCK / 4 - 1), ...and, ...i32(5), ...shl, ...add, ...set(C.to),
        ...sinCosStep,
        ...get(C.at), ...i32(16), ...add, ...set(C.at),
      ]),
    ]),
    ...get(C.count),
    ...end,
  ];

  // dots. Parameters 0..5: x, p, rows, wp, pairs, out; i32 locals 6: i, 7: q, 8: c, 9: wq, 10..13: o_0..o_3;
  // v128 locals 14: wv, 15..18: acc_0..acc_3.
  const P = { x: 0, p: 1, rows: 2, wp: 3, pairs: 4, out: 5, i: 6, q: 7, c: 8, wq: 9, o: 10, wv: 14, acc: 15 };
  const xRow = (r: number) => [...get(P.x), ...get(P.i), ...i32(r), ...add, ...get(P.p), ...mul, ...i32(3), ...shl, ...add, ...set(P.o + r)];
  const multiplyAdd = (r: number) => [...get(P.acc + r), ...get(P.wv), ...get(P.o + r), ...get(P.c), ...i32(3), ...shl, ...add, ...loadF64, ...splatF64x2, ...mulF64x2, ...addF64x2, ...set(P.acc + r)];
  const storeAcc = (r: number) => [...get(P.out), ...get(P.i), ...i32(r), ...add, ...get(P.pairs), ...mul, ...get(P.q), ...add, ...i32(4), ...shl, ...add, ...get(P.acc + r), ...storeV128];
  const dotPass = (rows: number) =>
    whileFits(P.i, rows, P.rows, [
      ...Array.from({ length: rows }, (_, r) => xRow(r)).flat(),
      ...i32(0), ...set(P.q),
      ...whileFits(P.q, 1, P.pairs, [
        ...get(P.wp), ...get(P.q), ...get(P.p), ...mul, ...i32(4), ...shl, ...add, ...set(P.wq),
        ...Array.from({ length: rows }, (_, r) => [...zeroV128, ...set(P.acc + r)]).flat(),
        ...i32(0), ...set(P.c),
        ...whileFits(P.c, 1, P.p, [...get(P.wq), ...get(P.c), ...i32(4), ...shl, ...add, ...loadV128, ...set(P.wv), ...Array.from({ length: rows }, (_, r) => multiplyAdd(r)).flat()]),
        ...Array.from({ length: rows }, (_, r) => storeAcc(r)).flat(),
      ]),
    ]);
  const dotsBody = [...vec([[8, 0x7f], [5, 0x7b]]), ...i32(0), ...set(P.i), ...dotPass(4), ...dotPass(1), ...end];

  const i32s = (k: number) => Array.from({ length: k }, () => [0x7f]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    // type 0: (i32 x 8) -> (), type 1: (i32 x 6) -> (), type 2: (i32 x 7) -> i32
    ...section(1, vec([[0x60, ...vec(i32s(8)), 0], [0x60, ...vec(i32s(6)), 0], [0x60, ...vec(i32s(7)), 1, 0x7f]])),
    ...section(2, vec([[...name('m'), ...name('mem'), 0x02, 0x00, 1]])), // import memory m.mem, min 1 page
    ...section(3, vec([[0], [1], [2]])), // sumDraws: type 0, dots: type 1, sinCos: type 2
    ...section(7, vec([[...name('sumDraws'), 0x00, 0], [...name('dots'), 0x00, 1], [...name('sinCos'), 0x00, 2]])),
    ...section(10, vec([[...uleb(sumDrawsBody.length), ...sumDrawsBody], [...uleb(dotsBody.length), ...dotsBody], [...uleb(sinCosBody.length), ...sinCosBody]])),
  ]);
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


import type { Matrix, Rng } from '../monitors/types.js';
import { gaussian, randInt } from './rng.js';
import { add, addF64, addF64x2, convertI32ToF64, divF64x2, end, extractLaneF64x2, get, i32, instantiate, loadF64, loadI32, loadV128, mul, mulF64x2, name, section, set, shl, splatF64x2, storeF64, storeV128, subF64x2, uleb, vec, whileFits, zeroV128, type WasmMemory } from './wasm.js';

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
 * The same statistics through the SIMD kernel: phi promoted to float64 in blocks of W
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
const ROW_BYTES = BLOCK * 8;

interface MmdKernel {
  /** The pooled rows (N x p, row-major). */
  pooled: Float64Array;
  /** Row lists of the observed labels and of every relabelling ((B + 1) x k byte offsets of rows in a block of phi, then N entries of slack for smallSide). */
  rows: Int32Array;
  /** featuresJs through the `dots` export: fills phi (float64 in blocks of BLOCK features) from pooled and w. */
  features: (w: Float64Array, N: number, p: number, D: number, norm: number) => void;
  /** The statistic of each of the `draws` row lists of k rows (the other side has `rest`), from phi. */
  statistics: (k: number, rest: number, draws: number) => Float64Array;
}

type Dots = (x: number, p: number, rows: number, wp: number, pairs: number, out: number) => void;
type SumDraws = (phi: number, rows: number, k: number, rest: number, draws: number, totals: number, stats: number, sum: number) => void;

let mmdModule: { memory: WasmMemory; sumDraws: SumDraws; dots: Dots } | null | undefined;

/** Whether the WebAssembly kernels compile here (else the JS loops run): for tests and diagnostics. */
export function mmdWasmReady(): boolean {
  if (mmdModule === undefined) mmdModule = compileMmd();
  return mmdModule !== null;
}

/**
 * The loops that take nearly all of this test's time, in WebAssembly with 128-bit SIMD:
 * - `dots`: the N x D dot products w_r . x_i of the random features, two features per
 *   instruction (f64x2: w_r[c], w_r+1[c] times x_i[c]), four rows per pass;
 * - `sumDraws`: the relabelling sums and the statistic's terms. phi is kept as float64 (the
 *   float32 values the JS loop stores, promoted once: the promotion is exact, and the sums
 *   no longer promote every value 200 times) in blocks of BLOCK features, each block N rows
 *   of BLOCK values. For one block and every relabelling in turn, the rows of the
 *   relabelling are added in order to the block's sums, two features per instruction, four
 *   rows per pass over the sums (more rows per pass, or the sums held in registers, ran
 *   slower: V8 spills the extra locals), then the block's terms (sum/k - (total - sum)/rest)^2
 *   are added to the relabelling's statistic in feature order. A block's rows stay in cache
 *   across all relabellings, and the row lists are written in one pass beforehand.
 * Each lane does the IEEE double multiplication, addition and division that the JS loops
 * do (featuresJs, sumRowsJs, subsetStatistic), in the same order (each dot product over c
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
  const bytes = scratchOffset + ROW_BYTES + 8;
  if (bytes > 2 ** 31) return null;
  const { memory, sumDraws, dots } = mmdModule;
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
    // Feature f of row i at phi[((f / BLOCK) N + i) BLOCK + f % BLOCK]; features 2r and 2r + 1 share a block.
    for (let i = 0; i < rows; i++)
      for (let r = 0; r < features; r++) {
        const t = out[i * pairs * 2 + r];
        const f = 2 * r;
        const q = ((f >> BLOCK_SHIFT) * rows + i) * BLOCK + (f & (BLOCK - 1));
        phi[q] = Math.fround(Math.cos(t) * norm);
        phi[q + 1] = Math.fround(Math.sin(t) * norm);
      }
    // Zero features pad the last block: their sums and terms are +0, which leave every statistic unchanged.
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
  return { pooled: new Float64Array(buffer, pooledOffset, N * p), rows: new Int32Array(buffer, rowsOffset, (B + 1) * k + N), features, statistics };
}

function compileMmd(): { memory: WasmMemory; sumDraws: SumDraws; dots: Dots } | null {
  const m = instantiate(mmdWasm());
  return m ? { memory: m.memory, sumDraws: m.exports.sumDraws as SumDraws, dots: m.exports.dots as Dots } : null;
}

/**
 * The module: imports memory m.mem, exports (addresses in bytes; f64x2 = two float64 lanes)
 *   sumDraws(phi, rows, k, rest, draws, totals, stats, sum):   // one block of BLOCK features
 *     for b < draws:
 *       sum = 0 (BLOCK float64)
 *       for t < k, four rows at a time, then one:   // the rows of list b, in order
 *         o_r = phi + i32[rows + 4 (b k + t + r)]
 *         for f < BLOCK, two at a time: f64x2 sum[f] = sum[f] + phi[o_0 + f] + ... + phi[o_3 + f]
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
  // 12..15: o_0..o_3, 16: the bytes of a block row; f64 locals 17: k, 18: rest, 19: s; v128 local 20: d.
  const S = { phi: 0, rows: 1, k: 2, rest: 3, draws: 4, totals: 5, stats: 6, sum: 7, b: 8, t: 9, at: 10, f: 11, o: 12, rb: 16, kf: 17, rf: 18, s: 19, d: 20 };
  const statAddress = [...get(S.stats), ...get(S.b), ...i32(3), ...shl, ...add];
  const rowOffset = (r: number) => [...get(S.phi), ...get(S.at), ...loadI32(4 * r), ...add, ...set(S.o + r)];
  const sumAddress = [...get(S.sum), ...get(S.f), ...add];
  const sumPass = (rows: number) =>
    whileFits(S.t, rows, S.k, [
      ...Array.from({ length: rows }, (_, r) => rowOffset(r)).flat(),
      ...get(S.at), ...i32(4 * rows), ...add, ...set(S.at),
      ...i32(0), ...set(S.f),
      ...whileFits(S.f, 16, S.rb, [
        ...sumAddress, ...sumAddress, ...loadV128,
        ...Array.from({ length: rows }, (_, r) => [...get(S.o + r), ...get(S.f), ...add, ...loadV128, ...addF64x2]).flat(),
        ...storeV128,
      ]),
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
    ...vec([[9, 0x7f], [3, 0x7c], [1, 0x7b]]),
    ...i32(ROW_BYTES), ...set(S.rb),
    ...get(S.k), ...convertI32ToF64, ...set(S.kf),
    ...get(S.rest), ...convertI32ToF64, ...set(S.rf),
    ...get(S.rows), ...set(S.at),
    ...whileFits(S.b, 1, S.draws, [
      ...i32(0), ...set(S.f),
      ...whileFits(S.f, 16, S.rb, [...sumAddress, ...zeroV128, ...storeV128]),
      ...i32(0), ...set(S.t),
      ...sumPass(4),
      ...sumPass(1),
      ...statAddress, ...loadF64, ...set(S.s),
      ...i32(0), ...set(S.f),
      ...whileFits(S.f, 16, S.rb, term),
      ...statAddress, ...get(S.s), ...storeF64,
    ]),
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
    ...section(1, vec([[0x60, ...vec(i32s(8)), 0], [0x60, ...vec(i32s(6)), 0]])), // type 0: (i32 x 8) -> (), type 1: (i32 x 6) -> ()
    ...section(2, vec([[...name('m'), ...name('mem'), 0x02, 0x00, 1]])), // import memory m.mem, min 1 page
    ...section(3, vec([[0], [1]])), // sumDraws: type 0, dots: type 1
    ...section(7, vec([[...name('sumDraws'), 0x00, 0], [...name('dots'), 0x00, 1]])),
    ...section(10, vec([[...uleb(sumDrawsBody.length), ...sumDrawsBody], [...uleb(dotsBody.length), ...dotsBody]])),
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


import type { Matrix, Rng } from '../monitors/types.js';
import { gaussian, randInt } from './rng.js';
import { add, addF64x2, end, get, i32, instantiate, loadF64, loadI32, loadV128, loop, mul, mulF64x2, name, section, set, shl, splatF64x2, storeV128, uleb, vec, whileFits, zeroV128, type WasmMemory } from './wasm.js';

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
  const F = 2 * D;
  const small = Math.min(n, m);
  // The pooled rows, phi and the relabelling sums live in the SIMD kernel's memory when there is one (see mmdKernel), else in the JS heap.
  const kernel = mmdKernel(N, p, D, small);
  const pooled = { rows: N, cols: p, data: kernel ? kernel.pooled : new Float64Array(N * p) };
  pooled.data.set(x.data, 0);
  pooled.data.set(y.data, n * p);
  const bandwidth = opts.bandwidth ?? medianDistance(pooled, opts.rng);

  const w = new Float64Array(D * p);
  for (let r = 0; r < D; r++) {
    const s = 1 / (scales[r % scales.length] * bandwidth);
    for (let c = 0; c < p; c++) w[r * p + c] = gaussian(opts.rng) * s;
  }
  const phi = kernel ? kernel.phi : new Float32Array(N * F);
  const norm = 1 / Math.sqrt(D);
  if (kernel) kernel.features(w, N, p, D, norm);
  else featuresJs(pooled.data, w, N, p, D, phi, norm);
  const total = new Float64Array(F);
  for (let i = 0; i < N; i++) for (let f = 0; f < F; f++) total[f] += phi[i * F + f];

  // Sum over the smaller side only; the other side's sum is total - that.
  const large = N - small;
  const sumX = new Float64Array(F);
  const idx = new Int32Array(N);
  // Observed: the smaller sample's rows first.
  const xIsSmall = n <= m;
  for (let i = 0; i < N; i++) idx[i] = xIsSmall ? i : (i + n) % N;
  const observed = subsetStatistic(phi, F, idx, small, large, total, sumX, kernel);
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
    const t = subsetStatistic(phi, F, idx, small, large, total, sumX, kernel);
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
function subsetStatistic(phi: Float32Array, F: number, idx: Int32Array, k: number, rest: number, total: Float64Array, sum: Float64Array, kernel: MmdKernel | null): number {
  if (kernel) {
    kernel.idx.set(idx.subarray(0, k));
    kernel.sum.fill(0);
    kernel.sumRows(0, F * 4, kernel.idxOffset, k, kernel.sumOffset, F * 4);
    sum = kernel.sum;
  } else sumRowsJs(phi, F, idx, k, sum);
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

interface MmdKernel {
  /** The pooled rows (N x p, row-major). */
  pooled: Float64Array;
  /** N x 2D features, row-major. */
  phi: Float32Array;
  idx: Int32Array;
  sum: Float64Array;
  idxOffset: number;
  sumOffset: number;
  /** featuresJs through the `dots` export: fills phi from pooled and w. */
  features: (w: Float64Array, N: number, p: number, D: number, norm: number) => void;
  /** sumRows(phiOffset, rowBytes, idxOffset, k, sumOffset, featureBytes): sumRowsJs in WebAssembly. */
  sumRows: (phi: number, rowBytes: number, idx: number, k: number, sum: number, featureBytes: number) => void;
}

type Dots = (x: number, p: number, rows: number, wp: number, pairs: number, out: number) => void;

let mmdModule: { memory: WasmMemory; sumRows: MmdKernel['sumRows']; dots: Dots } | null | undefined;

/** Whether the WebAssembly kernels compile here (else the JS loops run): for tests and diagnostics. */
export function mmdWasmReady(): boolean {
  if (mmdModule === undefined) mmdModule = compileMmd();
  return mmdModule !== null;
}

/**
 * The two loops that take nearly all of this test's time, in WebAssembly with 128-bit SIMD:
 * - `dots`: the N x D dot products w_r . x_i of the random features, two features per
 *   instruction (f64x2: w_r[c], w_r+1[c] times x_i[c]), four rows per pass;
 * - `sumRows`: the relabelling sums, two features per instruction (f64x2.add of two
 *   float32 features promoted to float64), four rows per pass over the sums.
 * Each lane does the IEEE double multiplication and addition that the JS loop does
 * (featuresJs, sumRowsJs), in the same order (each dot product over c in order, each sum
 * over the rows in order), with no fused multiply-add, so every statistic, p-value and
 * permutation array is bit-identical to the JS loops'; they run 2-3x faster, as V8 does not
 * vectorise JS. No numeric package in the dependency tree has such a kernel (ml-matrix is
 * plain JS), and the module is a few hundred bytes, so it is assembled here from its
 * instruction list (readable, no binary file, no build step). Null, and the JS loops run,
 * where WebAssembly SIMD is unavailable or the arrays would not fit in 2 GB.
 */
function mmdKernel(N: number, p: number, D: number, k: number): MmdKernel | null {
  if (mmdModule === undefined) mmdModule = compileMmd();
  if (!mmdModule) return null;
  const F = 2 * D;
  const pairs = Math.ceil(D / 2);
  const align = (x: number) => Math.ceil(x / 16) * 16;
  const pooledOffset = 0;
  const wOffset = align(pooledOffset + N * p * 8);
  const dotsOffset = align(wOffset + pairs * p * 16);
  const phiOffset = align(dotsOffset + N * pairs * 16);
  const idxOffset = align(phiOffset + N * F * 4);
  const sumOffset = align(idxOffset + k * 4);
  const bytes = sumOffset + F * 8;
  if (bytes > 2 ** 31) return null;
  const { memory, sumRows, dots } = mmdModule;
  const have = memory.buffer.byteLength;
  if (bytes > have) {
    try {
      memory.grow(Math.ceil((bytes - have) / 65536));
    } catch {
      return null; // no room for the kernel's memory: the JS loops need less
    }
  }
  const buffer = memory.buffer;
  const phi = new Float32Array(buffer, phiOffset, N * F);
  const wp = new Float64Array(buffer, wOffset, pairs * p * 2);
  const out = new Float64Array(buffer, dotsOffset, N * pairs * 2);
  const features = (w: Float64Array, rows: number, cols: number, features: number, norm: number) => {
    // w's rows r and r + 1 interleaved: wp[(q p + c) 2 + lane] = w[(2 q + lane) p + c] (a zero row pads an odd D).
    wp.fill(0);
    for (let r = 0; r < features; r++) for (let c = 0; c < cols; c++) wp[((r >> 1) * cols + c) * 2 + (r & 1)] = w[r * cols + c];
    // In calls of 64 rows: V8 first runs a WebAssembly function from its baseline compiler
    // and switches to the optimised code only for later calls (no on-stack replacement).
    for (let i0 = 0; i0 < rows; i0 += 64) dots(pooledOffset + i0 * cols * 8, cols, Math.min(64, rows - i0), wOffset, pairs, dotsOffset + i0 * pairs * 16);
    for (let i = 0; i < rows; i++)
      for (let r = 0; r < features; r++) {
        const t = out[i * pairs * 2 + r];
        phi[i * F + 2 * r] = Math.cos(t) * norm;
        phi[i * F + 2 * r + 1] = Math.sin(t) * norm;
      }
  };
  return {
    pooled: new Float64Array(buffer, pooledOffset, N * p),
    phi,
    idx: new Int32Array(buffer, idxOffset, k),
    sum: new Float64Array(buffer, sumOffset, F),
    idxOffset,
    sumOffset,
    features,
    sumRows: (phiAt, rowBytes, idx, count, sum, featureBytes) => sumRows(phiAt + phiOffset, rowBytes, idx, count, sum, featureBytes),
  };
}

function compileMmd(): { memory: WasmMemory; sumRows: MmdKernel['sumRows']; dots: Dots } | null {
  const m = instantiate(mmdWasm());
  return m ? { memory: m.memory, sumRows: m.exports.sumRows as MmdKernel['sumRows'], dots: m.exports.dots as Dots } : null;
}

/**
 * The module: imports memory m.mem, exports (addresses in bytes; f64x2 = two float64 lanes)
 *   sumRows(phi, rowBytes, idx, k, sum, fBytes):
 *     t = 0
 *     while t + 4 <= k:            // four rows per pass, then one
 *       o_r = phi + i32[idx + 4 (t + r)] * rowBytes   (r = 0..3)
 *       for f = 0; f < fBytes; f += 8:                // two float32 features per step
 *         f64x2[sum + 2 f] = f64x2[sum + 2 f] + promote(f32x2[o_0 + f]) + ... + promote(f32x2[o_3 + f])
 *       t += 4
 *     the same with one row while t + 1 <= k
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
  const load64Zero = [0xfd, ...uleb(93), 3, 0];
  const promoteLow = [0xfd, ...uleb(95)];

  // sumRows. Parameters 0..5: phi, rowBytes, idx, k, sum, fBytes; i32 locals 6: t, 7..10: o_0..o_3, 11: f.
  const S = { phi: 0, rowBytes: 1, idx: 2, k: 3, sum: 4, fBytes: 5, t: 6, o: 7, f: 11 };
  const rowOffset = (r: number) => [...get(S.phi), ...get(S.idx), ...get(S.t), ...i32(2), ...shl, ...add, ...loadI32(4 * r), ...get(S.rowBytes), ...mul, ...add, ...set(S.o + r)];
  const sumAddress = [...get(S.sum), ...get(S.f), ...i32(1), ...shl, ...add];
  const addRow = (r: number) => [...get(S.o + r), ...get(S.f), ...add, ...load64Zero, ...promoteLow, ...addF64x2];
  const sumPass = (rows: number) =>
    whileFits(S.t, rows, S.k, [
      ...Array.from({ length: rows }, (_, r) => rowOffset(r)).flat(),
      ...i32(0), ...set(S.f),
      ...whileFits(S.f, 8, S.fBytes, [...sumAddress, ...sumAddress, ...loadV128, ...Array.from({ length: rows }, (_, r) => addRow(r)).flat(), ...storeV128]),
    ]);
  const sumRowsBody = [...vec([[6, 0x7f]]), ...sumPass(4), ...sumPass(1), ...end];

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

  const i32x6 = Array.from({ length: 6 }, () => [0x7f]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec([[0x60, ...vec(i32x6), 0]])), // type 0: (i32 x 6) -> ()
    ...section(2, vec([[...name('m'), ...name('mem'), 0x02, 0x00, 1]])), // import memory m.mem, min 1 page
    ...section(3, vec([[0], [0]])), // two functions of type 0
    ...section(7, vec([[...name('sumRows'), 0x00, 0], [...name('dots'), 0x00, 1]])),
    ...section(10, vec([[...uleb(sumRowsBody.length), ...sumRowsBody], [...uleb(dotsBody.length), ...dotsBody]])),
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


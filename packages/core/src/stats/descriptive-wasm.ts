/**
 * The loops that took most of the embedding monitor's descriptive figures' time, in
 * WebAssembly with 128-bit SIMD (the callers keep their JS loops where it is missing):
 * - `pairRows`: Euclidean distances of two rows to every row (silhouette), two rows per
 *   f64x2 (the rows stored transposed), eight per pass;
 * - `centre`: squared Euclidean distances of every row to one point (k-means: ml-kmeans's
 *   distance to each centre, k-means++), the same layout;
 * - `ksWalk`: the KS walks of many relabellings at once (ks.ts ksMaxPermutation), four
 *   relabellings per i32x4, sixteen per pass over a column's sorted order.
 * Each float lane does the IEEE double subtraction, multiplication and addition of the JS
 * loop in the same order (each distance summed over the columns in order from 0, no fused
 * multiply-add; f64x2.sqrt is the correctly rounded square root, as Math.sqrt), and the
 * walks are exact integers, so every figure is bit-identical to the JS loops'; V8 does not
 * vectorise JS. No package in the dependency tree has such kernels (ml-kmeans and
 * ml-matrix are plain JS), and the module is a few hundred bytes, so it is assembled here
 * from its instruction list with the encoding helpers of wasm.ts, as mmd.ts and
 * classifier-wasm.ts do (no binary file, no build step).
 *
 * One memory for all: every function below lays out its arrays from address 0, so a view
 * or closure it returns is valid only until the next call into this file.
 */

import type { Matrix } from '../monitors/types.js';
import { add, addF64x2, end, get, i32, instantiate, loadI32, mul, mulF64x2, name, section, set, shl, subF64x2, uleb, vec, whileFits, zeroV128, type WasmMemory } from './wasm.js';

type Fn = (...args: number[]) => void;
let compiled: { memory: WasmMemory; pairRows: Fn; centre: Fn; ksWalk: Fn } | null | undefined;
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
  const { centre } = compiled;
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
  const buf = buffer(outAt + blocks * 64);
  if (!buf || !compiled) return null;
  // steps[(block N + row) 16 + lane]: what row adds to the walk of labelling 16 block + lane.
  const steps = new Int32Array(buf, 0, blocks * N * 16);
  steps.fill(0);
  // m - (n + m) label, without a branch (random labels mispredict); other non-zero labels count as 1.
  const step = n + m;
  for (let b = 0; b < B; b++) {
    let lab = labelings[b];
    for (let r = 0; r < N; r++)
      if (lab[r] > 1) {
        lab = lab.map((v) => (v ? 1 : 0));
        break;
      }
    let o = (b >> 4) * N * 16 + (b & 15);
    for (let r = 0; r < N; r++, o += 16) steps[o] = m - step * lab[r];
  }
  const ord = new Int32Array(buf, ordersAt, cols * N);
  const ties = new Uint8Array(buf, tiesAt, cols * N);
  for (let k = 0; k < cols; k++) {
    ord.set(orders[k], k * N);
    ties.set(tieEnds[k], k * N);
  }
  compiled.ksWalk(0, N, blocks, ordersAt, tiesAt, cols, outAt);
  return new Int32Array(buf, outAt, blocks * 16).slice(0, B);
}

function compile(): { memory: WasmMemory; pairRows: Fn; centre: Fn; ksWalk: Fn } | null {
  const m = instantiate(moduleBytes());
  if (!m) return null;
  const x = m.exports;
  return { memory: m.memory, pairRows: x.pairRows as Fn, centre: x.centre as Fn, ksWalk: x.ksWalk as Fn };
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

  const params = (n: number) => [0x60, ...vec(Array.from({ length: n }, () => [0x7f])), 0];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec([params(9), params(5), params(7)])),
    ...section(2, vec([[...name('m'), ...name('mem'), 0x02, 0x00, 1]])), // import memory m.mem, min 1 page
    ...section(3, vec([[0], [1], [2]])),
    ...section(7, vec([[...name('pairRows'), 0x00, 0], [...name('centre'), 0x00, 1], [...name('ksWalk'), 0x00, 2]])),
    ...section(10, vec([pairBody, centreBody, ksBody].map((b) => [...uleb(b.length), ...b]))),
  ]);
}

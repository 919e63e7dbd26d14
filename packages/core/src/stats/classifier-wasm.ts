/**
 * The domain classifier's per-relabelling loops in WebAssembly (128-bit SIMD for the sums)
 * (classifier.ts falls back to the JS kernels of classifier-kernels.ts where it is missing):
 * - `score2`: out-of-fold scores under two discriminants at once, the two draws' entries of a
 *   feature side by side in one f64x2 times the row's feature (splat), four rows per pass;
 * - `sumRows`: class sums, two features per f64x2 addition, four rows per pass over the sums;
 * - `foldCounts`: classifier.ts foldStats' counts (top share, TPR at the X quantile, U) on the
 *   scores where score2/score4 left them, the same bucket sort and walk by runs of equal scores
 *   (counts, so exact: no rounding to match), without the JS copies of the scores and labels.
 * Each lane does the IEEE double multiplication and addition of the JS loop, in the same order
 * (each score over the features in order from 0, each sum over the rows in order), with no
 * fused multiply-add, so every figure is bit-identical to the JS kernels'; V8 does not
 * vectorise JS. No numeric package in the dependency tree has such a kernel (ml-matrix is plain
 * JS), and the module is a few hundred bytes, so it is assembled here from its instruction
 * list, with the encoding helpers of wasm.ts (no binary file, no build step).
 */

import { add, addF64x2, block, br, brIf, end, get, i32, instantiate, loadF64, loadI32, loadV128, loop, mul, mulF64x2, name, section, set, shl, splatF64x2, storeV128, subF64x2, uleb, vec, whileFits, zeroV128, type WasmMemory } from './wasm.js';

type Kernel = (a: number, b: number, c: number, d: number, e: number, f: number) => void;
type Kernel7 = (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => void;
type Kernel8 = (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number) => void;
type Compiled = { memory: WasmMemory; score2: Kernel; sumRows: Kernel; covTile: Kernel; solvePair: Kernel; score4: Kernel7; foldCounts: Kernel8 };

let compiled: Compiled | null | undefined;
let enabled = true;

/** Off: the classifier runs its JS kernels, as where WebAssembly is missing (tests compare the two). */
export function setClassifierWasm(on: boolean): void {
  enabled = on;
}

/** Views of one test's arrays in the module's memory, and the kernels on them (byte addresses). */
export interface ClassifierWasm {
  /** The pooled rows, N x f: standardised, then whitened in place. */
  U: Float64Array;
  /** Row indices: each fold's test rows from k x largestFold (filled by the caller). */
  rowIdx: Int32Array;
  /** The Y rows of one draw in a chunk. */
  yIdx: Int32Array;
  /** Class sums: P x K x f. */
  sumY: Float64Array;
  /** Two draws' discriminants interleaved per pair slot: pairs x f x 2. */
  dpair: Float64Array;
  /** Scores per pair slot: pairs x largestFold x 2 (row t of the call's first row, lane = draw). */
  out: Float64Array;
  /** score2 over rowIdx[at..at+count) with pair slot j, writing out[(j largestFold + first + t) 2 + lane] for t < count. */
  score(at: number, count: number, j: number, first: number): void;
  /** score for the pair slots j and j + 1 at once (each feature read of U serves four draws). */
  score4(at: number, count: number, j: number, first: number): void;
  /** The upper triangle of U^T U (f x f; covTile adds to it). */
  cov: Float64Array;
  /** cov[(a + j) f + c + q] += sum over rows i0..i0+rows-1, in order, of U[i][a + j] U[i][c + q], for j < 4, q < 4. */
  covTile(i0: number, rows: number, a: number, c: number): void;
  /** Pairs of rows of a lower-triangular L interleaved: lpair[((i / 2) f + k) 2 + lane] = L[i + lane][k] (i even). */
  lpair: Float64Array;
  /** For rows r..r+3 of U and the unknowns i, i + 1 (i even): U[row][i + lane] -= L[i + lane][k] U[row][k] for k < i, in order. */
  solvePair(r: number, i: number): void;
  /** sumY[s..] += U rows yIdx[0..count), in order, for the first 2 floor(f / 2) features (the caller adds an odd last one). */
  sumRows(count: number, s: number): void;
  /** Each draw's labels of the pooled rows: draw slot p at p x N (filled by the caller). */
  labels: Uint8Array;
  /** Null where a fold is too large for the module's 32-bit U count (the caller then uses classifier.ts foldStats). */
  foldStats: FoldStatsWasm | null;
}

/**
 * classifier.ts foldStats on the module's memory: the scores of the draw in lane `lane` of pair
 * slot j (out, as score/score4 wrote them for rowIdx[k largestFold..]), its labels in draw slot p;
 * adds to acc[a..a+6) the same counts (U statistic, pairs, Y rows above X's (1 - fpr) quantile,
 * Y rows, Y rows among the topK top-scored, topK). setFpr first.
 */
export interface FoldStatsWasm {
  setFpr(fpr: number): void;
  run(j: number, lane: number, p: number, k: number, len: number, topK: number, acc: Float64Array, a: number): void;
}

export function classifierWasm(N: number, f: number, largestFold: number, P: number, K: number): ClassifierWasm | null {
  if (!enabled || f === 0) return null;
  if (compiled === undefined) compiled = compile();
  if (!compiled) return null;
  const pairs = Math.ceil(P / 2);
  const align = (x: number) => Math.ceil(x / 16) * 16;
  const uAt = 0;
  const rowAt = align(uAt + N * f * 8);
  const yAt = align(rowAt + K * largestFold * 4);
  const sumAt = align(yAt + largestFold * 4);
  const dAt = align(sumAt + P * K * f * 8);
  const outAt = align(dAt + pairs * f * 16);
  const covAt = align(outAt + pairs * largestFold * 16);
  const lpAt = align(covAt + f * f * 8);
  const labAt = align(lpAt + (f >> 1) * f * 16);
  const cutAt = align(labAt + P * N);
  // foldCounts' results (4 x i32) and scratch: sorted scores, bucket starts, buckets, sorted labels.
  const workAt = align(cutAt + (largestFold + 1) * 4);
  const bytes = workAt + 16 + largestFold * 8 + (largestFold + 1) * 4 + largestFold * 8;
  if (bytes > 2 ** 31) return null;
  const { memory, score2, sumRows, covTile, solvePair, score4, foldCounts } = compiled;
  const have = memory.buffer.byteLength;
  if (bytes > have)
    try {
      memory.grow(Math.ceil((bytes - have) / 65536));
    } catch {
      return null; // no memory for it: the JS kernels
    }
  const buffer = memory.buffer;
  const fBytes = f * 8;
  const pairBytes = (f >> 1) * 16;
  return {
    U: new Float64Array(buffer, uAt, N * f),
    rowIdx: new Int32Array(buffer, rowAt, K * largestFold),
    yIdx: new Int32Array(buffer, yAt, largestFold),
    sumY: new Float64Array(buffer, sumAt, P * K * f),
    dpair: new Float64Array(buffer, dAt, pairs * f * 2),
    out: new Float64Array(buffer, outAt, pairs * largestFold * 2),
    score: (at, count, j, first) => score2(uAt, fBytes, rowAt + at * 4, count, dAt + j * f * 16, outAt + (j * largestFold + first) * 16),
    score4: (at, count, j, first) => score4(uAt, fBytes, rowAt + at * 4, count, dAt + j * f * 16, outAt + (j * largestFold + first) * 16, largestFold * 16),
    cov: new Float64Array(buffer, covAt, f * f),
    covTile: (i0, rows, a, c) => covTile(uAt + i0 * fBytes, fBytes, rows, a * 8, c * 8, covAt + (a * f + c) * 8),
    lpair: new Float64Array(buffer, lpAt, (f >> 1) * f * 2),
    solvePair: (r, i) => solvePair(uAt + r * fBytes, fBytes, lpAt + (i >> 1) * f * 16, i * 8, 0, 0),
    sumRows: (count, s) => sumRows(uAt, fBytes, yAt, count, sumAt + s * 8, pairBytes),
    labels: new Uint8Array(buffer, labAt, P * N),
    foldStats: largestFold > FOLD_COUNTS_MAX_ROWS ? null : foldStatsWasm(buffer, foldCounts, outAt, rowAt, labAt, cutAt, workAt, largestFold, N),
  };
}

/** Rows of a fold up to which foldCounts' 32-bit twice-U (at most rows^2 / 2) cannot overflow. */
const FOLD_COUNTS_MAX_ROWS = 46340;

function foldStatsWasm(buffer: ArrayBuffer, foldCounts: Kernel8, outAt: number, rowAt: number, labAt: number, cutAt: number, workAt: number, largestFold: number, N: number): FoldStatsWasm {
  const cut = new Int32Array(buffer, cutAt, largestFold + 1);
  const res = new Int32Array(buffer, workAt, 4);
  return {
    // X's (1 - fpr) quantile of a fold with nn X rows: the X score at ascending position cut[nn] (as foldStats).
    setFpr: (fpr) => {
      for (let nn = 1; nn <= largestFold; nn++) cut[nn] = Math.min(nn - 1, Math.max(0, Math.ceil((1 - fpr) * nn) - 1));
    },
    run: (j, lane, p, k, len, topK, acc, a) => {
      foldCounts(outAt + j * largestFold * 16 + lane * 8, 16, labAt + p * N, rowAt + k * largestFold * 4, len, topK, workAt, cutAt);
      const np = res[3];
      const nn = len - np;
      acc[a + 5] += topK;
      acc[a + 4] += res[0];
      if (np === 0 || nn === 0) return;
      acc[a + 2] += res[1];
      acc[a + 3] += np;
      acc[a] += 0.5 * res[2];
      acc[a + 1] += np * nn;
    },
  };
}

function compile(): Compiled | null {
  const m = instantiate(moduleBytes());
  if (!m) return null;
  const x = m.exports;
  return { memory: m.memory, score2: x.score2 as Kernel, sumRows: x.sumRows as Kernel, covTile: x.covTile as Kernel, solvePair: x.solvePair as Kernel, score4: x.score4 as Kernel7, foldCounts: x.foldCounts as Kernel8 };
}

/**
 * The module: imports memory m.mem, exports (addresses in bytes; f64x2 = two float64 lanes)
 *   score2(U, fBytes, idx, count, dp, out):
 *     t = 0
 *     while t + 4 <= count:        // four rows per pass, then one
 *       o_r = U + i32[idx + 4 (t + r)] * fBytes   (r = 0..3)
 *       acc_r = 0 (f64x2)
 *       for c = 0; c < fBytes; c += 8: acc_r = acc_r + f64x2[dp + 2 c] * splat(f64[o_r + c])
 *       f64x2[out + 16 (t + r)] = acc_r
 *       t += 4
 *   score4(U, fBytes, idx, count, dp, out, outStep): score2 for the pair slots at dp and dp + 2 fBytes
 *     (outputs at out and out + outStep), each feature of U loaded and splat once for both
 *   sumRows(U, fBytes, idx, count, sum, pairBytes):
 *     t = 0
 *     while t + 4 <= count:        // four rows per pass, then one
 *       o_r = U + i32[idx + 4 (t + r)] * fBytes
 *       for c = 0; c < pairBytes; c += 16:
 *         f64x2[sum + c] = f64x2[sum + c] + f64x2[o_0 + c] + ... + f64x2[o_3 + c]
 *       t += 4
 *   covTile(X, fBytes, rows, aByte, cByte, at):   // a 4 x 4 tile of X^T X, two columns per f64x2
 *     acc_jq = f64x2[at + j fBytes + 16 q]   (j = 0..3, q = 0..1)
 *     for i < rows, o = X + i fBytes:
 *       v_q = f64x2[o + cByte + 16 q]
 *       acc_jq = acc_jq + splat(f64[o + aByte + 8 j]) * v_q
 *     f64x2[at + j fBytes + 16 q] = acc_jq
 *   foldCounts(sc, sStride, lab, idx, len, topK, W, cut):   // classifier.ts foldStats for one draw and fold
 *     scores f64[sc + t sStride], labels (nonzero: Y) u8[lab + i32[idx + 4 t]] for t < len;
 *     bucket sort (buckets by (v - lo) len / (hi - lo)), insertion within buckets;
 *     i32[W] = Y rows among the topK top-scored (runs of equal scores from the top, Y first),
 *     i32[W + 12] = Y rows; where both classes are present, runs from the bottom give
 *     i32[W + 8] = 2 U and i32[W + 4] = Y rows above the X score at ascending position i32[cut + 4 nn];
 *     scratch from W + 16: sorted scores, bucket starts, buckets, sorted labels
 *   solvePair(B, fBytes, lp, iBytes, -, -):          // four rows, unknowns i and i + 1 of L u = b
 *     acc_r = f64x2[B + r fBytes + iBytes]   (r = 0..3)
 *     for k = 0; k < iBytes; k += 8: acc_r = acc_r - f64x2[lp + 2 k] * splat(f64[B + r fBytes + k])
 *     f64x2[B + r fBytes + iBytes] = acc_r
 */
function moduleBytes(): Uint8Array {
  const times = (n: number, f: (r: number) => number[]) => Array.from({ length: n }, (_, r) => f(r)).flat();

  // score2. Parameters 0..5: U, fBytes, idx, count, dp, out; i32 locals 6: t, 7: c, 8..11: o_0..o_3;
  // v128 locals 12: wv, 13..16: acc_0..acc_3.
  const S = { U: 0, fBytes: 1, idx: 2, count: 3, dp: 4, out: 5, t: 6, c: 7, o: 8, wv: 12, acc: 13 };
  const rowOffset = (base: number, fBytes: number, idx: number, t: number, o: number) => (r: number) => [...get(base), ...get(idx), ...get(t), ...i32(2), ...shl, ...add, ...loadI32(4 * r), ...get(fBytes), ...mul, ...add, ...set(o + r)];
  const multiplyAdd = (r: number) => [...get(S.acc + r), ...get(S.wv), ...get(S.o + r), ...get(S.c), ...add, ...loadF64, ...splatF64x2, ...mulF64x2, ...addF64x2, ...set(S.acc + r)];
  const storeAcc = (r: number) => [...get(S.out), ...get(S.t), ...i32(r), ...add, ...i32(4), ...shl, ...add, ...get(S.acc + r), ...storeV128];
  const scorePass = (rows: number) =>
    whileFits(S.t, rows, S.count, [
      ...times(rows, rowOffset(S.U, S.fBytes, S.idx, S.t, S.o)),
      ...times(rows, (r) => [...zeroV128, ...set(S.acc + r)]),
      ...i32(0),
      ...set(S.c),
      ...whileFits(S.c, 8, S.fBytes, [...get(S.dp), ...get(S.c), ...i32(1), ...shl, ...add, ...loadV128, ...set(S.wv), ...times(rows, multiplyAdd)]),
      ...times(rows, storeAcc),
    ]);
  const scoreBody = [...vec([[6, 0x7f], [5, 0x7b]]), ...scorePass(4), ...scorePass(1), ...end];

  // sumRows. Parameters 0..5: U, fBytes, idx, count, sum, pairBytes; i32 locals 6: t, 7..10: o_0..o_3, 11: c.
  const R = { U: 0, fBytes: 1, idx: 2, count: 3, sum: 4, pairBytes: 5, t: 6, o: 7, c: 11 };
  const sumAddress = [...get(R.sum), ...get(R.c), ...add];
  const addRow = (r: number) => [...get(R.o + r), ...get(R.c), ...add, ...loadV128, ...addF64x2];
  const sumPass = (rows: number) =>
    whileFits(R.t, rows, R.count, [
      ...times(rows, rowOffset(R.U, R.fBytes, R.idx, R.t, R.o)),
      ...i32(0),
      ...set(R.c),
      ...whileFits(R.c, 16, R.pairBytes, [...sumAddress, ...sumAddress, ...loadV128, ...times(rows, addRow), ...storeV128]),
    ]);
  const sumBody = [...vec([[6, 0x7f]]), ...sumPass(4), ...sumPass(1), ...end];

  // covTile. Parameters 0..5: X, fBytes, rows, aByte, cByte, at; i32 locals 6: i, 7: o;
  // v128 locals 8..15: acc_jq (8 + 2 j + q), 16..17: v_q, 18: s.
  const C = { X: 0, fBytes: 1, rows: 2, aByte: 3, cByte: 4, at: 5, i: 6, o: 7, acc: 8, v: 16, s: 18 };
  const loadV128At = (offset: number) => [0xfd, ...uleb(0), 3, ...uleb(offset)];
  const storeV128At = (offset: number) => [0xfd, ...uleb(11), 3, ...uleb(offset)];
  const loadF64At = (offset: number) => [0x2b, 3, ...uleb(offset)];
  const accAddress = (j: number) => [...get(C.at), ...get(C.fBytes), ...i32(j), ...mul, ...add];
  const tileRow = [
    ...times(2, (q) => [...get(C.o), ...get(C.cByte), ...add, ...loadV128At(16 * q), ...set(C.v + q)]),
    ...times(4, (j) => [
      ...get(C.o), ...get(C.aByte), ...add, ...loadF64At(8 * j), ...splatF64x2, ...set(C.s),
      ...times(2, (q) => [...get(C.acc + 2 * j + q), ...get(C.s), ...get(C.v + q), ...mulF64x2, ...addF64x2, ...set(C.acc + 2 * j + q)]),
    ]),
    ...get(C.o), ...get(C.fBytes), ...add, ...set(C.o),
  ];
  const covBody = [
    ...vec([[2, 0x7f], [11, 0x7b]]),
    ...times(4, (j) => times(2, (q) => [...accAddress(j), ...loadV128At(16 * q), ...set(C.acc + 2 * j + q)])),
    ...get(C.X), ...set(C.o),
    ...whileFits(C.i, 1, C.rows, tileRow),
    ...times(4, (j) => times(2, (q) => [...accAddress(j), ...get(C.acc + 2 * j + q), ...storeV128At(16 * q)])),
    ...end,
  ];

  // solvePair. Parameters 0..5: B, fBytes, lp, iBytes, -, -; i32 locals 6: k, 7..10: o_0..o_3;
  // v128 locals 11: lv, 12..15: acc_0..acc_3.
  const V = { B: 0, fBytes: 1, lp: 2, iBytes: 3, k: 6, o: 7, lv: 11, acc: 12 };
  const solveBody = [
    ...vec([[5, 0x7f], [5, 0x7b]]),
    ...times(4, (r) => [...get(V.B), ...get(V.fBytes), ...i32(r), ...mul, ...add, ...set(V.o + r)]),
    ...times(4, (r) => [...get(V.o + r), ...get(V.iBytes), ...add, ...loadV128, ...set(V.acc + r)]),
    ...whileFits(V.k, 8, V.iBytes, [
      ...get(V.lp), ...get(V.k), ...i32(1), ...shl, ...add, ...loadV128, ...set(V.lv),
      ...times(4, (r) => [...get(V.acc + r), ...get(V.lv), ...get(V.o + r), ...get(V.k), ...add, ...loadF64, ...splatF64x2, ...mulF64x2, ...subF64x2, ...set(V.acc + r)]),
    ]),
    ...times(4, (r) => [...get(V.o + r), ...get(V.iBytes), ...add, ...get(V.acc + r), ...storeV128]),
    ...end,
  ];

  // score4. Parameters 0..6: U, fBytes, idx, count, dp, out, outStep; i32 locals 7: t, 8: c, 9..12: o_0..o_3,
  // 13: dp2, 14: out2; v128 locals 15..16: wv_q, 17: s, 18..25: acc_rq (18 + 2 r + q).
  const Q = { U: 0, fBytes: 1, idx: 2, count: 3, dp: 4, out: 5, outStep: 6, t: 7, c: 8, o: 9, dp2: 13, out2: 14, wv: 15, s: 17, acc: 18 };
  const quadRow = (r: number) => [
    ...get(Q.o + r), ...get(Q.c), ...add, ...loadF64, ...splatF64x2, ...set(Q.s),
    ...times(2, (q) => [...get(Q.acc + 2 * r + q), ...get(Q.wv + q), ...get(Q.s), ...mulF64x2, ...addF64x2, ...set(Q.acc + 2 * r + q)]),
  ];
  const quadStore = (r: number) =>
    times(2, (q) => [...get(q ? Q.out2 : Q.out), ...get(Q.t), ...i32(r), ...add, ...i32(4), ...shl, ...add, ...get(Q.acc + 2 * r + q), ...storeV128]);
  const quadPass = (rows: number) =>
    whileFits(Q.t, rows, Q.count, [
      ...times(rows, rowOffset(Q.U, Q.fBytes, Q.idx, Q.t, Q.o)),
      ...times(rows, (r) => times(2, (q) => [...zeroV128, ...set(Q.acc + 2 * r + q)])),
      ...i32(0),
      ...set(Q.c),
      ...whileFits(Q.c, 8, Q.fBytes, [
        ...get(Q.dp), ...get(Q.c), ...i32(1), ...shl, ...add, ...loadV128, ...set(Q.wv),
        ...get(Q.dp2), ...get(Q.c), ...i32(1), ...shl, ...add, ...loadV128, ...set(Q.wv + 1),
        ...times(rows, quadRow),
      ]),
      ...times(rows, quadStore),
    ]);
  const score4Body = [
    ...vec([[8, 0x7f], [11, 0x7b]]),
    ...get(Q.dp), ...get(Q.fBytes), ...i32(1), ...shl, ...add, ...set(Q.dp2),
    ...get(Q.out), ...get(Q.outStep), ...add, ...set(Q.out2),
    ...quadPass(4),
    ...quadPass(1),
    ...end,
  ];

  // foldCounts (classifier.ts foldStats' counts). Parameters 0..7: sc, sStride, lab, idx, len, topK, W, cut;
  // i32 locals 8: t, 9: np, 10: b, 11: e, 12: j, 13: gy, 14: i0, 15: rest, 16: topY, 17: xBelow,
  // 18: yBelow, 19: above, 20: u2, 21: last, 22: vals, 23: start, 24: bk, 25: labs, 26: cutAt, 27: l;
  // f64 locals 28: lo, 29: hi, 30: scale, 31: v, 32: q.
  const F = { sc: 0, ss: 1, lab: 2, idx: 3, len: 4, topK: 5, W: 6, cut: 7, t: 8, np: 9, b: 10, e: 11, j: 12, gy: 13, i0: 14, rest: 15, topY: 16, xBelow: 17, yBelow: 18, above: 19, u2: 20, last: 21, vals: 22, start: 23, bk: 24, labs: 25, cutAt: 26, l: 27, lo: 28, hi: 29, scale: 30, v: 31, q: 32 };
  const I = { sub: [0x6b], and: [0x71], eq: [0x46], shrS: [0x75], eqz: [0x45], ltS: [0x48], gtS: [0x4a], leS: [0x4c], geS: [0x4e], select: [0x1b] };
  const D = { lt: [0x63], gt: [0x64], ge: [0x66], ne: [0x62], sub: [0xa1], mul: [0xa2], div: [0xa3], min: [0xa4], max: [0xa5], fromI32: [0xb7], truncSat: [0xfc, 2] };
  const f64c = (v: number) => [0x44, ...new Uint8Array(Float64Array.of(v).buffer)];
  const ld32 = [0x28, 2, 0];
  const st32 = [0x36, 2, 0];
  const ld8 = [0x2d, 0, 0];
  const ldF = [0x2b, 3, 0];
  const stF = [0x39, 3, 0];
  const stFAt = (offset: number) => [0x39, 3, ...uleb(offset)];
  const st32At = (offset: number) => [0x36, 2, ...uleb(offset)];
  const ifThen = (body: number[]) => [0x04, 0x40, ...body, ...end];
  /** base + index x size */
  const at = (base: number, index: number, size: number) => [...get(base), ...get(index), ...i32(size), ...mul, ...add];
  const inc = (x: number, by: number[] = i32(1)) => [...get(x), ...by, ...add, ...set(x)];
  /** for (x = from; cond; x++) body, cond leaving an i32 (nonzero: go on); body must not branch out. */
  const forEach = (x: number, from: number[], cond: number[], body: number[]) => [...from, ...set(x), ...block, ...loop, ...cond, ...I.eqz, ...brIf(1), ...body, ...inc(x), ...br(0), ...end, ...end];
  /** While x (stepping by dir) stays in range and vals[x] === v: gy += labs[x], x += dir (the rest of a run of equal scores). */
  const runRest = (x: number, dir: number, inRange: number[]) => [
    ...block, ...loop,
    ...inRange, ...I.eqz, ...brIf(1),
    ...at(F.vals, x, 8), ...ldF, ...get(F.v), ...D.ne, ...brIf(1),
    ...inc(F.gy, [...at(F.labs, x, 4), ...ld32]),
    ...inc(x, i32(dir)),
    ...br(0),
    ...end, ...end,
  ];
  const score = (t: number) => [...get(F.sc), ...get(t), ...get(F.ss), ...mul, ...add, ...ldF];
  const foldBody = [
    ...vec([[20, 0x7f], [5, 0x7c]]),
    // Scratch after the four results at W: vals (len f64), start (len + 1 i32), bk (len i32: bucket x 2 + label), labs (len i32).
    ...get(F.W), ...i32(16), ...add, ...set(F.vals),
    ...at(F.vals, F.len, 8), ...set(F.start),
    ...at(F.start, F.len, 4), ...i32(4), ...add, ...set(F.bk),
    ...at(F.bk, F.len, 4), ...set(F.labs),
    ...get(F.len), ...i32(1), ...I.sub, ...set(F.last),
    // Range, and each row's label (1 for any nonzero byte) in bk.
    ...f64c(Infinity), ...set(F.lo), ...f64c(-Infinity), ...set(F.hi),
    ...forEach(F.t, i32(0), [...get(F.t), ...get(F.len), ...I.ltS], [
      ...score(F.t), ...set(F.v),
      ...get(F.lo), ...get(F.v), ...D.min, ...set(F.lo),
      ...get(F.hi), ...get(F.v), ...D.max, ...set(F.hi),
      ...get(F.lab), ...at(F.idx, F.t, 4), ...ld32, ...add, ...ld8, ...i32(255), ...add, ...i32(8), ...I.shrS, ...set(F.l),
      ...inc(F.np, get(F.l)),
      ...at(F.bk, F.t, 4), ...get(F.l), ...st32,
    ]),
    // scale = len / (hi - lo), 0 where not finite; start[0..len] = 0.
    ...get(F.len), ...D.fromI32, ...get(F.hi), ...get(F.lo), ...D.sub, ...D.div, ...set(F.scale),
    ...get(F.scale), ...f64c(0), ...get(F.scale), ...f64c(Infinity), ...D.lt, ...I.select, ...set(F.scale),
    ...forEach(F.t, i32(0), [...get(F.t), ...get(F.len), ...I.leS], [...at(F.start, F.t, 4), ...i32(0), ...st32]),
    // Buckets b = min(last, trunc((v - lo) scale)) (a NaN to 0), counted at start[b + 1]; bk = 2 b + label.
    ...forEach(F.t, i32(0), [...get(F.t), ...get(F.len), ...I.ltS], [
      ...score(F.t), ...get(F.lo), ...D.sub, ...get(F.scale), ...D.mul, ...set(F.q),
      ...get(F.last), ...get(F.q), ...D.truncSat, ...get(F.q), ...get(F.last), ...D.fromI32, ...D.ge, ...I.select, ...set(F.b),
      ...at(F.bk, F.t, 4), ...get(F.b), ...i32(1), ...shl, ...at(F.bk, F.t, 4), ...ld32, ...add, ...st32,
      ...at(F.start, F.b, 4), ...i32(4), ...add, ...set(F.e),
      ...get(F.e), ...get(F.e), ...ld32, ...i32(1), ...add, ...st32,
    ]),
    // start[b] = rows in buckets below b.
    ...forEach(F.b, i32(1), [...get(F.b), ...get(F.len), ...I.ltS], [
      ...at(F.start, F.b, 4), ...set(F.e),
      ...get(F.e), ...get(F.e), ...ld32, ...get(F.e), ...i32(4), ...I.sub, ...ld32, ...add, ...st32,
    ]),
    // Scatter by bucket.
    ...forEach(F.t, i32(0), [...get(F.t), ...get(F.len), ...I.ltS], [
      ...at(F.bk, F.t, 4), ...ld32, ...set(F.e),
      ...get(F.start), ...get(F.e), ...i32(1), ...I.shrS, ...i32(4), ...mul, ...add, ...set(F.b), // address of start[bucket]
      ...get(F.b), ...ld32, ...set(F.j),
      ...get(F.b), ...get(F.j), ...i32(1), ...add, ...st32,
      ...at(F.vals, F.j, 8), ...score(F.t), ...stF,
      ...at(F.labs, F.j, 4), ...get(F.e), ...i32(1), ...I.and, ...st32,
    ]),
    // Insertion sort (moves only within buckets).
    ...forEach(F.t, i32(1), [...get(F.t), ...get(F.len), ...I.ltS], [
      ...at(F.vals, F.t, 8), ...ldF, ...set(F.v),
      ...at(F.vals, F.t, 8), ...i32(8), ...I.sub, ...ldF, ...get(F.v), ...D.gt,
      ...ifThen([
        ...at(F.labs, F.t, 4), ...ld32, ...set(F.l),
        ...get(F.t), ...i32(1), ...I.sub, ...set(F.j),
        ...loop,
        ...at(F.vals, F.j, 8), ...at(F.vals, F.j, 8), ...ldF, ...stFAt(8),
        ...at(F.labs, F.j, 4), ...at(F.labs, F.j, 4), ...ld32, ...st32At(4),
        ...inc(F.j, i32(-1)),
        ...block,
        ...get(F.j), ...i32(0), ...I.ltS, ...brIf(0),
        ...at(F.vals, F.j, 8), ...ldF, ...get(F.v), ...D.gt, ...brIf(1),
        ...end,
        ...end,
        ...at(F.vals, F.j, 8), ...get(F.v), ...stFAt(8),
        ...at(F.labs, F.j, 4), ...get(F.l), ...st32At(4),
      ]),
    ]),
    // Top share: runs of equal scores from the top, a run's Y rows first; beyond all rows each counts as Y.
    ...get(F.topK), ...set(F.rest),
    ...get(F.rest), ...get(F.len), ...I.gtS,
    ...ifThen([...get(F.rest), ...get(F.len), ...I.sub, ...set(F.topY), ...get(F.len), ...set(F.rest)]),
    ...get(F.last), ...set(F.j),
    ...block, ...loop,
    ...get(F.rest), ...i32(0), ...I.leS, ...brIf(1),
    ...at(F.vals, F.j, 8), ...ldF, ...set(F.v),
    ...get(F.j), ...set(F.i0),
    ...at(F.labs, F.j, 4), ...ld32, ...set(F.gy),
    ...inc(F.j, i32(-1)),
    ...runRest(F.j, -1, [...get(F.j), ...i32(0), ...I.geS]),
    ...get(F.gy), ...get(F.rest), ...I.geS,
    ...ifThen([...inc(F.topY, get(F.rest)), ...br(2)]),
    ...inc(F.topY, get(F.gy)),
    ...get(F.rest), ...get(F.i0), ...I.sub, ...get(F.j), ...add, ...set(F.rest),
    ...br(0),
    ...end, ...end,
    ...get(F.W), ...get(F.topY), ...st32At(0),
    ...get(F.W), ...get(F.np), ...st32At(12),
    // U (twice) and the Y rows above X's quantile: runs of equal scores from the bottom (both classes present).
    ...block,
    ...get(F.np), ...I.eqz, ...brIf(0),
    ...get(F.np), ...get(F.len), ...I.eq, ...brIf(0),
    ...get(F.cut), ...get(F.len), ...get(F.np), ...I.sub, ...i32(4), ...mul, ...add, ...ld32, ...set(F.cutAt),
    ...i32(-1), ...set(F.above),
    ...i32(0), ...set(F.t),
    ...block, ...loop,
    ...get(F.t), ...get(F.len), ...I.geS, ...brIf(1),
    ...at(F.vals, F.t, 8), ...ldF, ...set(F.v),
    ...get(F.t), ...set(F.i0),
    ...at(F.labs, F.t, 4), ...ld32, ...set(F.gy),
    ...inc(F.t),
    ...runRest(F.t, 1, [...get(F.t), ...get(F.len), ...I.ltS]),
    ...get(F.t), ...get(F.i0), ...I.sub, ...get(F.gy), ...I.sub, ...set(F.e), // gx
    ...inc(F.u2, [...get(F.gy), ...get(F.xBelow), ...i32(1), ...shl, ...get(F.e), ...add, ...mul]),
    ...inc(F.xBelow, get(F.e)),
    ...inc(F.yBelow, get(F.gy)),
    ...get(F.np), ...get(F.yBelow), ...I.sub, ...get(F.above),
    ...get(F.above), ...i32(0), ...I.ltS, ...get(F.xBelow), ...get(F.cutAt), ...I.gtS, ...I.and,
    ...I.select, ...set(F.above),
    ...br(0),
    ...end, ...end,
    ...get(F.W), ...get(F.above), ...st32At(4),
    ...get(F.W), ...get(F.u2), ...st32At(8),
    ...end,
    ...end,
  ];

  const i32x6 = Array.from({ length: 6 }, () => [0x7f]);
  const i32x7 = Array.from({ length: 7 }, () => [0x7f]);
  const i32x8 = Array.from({ length: 8 }, () => [0x7f]);
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, vec([[0x60, ...vec(i32x6), 0], [0x60, ...vec(i32x7), 0], [0x60, ...vec(i32x8), 0]])), // types 0: (i32 x 6) -> (), 1: (i32 x 7) -> (), 2: (i32 x 8) -> ()
    ...section(2, vec([[...name('m'), ...name('mem'), 0x02, 0x00, 1]])), // import memory m.mem, min 1 page
    ...section(3, vec([[0], [0], [0], [0], [1], [2]])), // four functions of type 0, one of type 1, one of type 2
    ...section(7, vec([[...name('score2'), 0x00, 0], [...name('sumRows'), 0x00, 1], [...name('covTile'), 0x00, 2], [...name('solvePair'), 0x00, 3], [...name('score4'), 0x00, 4], [...name('foldCounts'), 0x00, 5]])),
    ...section(10, vec([[...uleb(scoreBody.length), ...scoreBody], [...uleb(sumBody.length), ...sumBody], [...uleb(covBody.length), ...covBody], [...uleb(solveBody.length), ...solveBody], [...uleb(score4Body.length), ...score4Body], [...uleb(foldBody.length), ...foldBody]])),
  ]);
}

/**
 * Kernels of the domain classifier (classifier.ts), written out by hand in plain TypeScript:
 * the project has no BLAS, and a library product (a dgemm or a blocked triangular solve)
 * would sum in its own order, while every sum here keeps the order of the straightforward
 * row-by-row walk, so that results stay bit-identical to it. They only reorder loops for
 * the cache and keep several independent sums in registers.
 */
import { forwardSolveInPlace } from './matrix.js';

/**
 * Upper triangle (c >= a) of X^T X for the row-major N x f matrix X: cov[a * f + c] =
 * sum over rows i = 0, 1, ..., N - 1, in that order, of X[i][a] * X[i][c], starting from 0
 * (the same additions as a walk over the rows). Entries below the diagonal are left with
 * partial sums (the caller mirrors the upper triangle).
 *
 * Works on the transposed X in chunks of rows that stay in cache, 3 x 4 entries at a time
 * held in registers across the chunk (3 x 4 measured fastest of 2 x 4 to 5 x 3 in V8):
 * every value read serves three or four products where
 * a row-by-row walk loads and stores an entry of cov for each product group.
 */
export function crossProductUpper(X: Float64Array, N: number, f: number): Float64Array {
  const cov = new Float64Array(f * f);
  if (N === 0 || f === 0) return cov;
  // Rows per chunk: f columns of the chunk take about 256 KiB.
  const R = Math.max(16, Math.min(N, Math.floor(32768 / f)));
  const T = new Float64Array(f * R);
  for (let i0 = 0; i0 < N; i0 += R) {
    const r = Math.min(R, N - i0);
    // T[c * r + t] = X[i0 + t][c]
    for (let t = 0; t < r; t++) {
      const o = (i0 + t) * f;
      for (let c = 0; c < f; c++) T[c * r + t] = X[o + c];
    }
    let a = 0;
    for (; a + 3 <= f; a += 3) {
      let c = a & ~3;
      for (; c + 4 <= f; c += 4) tile3x4(T, r, a, c, cov, f);
      for (; c < f; c++) for (let j = 0; j < 3; j++) tile1(T, r, a + j, c, cov, f);
    }
    for (; a < f; a++) for (let c = a; c < f; c++) tile1(T, r, a, c, cov, f);
  }
  return cov;
}

/** cov[(a + i) * f + c + j] += sum over t of T[(a + i) * r + t] * T[(c + j) * r + t], t ascending, for i < 3, j < 4. */
function tile3x4(T: Float64Array, r: number, a: number, c: number, cov: Float64Array, f: number): void {
  const ta = a * r;
  const tb = ta + r;
  const tc = tb + r;
  const t0 = c * r;
  const t1 = t0 + r;
  const t2 = t1 + r;
  const t3 = t2 + r;
  const ra = a * f + c;
  const rb = ra + f;
  const rc = rb + f;
  let s00 = cov[ra];
  let s01 = cov[ra + 1];
  let s02 = cov[ra + 2];
  let s03 = cov[ra + 3];
  let s10 = cov[rb];
  let s11 = cov[rb + 1];
  let s12 = cov[rb + 2];
  let s13 = cov[rb + 3];
  let s20 = cov[rc];
  let s21 = cov[rc + 1];
  let s22 = cov[rc + 2];
  let s23 = cov[rc + 3];
  for (let t = 0; t < r; t++) {
    const y0 = T[t0 + t];
    const y1 = T[t1 + t];
    const y2 = T[t2 + t];
    const y3 = T[t3 + t];
    const xa = T[ta + t];
    s00 += xa * y0;
    s01 += xa * y1;
    s02 += xa * y2;
    s03 += xa * y3;
    const xb = T[tb + t];
    s10 += xb * y0;
    s11 += xb * y1;
    s12 += xb * y2;
    s13 += xb * y3;
    const xc = T[tc + t];
    s20 += xc * y0;
    s21 += xc * y1;
    s22 += xc * y2;
    s23 += xc * y3;
  }
  cov[ra] = s00;
  cov[ra + 1] = s01;
  cov[ra + 2] = s02;
  cov[ra + 3] = s03;
  cov[rb] = s10;
  cov[rb + 1] = s11;
  cov[rb + 2] = s12;
  cov[rb + 3] = s13;
  cov[rc] = s20;
  cov[rc + 1] = s21;
  cov[rc + 2] = s22;
  cov[rc + 3] = s23;
}

function tile1(T: Float64Array, r: number, a: number, c: number, cov: Float64Array, f: number): void {
  const ta = a * r;
  const tc = c * r;
  let s = cov[a * f + c];
  for (let t = 0; t < r; t++) s += T[ta + t] * T[tc + t];
  cov[a * f + c] = s;
}

/**
 * Solves L u = b in place for each of the `rows` rows b of the row-major `B` (rows x p), L
 * lower-triangular from `cholesky` (matrix.ts): each row gets exactly the operations of
 * matrix.ts's forwardSolveInPlace (u_i = (b_i - L_i0 u_0 - L_i1 u_1 - ... ) / L_ii, in that
 * order). Four rows and three unknowns at a time: every entry of L read serves four rows,
 * every entry of u three unknowns.
 */
export function forwardSolveRows(L: Float64Array, p: number, B: Float64Array, rows: number): void {
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const o0 = r * p;
    const o1 = o0 + p;
    const o2 = o1 + p;
    const o3 = o2 + p;
    let i = 0;
    for (; i + 3 <= p; i += 3) {
      const li = i * p;
      const lj = li + p;
      const lk = lj + p;
      let s0 = B[o0 + i];
      let s1 = B[o1 + i];
      let s2 = B[o2 + i];
      let s3 = B[o3 + i];
      let t0 = B[o0 + i + 1];
      let t1 = B[o1 + i + 1];
      let t2 = B[o2 + i + 1];
      let t3 = B[o3 + i + 1];
      let w0 = B[o0 + i + 2];
      let w1 = B[o1 + i + 2];
      let w2 = B[o2 + i + 2];
      let w3 = B[o3 + i + 2];
      for (let k = 0; k < i; k++) {
        const u0 = B[o0 + k];
        const u1 = B[o1 + k];
        const u2 = B[o2 + k];
        const u3 = B[o3 + k];
        const a = L[li + k];
        s0 -= a * u0;
        s1 -= a * u1;
        s2 -= a * u2;
        s3 -= a * u3;
        const b = L[lj + k];
        t0 -= b * u0;
        t1 -= b * u1;
        t2 -= b * u2;
        t3 -= b * u3;
        const c = L[lk + k];
        w0 -= c * u0;
        w1 -= c * u1;
        w2 -= c * u2;
        w3 -= c * u3;
      }
      // The last terms of unknowns i + 1 and i + 2, in order, as each unknown is solved.
      const d = L[li + i];
      const u0 = s0 / d;
      const u1 = s1 / d;
      const u2 = s2 / d;
      const u3 = s3 / d;
      B[o0 + i] = u0;
      B[o1 + i] = u1;
      B[o2 + i] = u2;
      B[o3 + i] = u3;
      const b = L[lj + i];
      const e = L[lj + i + 1];
      const v0 = (t0 - b * u0) / e;
      const v1 = (t1 - b * u1) / e;
      const v2 = (t2 - b * u2) / e;
      const v3 = (t3 - b * u3) / e;
      B[o0 + i + 1] = v0;
      B[o1 + i + 1] = v1;
      B[o2 + i + 1] = v2;
      B[o3 + i + 1] = v3;
      const g = L[lk + i];
      const h = L[lk + i + 1];
      const q = L[lk + i + 2];
      B[o0 + i + 2] = (w0 - g * u0 - h * v0) / q;
      B[o1 + i + 2] = (w1 - g * u1 - h * v1) / q;
      B[o2 + i + 2] = (w2 - g * u2 - h * v2) / q;
      B[o3 + i + 2] = (w3 - g * u3 - h * v3) / q;
    }
    for (; i < p; i++) {
      const li = i * p;
      let s0 = B[o0 + i];
      let s1 = B[o1 + i];
      let s2 = B[o2 + i];
      let s3 = B[o3 + i];
      for (let k = 0; k < i; k++) {
        const a = L[li + k];
        s0 -= a * B[o0 + k];
        s1 -= a * B[o1 + k];
        s2 -= a * B[o2 + k];
        s3 -= a * B[o3 + k];
      }
      const d = L[li + i];
      B[o0 + i] = s0 / d;
      B[o1 + i] = s1 / d;
      B[o2 + i] = s2 / d;
      B[o3 + i] = s3 / d;
    }
  }
  for (; r < rows; r++) forwardSolveInPlace(L, p, B.subarray(r * p, (r + 1) * p));
}

/**
 * Scores of rows[r0..r1) under three discriminants at once: scores[sa + t] = U[rows[t]] .
 * delta[da..da+f), likewise (db, sb) and (dc, sc), each summed over the features in order
 * from 0 (as one row alone), four rows at a time: every feature read of U serves three
 * draws, every entry of a discriminant four rows.
 */
export function scoreRows3(U: Float64Array, f: number, rows: Int32Array, r0: number, r1: number, delta: Float64Array, da: number, db: number, dc: number, scores: Float64Array, sa: number, sb: number, sc: number): void {
  let t = r0;
  for (; t + 4 <= r1; t += 4) {
    const o0 = rows[t] * f;
    const o1 = rows[t + 1] * f;
    const o2 = rows[t + 2] * f;
    const o3 = rows[t + 3] * f;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let b0 = 0;
    let b1 = 0;
    let b2 = 0;
    let b3 = 0;
    let c0 = 0;
    let c1 = 0;
    let c2 = 0;
    let c3 = 0;
    for (let c = 0; c < f; c++) {
      const u0 = U[o0 + c];
      const u1 = U[o1 + c];
      const u2 = U[o2 + c];
      const u3 = U[o3 + c];
      const x = delta[da + c];
      a0 += u0 * x;
      a1 += u1 * x;
      a2 += u2 * x;
      a3 += u3 * x;
      const y = delta[db + c];
      b0 += u0 * y;
      b1 += u1 * y;
      b2 += u2 * y;
      b3 += u3 * y;
      const z = delta[dc + c];
      c0 += u0 * z;
      c1 += u1 * z;
      c2 += u2 * z;
      c3 += u3 * z;
    }
    scores[sa + t] = a0;
    scores[sa + t + 1] = a1;
    scores[sa + t + 2] = a2;
    scores[sa + t + 3] = a3;
    scores[sb + t] = b0;
    scores[sb + t + 1] = b1;
    scores[sb + t + 2] = b2;
    scores[sb + t + 3] = b3;
    scores[sc + t] = c0;
    scores[sc + t + 1] = c1;
    scores[sc + t + 2] = c2;
    scores[sc + t + 3] = c3;
  }
  for (; t < r1; t++) {
    const o = rows[t] * f;
    let a = 0;
    let b = 0;
    let e = 0;
    for (let c = 0; c < f; c++) {
      const u = U[o + c];
      a += u * delta[da + c];
      b += u * delta[db + c];
      e += u * delta[dc + c];
    }
    scores[sa + t] = a;
    scores[sb + t] = b;
    scores[sc + t] = e;
  }
}

/**
 * Scores of rows[r0..r1) under two discriminants at once: sa[t] = U[rows[t]] . delta[da..da+f)
 * and sb[t] = U[rows[t]] . delta[db..db+f), each summed over the features in order from 0 (as
 * one row alone), four rows at a time: every feature read of U serves both, every entry of
 * the discriminants four rows.
 */
export function scoreRows2(U: Float64Array, f: number, rows: Int32Array, r0: number, r1: number, delta: Float64Array, da: number, db: number, scores: Float64Array, sa: number, sb: number): void {
  let t = r0;
  for (; t + 4 <= r1; t += 4) {
    const o0 = rows[t] * f;
    const o1 = rows[t + 1] * f;
    const o2 = rows[t + 2] * f;
    const o3 = rows[t + 3] * f;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let b0 = 0;
    let b1 = 0;
    let b2 = 0;
    let b3 = 0;
    for (let c = 0; c < f; c++) {
      const x = delta[da + c];
      const y = delta[db + c];
      const u0 = U[o0 + c];
      const u1 = U[o1 + c];
      const u2 = U[o2 + c];
      const u3 = U[o3 + c];
      a0 += u0 * x;
      a1 += u1 * x;
      a2 += u2 * x;
      a3 += u3 * x;
      b0 += u0 * y;
      b1 += u1 * y;
      b2 += u2 * y;
      b3 += u3 * y;
    }
    scores[sa + t] = a0;
    scores[sa + t + 1] = a1;
    scores[sa + t + 2] = a2;
    scores[sa + t + 3] = a3;
    scores[sb + t] = b0;
    scores[sb + t + 1] = b1;
    scores[sb + t + 2] = b2;
    scores[sb + t + 3] = b3;
  }
  for (; t < r1; t++) {
    const o = rows[t] * f;
    let a = 0;
    let b = 0;
    for (let c = 0; c < f; c++) {
      const u = U[o + c];
      a += u * delta[da + c];
      b += u * delta[db + c];
    }
    scores[sa + t] = a;
    scores[sb + t] = b;
  }
}

/** scores[at + t] = U[rows[t]] . delta[d..d+f) for t in [r0, r1), summed over the features in order, four rows at a time. */
export function scoreRows(U: Float64Array, f: number, rows: Int32Array, r0: number, r1: number, delta: Float64Array, d: number, scores: Float64Array, at: number): void {
  let t = r0;
  for (; t + 4 <= r1; t += 4) {
    const o0 = rows[t] * f;
    const o1 = rows[t + 1] * f;
    const o2 = rows[t + 2] * f;
    const o3 = rows[t + 3] * f;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let c = 0; c < f; c++) {
      const dc = delta[d + c];
      s0 += U[o0 + c] * dc;
      s1 += U[o1 + c] * dc;
      s2 += U[o2 + c] * dc;
      s3 += U[o3 + c] * dc;
    }
    scores[at + t] = s0;
    scores[at + t + 1] = s1;
    scores[at + t + 2] = s2;
    scores[at + t + 3] = s3;
  }
  for (; t < r1; t++) {
    const o = rows[t] * f;
    let s = 0;
    for (let c = 0; c < f; c++) s += U[o + c] * delta[d + c];
    scores[at + t] = s;
  }
}

/**
 * Standardises the columns of the row-major N x f matrix X in place: (x - mean) / sd, sd with
 * N - 1 (1 for a constant column). Means and squared deviations are summed row by row (each
 * column's sums in the order of a column-by-column walk, without its cache misses).
 */
export function standardiseColumns(X: Float64Array, N: number, f: number): void {
  const mu = new Float64Array(f);
  const sd = new Float64Array(f);
  for (let i = 0; i < N; i++) {
    const o = i * f;
    for (let c = 0; c < f; c++) mu[c] += X[o + c];
  }
  for (let c = 0; c < f; c++) mu[c] /= N;
  for (let i = 0; i < N; i++) {
    const o = i * f;
    for (let c = 0; c < f; c++) {
      const d = X[o + c] - mu[c];
      sd[c] += d ** 2;
    }
  }
  for (let c = 0; c < f; c++) sd[c] = Math.sqrt(sd[c] / Math.max(1, N - 1)) || 1;
  for (let i = 0; i < N; i++) {
    const o = i * f;
    for (let c = 0; c < f; c++) X[o + c] = (X[o + c] - mu[c]) / sd[c];
  }
}

/** Column sums of the row-major N x f matrix U, row by row from 0. */
export function columnSums(U: Float64Array, N: number, f: number): Float64Array {
  const total = new Float64Array(f);
  for (let i = 0; i < N; i++) {
    const o = i * f;
    for (let c = 0; c < f; c++) total[c] += U[o + c];
  }
  return total;
}

/** sum -= U[i] for each row i of `rows`, in their order. */
export function subtractRows(U: Float64Array, f: number, rows: Int32Array, sum: Float64Array): void {
  for (let t = 0; t < rows.length; t++) {
    const o = rows[t] * f;
    for (let c = 0; c < f; c++) sum[c] -= U[o + c];
  }
}

/**
 * Adds to sum[at..at+f) the rows of U among rows[r0..r1) labelled Y, in ascending order, eight
 * per pass over the sums (left to right: the same additions as one row at a time); returns
 * their count.
 */
export function addYRows(U: Float64Array, f: number, rows: Int32Array, r0: number, r1: number, isY: Uint8Array, yRows: Int32Array, sum: Float64Array, at: number): number {
  let m = 0;
  // Every row written, the count advanced by its label (1 for any nonzero byte): no branch on
  // the labels, which a relabelling makes random.
  for (let t = r0; t < r1; t++) {
    const r = rows[t];
    yRows[m] = r;
    m += (isY[r] + 255) >> 8;
  }
  let t = 0;
  for (; t + 8 <= m; t += 8) {
    const o0 = yRows[t] * f;
    const o1 = yRows[t + 1] * f;
    const o2 = yRows[t + 2] * f;
    const o3 = yRows[t + 3] * f;
    const o4 = yRows[t + 4] * f;
    const o5 = yRows[t + 5] * f;
    const o6 = yRows[t + 6] * f;
    const o7 = yRows[t + 7] * f;
    for (let c = 0; c < f; c++) sum[at + c] = sum[at + c] + U[o0 + c] + U[o1 + c] + U[o2 + c] + U[o3 + c] + U[o4 + c] + U[o5 + c] + U[o6 + c] + U[o7 + c];
  }
  for (; t + 4 <= m; t += 4) {
    const o0 = yRows[t] * f;
    const o1 = yRows[t + 1] * f;
    const o2 = yRows[t + 2] * f;
    const o3 = yRows[t + 3] * f;
    for (let c = 0; c < f; c++) sum[at + c] = sum[at + c] + U[o0 + c] + U[o1 + c] + U[o2 + c] + U[o3 + c];
  }
  for (; t < m; t++) {
    const o = yRows[t] * f;
    for (let c = 0; c < f; c++) sum[at + c] += U[o + c];
  }
  return m;
}

/** dst[d + c] += src[s + c] for c < f. */
export function addInto(dst: Float64Array, d: number, src: Float64Array, s: number, f: number): void {
  for (let c = 0; c < f; c++) dst[d + c] += src[s + c];
}

/**
 * A fold's discriminant in whitened space: the training rows' Y mean less their X mean, from the
 * draw's Y total less the fold's Y sum (sy, over ny rows) and the fold's training sum (over
 * ny + nx rows): out[o + c] = sy / ny - (train[c] - sy) / nx.
 */
export function meanDifference(totalY: Float64Array, t: number, foldY: Float64Array, s: number, train: Float64Array, ny: number, nx: number, out: Float64Array, o: number, f: number): void {
  for (let c = 0; c < f; c++) {
    const sy = totalY[t + c] - foldY[s + c];
    out[o + c] = sy / ny - (train[c] - sy) / nx;
  }
}

/**
 * crossProductUpper on the WebAssembly kernel's memory (classifier-wasm.ts): X = wasm.U, the
 * result in wasm.cov. The same sums in the same order (each entry over the rows in order from
 * 0), 4 x 4 entries per call over a chunk of rows that stays in cache; the last f mod 4 columns
 * and rows here.
 */
export function crossProductUpperWasm(wasm: { U: Float64Array; cov: Float64Array; covTile(i0: number, rows: number, a: number, c: number): void }, N: number, f: number): Float64Array {
  const X = wasm.U;
  const cov = wasm.cov;
  cov.fill(0);
  const R = Math.max(16, Math.min(N, Math.floor(32768 / Math.max(1, f))));
  for (let i0 = 0; i0 < N; i0 += R) {
    const r = Math.min(R, N - i0);
    let a = 0;
    for (; a + 4 <= f; a += 4) {
      let c = a;
      for (; c + 4 <= f; c += 4) wasm.covTile(i0, r, a, c);
      for (; c < f; c++) for (let j = 0; j < 4; j++) entrySum(X, f, i0, r, a + j, c, cov);
    }
    for (; a < f; a++) for (let c = a; c < f; c++) entrySum(X, f, i0, r, a, c, cov);
  }
  return cov;
}

/** cov[a f + c] += X[i][a] X[i][c] over rows i0..i0+r-1 in order. */
function entrySum(X: Float64Array, f: number, i0: number, r: number, a: number, c: number, cov: Float64Array): void {
  let s = cov[a * f + c];
  for (let t = 0; t < r; t++) {
    const o = (i0 + t) * f;
    s += X[o + a] * X[o + c];
  }
  cov[a * f + c] = s;
}

/**
 * forwardSolveRows on the WebAssembly kernel's memory (classifier-wasm.ts), B = wasm.U: the sums
 * over k < i of two unknowns for four rows per call (f64x2, in order), each unknown then
 * finished here as forwardSolveRows does; an odd last unknown and the last N mod 4 rows in JS.
 */
export function forwardSolveRowsWasm(wasm: { U: Float64Array; lpair: Float64Array; solvePair(r: number, i: number): void }, L: Float64Array, p: number, rows: number): void {
  const B = wasm.U;
  const lp = wasm.lpair;
  for (let i = 0; i + 2 <= p; i += 2)
    for (let k = 0; k < i; k++) {
      lp[((i >> 1) * p + k) * 2] = L[i * p + k];
      lp[((i >> 1) * p + k) * 2 + 1] = L[(i + 1) * p + k];
    }
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    let i = 0;
    for (; i + 2 <= p; i += 2) {
      wasm.solvePair(r, i);
      finishPair(B, L, p, r * p, i);
      finishPair(B, L, p, (r + 1) * p, i);
      finishPair(B, L, p, (r + 2) * p, i);
      finishPair(B, L, p, (r + 3) * p, i);
    }
    if (i < p) for (let q = r; q < r + 4; q++) solveOne(B, L, p, q * p, i);
  }
  for (; r < rows; r++) for (let i = 0; i < p; i++) solveOne(B, L, p, r * p, i);
}

/** Unknowns i and i + 1 of the row at o, their sums over k < i done: u_i = s / L_ii, u_i+1 = (t - L_i+1,i u_i) / L_i+1,i+1. */
function finishPair(B: Float64Array, L: Float64Array, p: number, o: number, i: number): void {
  const u = B[o + i] / L[i * p + i];
  B[o + i] = u;
  B[o + i + 1] = (B[o + i + 1] - L[(i + 1) * p + i] * u) / L[(i + 1) * p + i + 1];
}

/** Unknown i of the row at o: (b_i - L_i0 u_0 - ... - L_i,i-1 u_i-1) / L_ii. */
function solveOne(B: Float64Array, L: Float64Array, p: number, o: number, i: number): void {
  let s = B[o + i];
  const li = i * p;
  for (let k = 0; k < i; k++) s -= L[li + k] * B[o + k];
  B[o + i] = s / L[li + i];
}

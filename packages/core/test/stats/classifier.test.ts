import { describe, expect, it } from 'vitest';
import { countU, domainClassifierTest, foldStats, foldStatsWork, permutationPValues, type DomainClassifierOptions, type DomainClassifierResult } from '../../src/stats/classifier.js';
import { addYRows, crossProductUpper, crossProductUpperWasm, forwardSolveRows, forwardSolveRowsWasm, scoreRows, scoreRows2, standardiseColumns } from '../../src/stats/classifier-kernels.js';
import { classifierWasm, setClassifierWasm } from '../../src/stats/classifier-wasm.js';
import { cholesky, forwardSolveInPlace } from '../../src/stats/matrix.js';
import { Mulberry32, gaussian, shuffleInPlace } from '../../src/stats/rng.js';
import type { Matrix } from '../../src/monitors/types.js';

// The classifier's figures feed the embedding monitor's decision, whose power was measured
// (bench/power.ts): a speed-up must leave every figure bit-identical. Reference: the
// straightforward draw-by-draw walk (one cross-validation per relabelling, row by row), as the
// classifier was before its kernels were blocked.

function data(n: number, m: number, f: number, seed: number, shift: number): { x: Matrix; y: Matrix } {
  const rng = new Mulberry32(seed);
  const mix = Float64Array.from({ length: 3 * f }, () => gaussian(rng));
  const make = (rows: number, sh: number): Matrix => {
    const d = new Float64Array(rows * f);
    for (let i = 0; i < rows; i++) {
      const z = [gaussian(rng), gaussian(rng), gaussian(rng)];
      for (let c = 0; c < f; c++) {
        let v = 0.5 * gaussian(rng) + (c === 1 ? 5 : 0) + (sh && i % 8 === 0 && c % 3 === 0 ? sh : 0);
        for (let k = 0; k < 3; k++) v += 0.3 * z[k] * mix[k * f + c];
        d[i * f + c] = v;
      }
    }
    return { rows, cols: f, data: d };
  };
  return { x: make(n, 0), y: make(m, shift) };
}

function relabellings(n: number, m: number, B: number, seed: number): Uint8Array[] {
  const rng = new Mulberry32(seed);
  const base = new Uint8Array(n + m).fill(1, n);
  return Array.from({ length: B }, () => shuffleInPlace(Uint8Array.from(base), rng));
}

const plain = (r: DomainClassifierResult) => ({ ...r, permutation: { top: Array.from(r.permutation.top), auc: Array.from(r.permutation.auc) } });

describe('domain classifier: bit-identical to the draw-by-draw walk', () => {
  const cases: [string, number, number, number, number, Partial<DomainClassifierOptions>][] = [
    ['shared relabellings, as the embedding monitor calls it', 150, 150, 24, 0.8, { top: 0.05, topMinRows: 4, ridge: 2 }],
    ['odd sizes and dimension, drawn shuffles, min-p of both statistics', 103, 77, 13, 1, { statistic: 'both', fpr: 0.2 }],
    ['rows and dimension above the kernels\' tile and chunk sizes, no shift', 700, 600, 131, 0, { statistic: 'auc', folds: 4 }],
    ['a handful of rows (folds with one class only)', 5, 4, 3, 1, { folds: 3 }],
    ['one feature', 40, 33, 1, 1, {}],
  ];
  for (const wasm of [true, false])
    for (const [name, n, m, f, shift, extra] of cases)
      it(`${name}${wasm ? '' : ' (JS kernels)'}`, () => {
        const { x, y } = data(n, m, f, n + m + f, shift);
        // 39 draws: a full block of 20 and an odd remainder
        const B = 38;
        const labelings = name.startsWith('shared') ? relabellings(n, m, B, 9) : undefined;
        const seeded = (): DomainClassifierOptions => ({ permutations: B, rng: new Mulberry32(17), labelings, ...extra });
        const a = seeded();
        const b = seeded();
        setClassifierWasm(wasm);
        try {
          expect(plain(domainClassifierTest(x, y, a))).toStrictEqual(plain(referenceClassifierTest(x, y, b)));
        } finally {
          setClassifierWasm(true);
        }
        // the same draws taken from the generator: both leave it in the same state
        expect(a.rng.next()).toBe(b.rng.next());
      });
});

// The statistics are rank-based and may hide a last-bit change of a score: the kernels
// themselves are compared value by value with the row-by-row walks they replace.
describe('classifier kernels: the same sums in the same order', () => {
  const same = (a: Float64Array, b: Float64Array) => {
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect([i, a[i]]).toEqual([i, b[i]]);
  };
  for (const [N, f] of [
    [301, 131],
    [9, 5],
    [64, 1],
  ])
    it(`${N} rows x ${f} features`, () => {
      const X = Float64Array.from(data(N, 0, f, N + f, 0).x.data);
      standardiseColumns(X, N, f);
      const cov = new Float64Array(f * f);
      for (let i = 0; i < N; i++) for (let a = 0; a < f; a++) for (let c = a; c < f; c++) cov[a * f + c] += X[i * f + a] * X[i * f + c];
      const fast = crossProductUpper(X, N, f);
      let differ = 0;
      for (let a = 0; a < f; a++) for (let c = a; c < f; c++) if (!Object.is(fast[a * f + c], cov[a * f + c])) differ++;
      expect(differ).toBe(0);
      for (let a = 0; a < f; a++)
        for (let c = a; c < f; c++) {
          const v = cov[a * f + c] / (N - 1) + (a === c ? 0.5 : 0);
          cov[a * f + c] = v;
          cov[c * f + a] = v;
        }
      const L = cholesky(cov, f);
      const U = Float64Array.from(X);
      for (let r = 0; r < N; r++) forwardSolveInPlace(L, f, U.subarray(r * f, (r + 1) * f));
      const V = Float64Array.from(X);
      forwardSolveRows(L, f, V, N);
      same(V, U);
      const rows = Int32Array.from({ length: N }, (_, i) => (i * 7) % N);
      const delta = Float64Array.from({ length: 2 * f }, (_, c) => Math.sin(c + 1));
      const dot = new Float64Array(2 * N);
      for (let t = 0; t < N; t++)
        for (let d = 0; d < 2; d++) {
          let s = 0;
          for (let c = 0; c < f; c++) s += U[rows[t] * f + c] * delta[d * f + c];
          dot[d * N + t] = s;
        }
      const two = new Float64Array(2 * N);
      scoreRows2(U, f, rows, 0, N >> 1, delta, 0, f, two, 0, N);
      scoreRows2(U, f, rows, N >> 1, N, delta, 0, f, two, 0, N);
      same(two, dot);
      const one = new Float64Array(2 * N);
      scoreRows(U, f, rows, 0, N, delta, 0, one, 0);
      scoreRows(U, f, rows, 0, N, delta, f, one, N);
      same(one, dot);
      const isY = Uint8Array.from({ length: N }, (_, i) => (i % 3 === 0 || i % 5 === 0 ? 1 : 0));
      const sorted = Int32Array.from(rows).sort();
      const sumY = new Float64Array(f);
      let m = 0;
      for (const i of sorted)
        if (isY[i]) {
          m++;
          for (let c = 0; c < f; c++) sumY[c] += U[i * f + c];
        }
      const chunked = new Float64Array(f + 3);
      const buf = new Int32Array(N);
      const half = N >> 1;
      expect(addYRows(U, f, sorted, 0, half, isY, buf, chunked, 3) + addYRows(U, f, sorted, half, N, isY, buf, chunked, 3)).toBe(m);
      same(chunked.subarray(3), sumY);
    });
});

describe('classifier WebAssembly kernels: the same sums in the same order as the JS kernels', () => {
  for (const [N, f] of [
    [301, 131],
    [40, 64],
    [12, 1],
  ])
    it(`${N} rows x ${f} features`, () => {
      const L = Math.ceil(N / 3);
      const w = classifierWasm(N, f, L, 4, 3);
      // Node 20 has WebAssembly SIMD: a module that fails to build must fail here, not fall back silently.
      expect(w, 'the classifier WebAssembly module').not.toBeNull();
      if (!w) return;
      for (let i = 0; i < N * f; i++) w.U[i] = Math.sin(i * 1.3) * 3 + (i % 7) / 3;
      const U = Float64Array.from(w.U);
      const rows = Int32Array.from({ length: L }, (_, i) => (i * 7 + 3) % N);
      w.rowIdx.set(rows, L);
      const delta = Float64Array.from({ length: 2 * f }, (_, i) => Math.cos(i * 0.7));
      for (let c = 0; c < f; c++) {
        w.dpair[(f + c) * 2] = delta[c];
        w.dpair[(f + c) * 2 + 1] = delta[f + c];
      }
      const half = L >> 1;
      w.score(L, half, 1, 0);
      w.score(L + half, L - half, 1, half);
      const ref = new Float64Array(2 * L);
      scoreRows(U, f, rows, 0, L, delta, 0, ref, 0);
      scoreRows(U, f, rows, 0, L, delta, f, ref, L);
      let differ = 0;
      for (let t = 0; t < L; t++) for (let lane = 0; lane < 2; lane++) if (!Object.is(w.out[(L + t) * 2 + lane], ref[lane * L + t])) differ++;
      // four draws: pair slots 0 and 1 (the second pair swapped)
      for (let c = 0; c < f; c++) {
        w.dpair[c * 2] = delta[c];
        w.dpair[c * 2 + 1] = delta[f + c];
        w.dpair[(f + c) * 2] = delta[f + c];
        w.dpair[(f + c) * 2 + 1] = delta[c];
      }
      w.out.fill(0);
      w.score4(L, half, 0, 0);
      w.score4(L + half, L - half, 0, half);
      for (let t = 0; t < L; t++)
        for (let lane = 0; lane < 2; lane++) {
          if (!Object.is(w.out[t * 2 + lane], ref[lane * L + t])) differ++;
          if (!Object.is(w.out[(L + t) * 2 + lane], ref[(1 - lane) * L + t])) differ++;
        }
      const ys = Int32Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 === 0 || i % 5 === 0);
      const m = Math.min(ys.length, L);
      w.yIdx.set(ys.subarray(0, m));
      const at = 2 * f;
      for (let c = 0; c < f; c++) w.sumY[at + c] = c / 10;
      w.sumRows(m, at);
      if (f & 1) for (let t = 0; t < m; t++) w.sumY[at + f - 1] += U[ys[t] * f + f - 1];
      const sum = Float64Array.from({ length: f }, (_, c) => c / 10);
      const isY = new Uint8Array(N);
      for (let t = 0; t < m; t++) isY[ys[t]] = 1;
      addYRows(U, f, Int32Array.from({ length: N }, (_, i) => i), 0, N, isY, new Int32Array(N), sum, 0);
      for (let c = 0; c < f; c++) if (!Object.is(w.sumY[at + c], sum[c])) differ++;
      const js = crossProductUpper(U, N, f);
      const cov = crossProductUpperWasm(w, N, f);
      for (let a = 0; a < f; a++) for (let c = a; c < f; c++) if (!Object.is(cov[a * f + c], js[a * f + c])) differ++;
      const spd = new Float64Array(f * f);
      for (let a = 0; a < f; a++)
        for (let c = a; c < f; c++) spd[a * f + c] = spd[c * f + a] = js[a * f + c] / N + (a === c ? 0.5 : 0);
      const chol = cholesky(spd, f);
      forwardSolveRows(chol, f, U, N);
      forwardSolveRowsWasm(w, chol, f, N);
      for (let i = 0; i < N * f; i++) if (!Object.is(w.U[i], U[i])) differ++;
      expect(differ).toBe(0);
    });
});

describe('fold statistics: the counts of sorting each class apart and merging', () => {
  /** The straightforward fold statistics (as the reference classifier below): split, sort each class, merge from the top, countU. */
  const referenceFoldStats = (scores: Float64Array, at: number, rows: Int32Array, isY: Uint8Array, topK: number, fpr: number, acc: Float64Array, a: number): void => {
    const pos: number[] = [];
    const neg: number[] = [];
    for (let t = 0; t < rows.length; t++) (isY[rows[t]] ? pos : neg).push(scores[at + t]);
    const posSorted = Float64Array.from(pos).sort();
    const negSorted = Float64Array.from(neg).sort();
    let ip = pos.length - 1;
    let ineg = neg.length - 1;
    let topY = 0;
    acc[a + 5] += topK;
    while (topK-- > 0) {
      if (ineg < 0 || (ip >= 0 && posSorted[ip] >= negSorted[ineg])) {
        ip--;
        topY++;
      } else ineg--;
    }
    acc[a + 4] += topY;
    if (pos.length === 0 || neg.length === 0) return;
    const cut = negSorted[Math.min(neg.length - 1, Math.max(0, Math.ceil((1 - fpr) * neg.length) - 1))];
    let above = 0;
    for (let t = pos.length - 1; t >= 0 && posSorted[t] > cut; t--) above++;
    acc[a + 2] += above;
    acc[a + 3] += pos.length;
    acc[a] += countU(posSorted, negSorted);
    acc[a + 1] += pos.length * neg.length;
  };

  it('equal on random folds (JS and WebAssembly): ties within and across classes, odd sizes, one class empty, topK beyond a class and beyond the fold, extreme ranges', () => {
    const rng = new Mulberry32(2024);
    const N = 400;
    const work = foldStatsWork(N);
    // The module's version reads the scores in one lane of a pair slot of out, the rows from rowIdx, the labels from draw slot 0.
    setClassifierWasm(true);
    const w = classifierWasm(N, 1, 160, 1, 1);
    expect(w?.foldStats).toBeTruthy();
    const kinds = ['continuous', 'three values', 'ten values', 'signed zeros', 'all equal', 'huge range', 'subnormal steps'] as const;
    let cases = 0;
    for (let rep = 0; rep < 3000; rep++) {
      const kind = kinds[rep % kinds.length];
      const len = rep % 50 === 0 ? 0 : rep % 3 === 0 ? 1 + Math.floor(rng.next() * 9) : Math.floor(rng.next() * 160);
      // Rows: a random subset of N pooled rows, in ascending order as the classifier's folds.
      const all = shuffleInPlace(Int32Array.from({ length: N }, (_, i) => i), rng);
      const rows = Int32Array.from(all.subarray(0, len)).sort();
      const yShare = rep % 11 === 0 ? 0 : rep % 13 === 0 ? 1 : rng.next();
      // Labels: 0/1, in some folds any nonzero byte for Y.
      const yByte = rep % 17 === 0 ? () => 1 + Math.floor(rng.next() * 255) : () => 1;
      const isY = Uint8Array.from({ length: N }, () => (rng.next() < yShare ? yByte() : 0));
      const at = Math.floor(rng.next() * 7);
      const scores = new Float64Array(at + len + 3).fill(123);
      for (let t = 0; t < len; t++) {
        const g = gaussian(rng);
        scores[at + t] =
          kind === 'continuous' ? g
          : kind === 'three values' ? Math.round(g)
          : kind === 'ten values' ? Math.round(g * 2) / 2
          : kind === 'signed zeros' ? [0, -0, 1, -1][Math.floor(rng.next() * 4)]
          : kind === 'all equal' ? 0.25
          : kind === 'huge range' ? Math.round(g) * 1e308
          : Math.round(g * 3) * 5e-324;
      }
      const topK = Math.floor(rng.next() * (len + 4));
      const fpr = [0.1, 0.05, 0.2, 0.5, 0.9, 0.999][rep % 6];
      const acc = Float64Array.from({ length: 8 }, () => Math.round(rng.next() * 100) / 4);
      const expected = Float64Array.from(acc);
      const accWasm = Float64Array.from(acc);
      foldStats(scores, at, rows, isY, work, topK, fpr, acc, 1);
      referenceFoldStats(scores, at, rows, isY, topK, fpr, expected, 1);
      expect(Array.from(acc)).toStrictEqual(Array.from(expected));
      if (w?.foldStats) {
        const lane = rep & 1;
        w.out.fill(-7);
        for (let t = 0; t < len; t++) w.out[2 * t + lane] = scores[at + t];
        w.rowIdx.set(rows);
        w.labels.set(isY);
        w.foldStats.setFpr(fpr);
        w.foldStats.run(0, lane, 0, 0, len, topK, accWasm, 1);
        expect(Array.from(accWasm)).toStrictEqual(Array.from(expected));
      }
      cases++;
    }
    expect(cases).toBe(3000);
  });
});

function referenceClassifierTest(x: Matrix, y: Matrix, opts: DomainClassifierOptions): DomainClassifierResult {
  if (x.cols !== y.cols) throw new RangeError('samples differ in dimension');
  const f = x.cols;
  const n = x.rows;
  const N = n + y.rows;
  const K = Math.max(2, Math.min(opts.folds ?? 5, Math.floor(N / 2)));

  // Pooled, standardised features.
  const X = new Float64Array(N * f);
  X.set(x.data, 0);
  X.set(y.data, n * f);
  // Column means and standard deviations, summed row by row (each column's sums in the
  // same order as a column-by-column walk, without its cache misses).
  const mu = new Float64Array(f);
  const sd = new Float64Array(f);
  for (let i = 0; i < N; i++) for (let c = 0; c < f; c++) mu[c] += X[i * f + c];
  for (let c = 0; c < f; c++) mu[c] /= N;
  for (let i = 0; i < N; i++)
    for (let c = 0; c < f; c++) {
      const d = X[i * f + c] - mu[c];
      sd[c] += d ** 2;
    }
  for (let c = 0; c < f; c++) sd[c] = Math.sqrt(sd[c] / Math.max(1, N - 1)) || 1;
  for (let i = 0; i < N; i++) for (let c = 0; c < f; c++) X[i * f + c] = (X[i * f + c] - mu[c]) / sd[c];

  // Folds: a random partition of the pooled rows (label-free).
  const order = shuffleInPlace(Int32Array.from({ length: N }, (_, i) => i), opts.rng);
  const fold = new Int32Array(N);
  order.forEach((row, pos) => (fold[row] = pos % K));
  const testRows: Int32Array[] = [];
  for (let k = 0; k < K; k++) testRows.push(Int32Array.from(order.filter((_, pos) => pos % K === k)));

  // One regularised covariance of all pooled rows, S + ridge I with ridge 0.1 + f / N
  // (label-free: permutations leave it unchanged, so the test stays exact). Rows are
  // whitened once, u = L^-1 x with L L^T = S + ridge I; the discriminant of a fold,
  // w = (S + ridge I)^-1 (mean_Y - mean_X) over its training rows, scores a row
  // x . w = u . (difference of the whitened training means). A permutation then costs
  // O((n+m) f); the fit costs O((n+m) f^2) once.
  const cov = new Float64Array(f * f);
  // Four rows per pass over cov: the same sums in the same order (row by row) with a quarter
  // of the loads and stores of cov.
  let i4 = 0;
  for (; i4 + 4 <= N; i4 += 4) {
    const o0 = i4 * f;
    const o1 = o0 + f;
    const o2 = o1 + f;
    const o3 = o2 + f;
    for (let a = 0; a < f; a++) {
      const x0 = X[o0 + a];
      const x1 = X[o1 + a];
      const x2 = X[o2 + a];
      const x3 = X[o3 + a];
      const ra = a * f;
      for (let c = a; c < f; c++) cov[ra + c] = cov[ra + c] + x0 * X[o0 + c] + x1 * X[o1 + c] + x2 * X[o2 + c] + x3 * X[o3 + c];
    }
  }
  for (; i4 < N; i4++) {
    const o = i4 * f;
    for (let a = 0; a < f; a++) {
      const xa = X[o + a];
      if (xa === 0) continue;
      const ra = a * f;
      for (let c = a; c < f; c++) cov[ra + c] += xa * X[o + c];
    }
  }
  const ridge = opts.ridge ?? 0.1 + f / N;
  for (let a = 0; a < f; a++)
    for (let c = a; c < f; c++) {
      const v = cov[a * f + c] / Math.max(1, N - 1) + (a === c ? ridge : 0);
      cov[a * f + c] = v;
      cov[c * f + a] = v;
    }
  const L = cholesky(cov, f);
  const U = Float64Array.from(X);
  for (let r = 0; r < N; r++) forwardSolveInPlace(L, f, U.subarray(r * f, (r + 1) * f));
  const total = new Float64Array(f);
  for (let i = 0; i < N; i++) for (let c = 0; c < f; c++) total[c] += U[i * f + c];
  const trainSum: Float64Array[] = [];
  const nTrain: number[] = [];
  for (let k = 0; k < K; k++) {
    const sum = Float64Array.from(total);
    for (const i of testRows[k]) for (let c = 0; c < f; c++) sum[c] -= U[i * f + c];
    trainSum.push(sum);
    nTrain.push(N - testRows[k].length);
  }
  const foldSumY = new Float64Array(K * f);
  const foldNY = new Int32Array(K);
  const delta = new Float64Array(f);
  const fpr = opts.fpr ?? 0.1;
  const topFraction = opts.top ?? fpr;
  if (!(fpr > 0 && fpr < 1) || !(topFraction > 0 && topFraction < 1)) throw new RangeError(`fpr (${fpr}) and top (${topFraction}) must lie strictly between 0 and 1`);
  const largestFold = Math.max(...testRows.map((r) => r.length));
  const posBuf = new Float64Array(largestFold);
  const negBuf = new Float64Array(largestFold);
  // Each fold's rows in ascending order, and a buffer for those labelled Y.
  const foldRows = testRows.map((r) => Int32Array.from(r).sort());
  const yRows = new Int32Array(largestFold);
  /** Out-of-fold AUC, and the share of Y test rows scoring above the X test rows' (1 - fpr) quantile. */
  const cvStats = (isY: Uint8Array): { auc: number; tpr: number; top: number } => {
    foldSumY.fill(0);
    foldNY.fill(0);
    const totalY = new Float64Array(f);
    let nY = 0;
    // Each fold's Y rows in ascending order (as a walk over all rows adds them), four per pass
    // over the fold's sums: the same additions in the same order, a quarter of the loads and stores.
    for (let k = 0; k < K; k++) {
      const rows = foldRows[k];
      let m = 0;
      for (let t = 0; t < rows.length; t++) if (isY[rows[t]]) yRows[m++] = rows[t];
      foldNY[k] = m;
      nY += m;
      const ks = k * f;
      let t = 0;
      for (; t + 4 <= m; t += 4) {
        const o0 = yRows[t] * f;
        const o1 = yRows[t + 1] * f;
        const o2 = yRows[t + 2] * f;
        const o3 = yRows[t + 3] * f;
        for (let c = 0; c < f; c++) foldSumY[ks + c] = foldSumY[ks + c] + U[o0 + c] + U[o1 + c] + U[o2 + c] + U[o3 + c];
      }
      for (; t < m; t++) {
        const o = yRows[t] * f;
        for (let c = 0; c < f; c++) foldSumY[ks + c] += U[o + c];
      }
    }
    for (let k = 0; k < K; k++) for (let c = 0; c < f; c++) totalY[c] += foldSumY[k * f + c];
    let uSum = 0;
    let pairs = 0;
    let tprHits = 0;
    let tprRows = 0;
    let topY = 0;
    let topAll = 0;
    for (let k = 0; k < K; k++) {
      const ny = nY - foldNY[k];
      const nx = nTrain[k] - ny;
      if (ny === 0 || nx === 0) continue;
      for (let c = 0; c < f; c++) {
        const sy = totalY[c] - foldSumY[k * f + c];
        delta[c] = sy / ny - (trainSum[k][c] - sy) / nx;
      }
      const rows = testRows[k];
      let np = 0;
      let nn = 0;
      // Four rows at a time: four independent sums (each in the order of one row alone) keep
      // the floating-point unit busy where one sum waits on its previous addition.
      let t = 0;
      for (; t + 4 <= rows.length; t += 4) {
        const o0 = rows[t] * f;
        const o1 = rows[t + 1] * f;
        const o2 = rows[t + 2] * f;
        const o3 = rows[t + 3] * f;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let c = 0; c < f; c++) {
          const dc = delta[c];
          s0 += U[o0 + c] * dc;
          s1 += U[o1 + c] * dc;
          s2 += U[o2 + c] * dc;
          s3 += U[o3 + c] * dc;
        }
        if (isY[rows[t]]) posBuf[np++] = s0;
        else negBuf[nn++] = s0;
        if (isY[rows[t + 1]]) posBuf[np++] = s1;
        else negBuf[nn++] = s1;
        if (isY[rows[t + 2]]) posBuf[np++] = s2;
        else negBuf[nn++] = s2;
        if (isY[rows[t + 3]]) posBuf[np++] = s3;
        else negBuf[nn++] = s3;
      }
      for (; t < rows.length; t++) {
        const i = rows[t];
        const o = i * f;
        let s = 0;
        for (let c = 0; c < f; c++) s += U[o + c] * delta[c];
        if (isY[i]) posBuf[np++] = s;
        else negBuf[nn++] = s;
      }
      const negSorted = negBuf.subarray(0, nn).sort();
      const posSorted = posBuf.subarray(0, np).sort();
      // Top share: Y rows among the fold's top-scored `top` share of test rows (merge from the top).
      let topK = Math.min(rows.length, Math.max(1, opts.topMinRows ?? 1, Math.round(topFraction * rows.length)));
      let ip = posSorted.length - 1;
      let ineg = negSorted.length - 1;
      topAll += topK;
      while (topK-- > 0) {
        if (ineg < 0 || (ip >= 0 && posSorted[ip] >= negSorted[ineg])) {
          ip--;
          topY++;
        } else ineg--;
      }
      if (np === 0 || nn === 0) continue;
      // Y rows scoring above X's (1 - fpr) quantile in this fold.
      const cut = negSorted[Math.min(negSorted.length - 1, Math.max(0, Math.ceil((1 - fpr) * negSorted.length) - 1))];
      let above = 0;
      for (let t = posSorted.length - 1; t >= 0 && posSorted[t] > cut; t--) above++;
      tprHits += above;
      tprRows += posSorted.length;
      uSum += countU(posSorted, negSorted);
      pairs += np * nn;
    }
    return { auc: pairs ? uSum / pairs : 0.5, tpr: tprRows ? tprHits / tprRows : 0, top: topAll ? topY / topAll : 0 };
  };

  const labels = new Uint8Array(N);
  for (let i = n; i < N; i++) labels[i] = 1;
  const observed = cvStats(labels);
  const B = opts.labelings ? opts.labelings.length : opts.permutations;
  const tops = new Float64Array(B + 1);
  const aucs = new Float64Array(B + 1);
  tops[0] = observed.top;
  aucs[0] = observed.auc;
  for (let b = 1; b <= B; b++) {
    if (opts.labelings) {
      if (opts.labelings[b - 1].length !== N) throw new RangeError(`labeling ${b - 1} has ${opts.labelings[b - 1].length} entries, expected ${N}`);
      labels.set(opts.labelings[b - 1]);
    } else shuffleInPlace(labels, opts.rng);
    const st = cvStats(labels);
    tops[b] = st.top;
    aucs[b] = st.auc;
  }
  const { p, pTop, pAuc } = permutationPValues(tops, aucs, opts.statistic ?? 'top');
  return { ...observed, fpr, top_fraction: topFraction, p_value: p, p_top: pTop[0], p_auc: pAuc[0], folds: K, permutations: B, permutation: { top: tops, auc: aucs } };
}


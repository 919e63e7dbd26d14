import { describe, expect, it } from 'vitest';
import { medianDistance, mmdKernelSinCos, mmdPermutationTest, mmdPermutationTestJs, mmdWasmReady, type MmdResult } from '../../src/stats/mmd.js';
import { Mulberry32, gaussian, randInt } from '../../src/stats/rng.js';
import type { Rng } from '../../src/monitors/types.js';
import type { Matrix } from '../../src/monitors/types.js';

function cloud(n: number, d: number, rng: Mulberry32, shift = 0, scale = 1): Matrix {
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = Math.fround(gaussian(rng) * scale + (j % 2 ? shift : 0));
  return { rows: n, cols: d, data };
}

/** Random 0/1 relabellings of n + m rows with m ones. */
function labelings(n: number, m: number, count: number, rng: Mulberry32): Uint8Array[] {
  return Array.from({ length: count }, () => {
    const lab = new Uint8Array(n + m).fill(1, n);
    for (let i = n + m - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      const t = lab[i];
      lab[i] = lab[j];
      lab[j] = t;
    }
    return lab;
  });
}

function expectIdentical(a: MmdResult, b: MmdResult): void {
  expect(a.bandwidth).toBe(b.bandwidth);
  expect(a.mmd2).toBe(b.mmd2);
  expect(a.p_value).toBe(b.p_value);
  expect(a.standardized).toBe(b.standardized);
  expect(a.permutation.length).toBe(b.permutation.length);
  let differ = 0;
  for (let i = 0; i < a.permutation.length; i++) if (!Object.is(a.permutation[i], b.permutation[i])) differ++;
  expect(differ).toBe(0);
}

describe('MMD WebAssembly kernels against the JS loops', () => {
  it('the kernels build here (else the comparisons below would compare the JS loops with themselves)', () => {
    expect(mmdWasmReady()).toBe(true);
  });

  // Shapes: equal sides (the monitor's), x or y the smaller side, row counts not a multiple
  // of four, odd D and D whose 2D features do not fill the last block, odd dimension.
  const cases = [
    { n: 300, m: 300, p: 64, D: 256, shift: 0.3, scales: [0.5, 1] },
    { n: 300, m: 300, p: 64, D: 256, shift: 0, scales: [0.5, 1] },
    { n: 57, m: 90, p: 7, D: 37, shift: 0.5, scales: undefined },
    { n: 90, m: 57, p: 7, D: 37, shift: 0.5, scales: undefined },
    { n: 41, m: 43, p: 3, D: 8, shift: 1, scales: [1] },
    { n: 120, m: 200, p: 33, D: 128, shift: 0.1, scales: undefined },
  ];

  it('relabellings given (the monitor): every statistic, p-value and permutation entry bit-identical', () => {
    for (const [k, c] of cases.entries()) {
      const rng = new Mulberry32(100 + k);
      const x = cloud(c.n, c.p, rng);
      const y = cloud(c.m, c.p, rng, c.shift);
      const labs = labelings(c.n, c.m, 120, rng);
      const opts = () => ({ permutations: 0, rng: new Mulberry32(7 + k), features: c.D, scales: c.scales, labelings: labs });
      expectIdentical(mmdPermutationTest(x, y, opts()), mmdPermutationTestJs(x, y, opts()));
    }
  });

  it('relabellings drawn (partial shuffles from the rng): bit-identical', () => {
    for (const [k, c] of cases.entries()) {
      const rng = new Mulberry32(200 + k);
      const x = cloud(c.n, c.p, rng);
      const y = cloud(c.m, c.p, rng, c.shift);
      const opts = () => ({ permutations: 99, rng: new Mulberry32(9 + k), features: c.D, scales: c.scales });
      expectIdentical(mmdPermutationTest(x, y, opts()), mmdPermutationTestJs(x, y, opts()));
    }
  });

  it('a smaller sample after a larger one (the kernel memory reused) is still identical', () => {
    const rng = new Mulberry32(5);
    const big = [cloud(400, 16, rng), cloud(380, 16, rng, 0.2)] as const;
    const small = [cloud(20, 5, rng), cloud(25, 5, rng, 0.2)] as const;
    for (const [x, y] of [big, small, big]) {
      const opts = () => ({ permutations: 49, rng: new Mulberry32(3), features: 50 });
      expectIdentical(mmdPermutationTest(x, y, opts()), mmdPermutationTestJs(x, y, opts()));
    }
  });

  it('rejects malformed relabellings on both paths', () => {
    const rng = new Mulberry32(6);
    const x = cloud(30, 4, rng);
    const y = cloud(40, 4, rng);
    const good = labelings(30, 40, 3, rng);
    const tooManyOnes = Uint8Array.from(good[0]);
    tooManyOnes[tooManyOnes.indexOf(0)] = 1;
    for (const run of [mmdPermutationTest, mmdPermutationTestJs]) {
      expect(() => run(x, y, { permutations: 0, rng: new Mulberry32(1), labelings: [good[0], new Uint8Array(5)] })).toThrow(/labeling 1 has 5 entries/);
      expect(() => run(x, y, { permutations: 0, rng: new Mulberry32(1), labelings: [good[1], tooManyOnes] })).toThrow(/labeling 1 has 41 ones/);
      // and the next call, on the same kernel memory, is unaffected
      const opts = () => ({ permutations: 0, rng: new Mulberry32(1), labelings: good });
      expectIdentical(mmdPermutationTest(x, y, opts()), mmdPermutationTestJs(x, y, opts()));
    }
  });

  it("the kernel's sine and cosine give Math.fround(Math.cos(t) * norm) and the sine exactly, wherever t is", () => {
    const rng = new Mulberry32(11);
    const f = new Float64Array(1);
    const u = new BigUint64Array(f.buffer);
    const nextTo = (x: number, ulps: number) => {
      f[0] = Math.abs(x);
      u[0] += BigInt(ulps);
      return x < 0 ? -f[0] : f[0];
    };
    const args: number[] = [];
    for (let i = 0; i < 20000; i++) {
      args.push((rng.next() - 0.5) * 16); // the dot products' range
      args.push((rng.next() - 0.5) * 400); // beyond 32 pi/2
      args.push((rng.next() - 0.5) * 4e6); // partly beyond 2^19 pi/2, left to Math.cos/Math.sin
      args.push((rng.next() - 0.5) * 1e-7 * rng.next()); // |t| < 2^-27 and around it
      const k = Math.floor(rng.next() * 129) - 64; // next to multiples of pi/2, where the reduction cancels
      args.push(nextTo((k * Math.PI) / 2, Math.floor(rng.next() * 401) - 200));
    }
    args.push(0, -0, NaN, Infinity, -Infinity, 5e-324, -5e-324, Math.PI / 4, nextTo(Math.PI / 4, 1), nextTo(Math.PI / 4, -1), Math.PI / 2, (3 * Math.PI) / 4, 0.3, 0.78125, 823549.6, 823550.1);
    for (const norm of [1 / 16, 1]) {
      const got = mmdKernelSinCos(Float64Array.from(args), norm)!;
      let differ = 0;
      args.forEach((t, i) => {
        if (!Object.is(got[2 * i], Math.fround(Math.cos(t) * norm)) || !Object.is(got[2 * i + 1], Math.fround(Math.sin(t) * norm))) differ++;
      });
      expect(differ).toBe(0);
    }
  });

});

/** medianDistance as it was with an Array and a comparator sort. */
function medianDistanceReference(m: Matrix, rng: Rng, pairs = 2000): number {
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

describe('medianDistance', () => {
  it('gives the median of the comparator sort, and draws the same pairs', () => {
    const rng = new Mulberry32(12);
    for (const [rows, cols, pairs] of [[600, 64, 2000], [7, 3, 11], [2, 5, 2.5], [1, 4, 10], [50, 2, 0]]) {
      const m = cloud(rows, cols, rng);
      const a = new Mulberry32(rows);
      const b = new Mulberry32(rows);
      expect(medianDistance(m, a, pairs)).toBe(medianDistanceReference(m, b, pairs));
      expect(a.next()).toBe(b.next());
    }
    const withNaN = cloud(40, 3, rng);
    withNaN.data[5] = NaN;
    expect(medianDistance(withNaN, new Mulberry32(1), 300)).toBe(medianDistanceReference(withNaN, new Mulberry32(1), 300));
    const identical = { rows: 10, cols: 2, data: new Float64Array(20).fill(3) };
    expect(medianDistance(identical, new Mulberry32(1))).toBe(1);
  });
});

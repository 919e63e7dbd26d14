import { describe, expect, it } from 'vitest';
import { descriptiveWasmReady, setDescriptiveWasm } from '../../src/stats/descriptive-wasm.js';
import { ksMaxPermutation, ksTwoSample } from '../../src/stats/ks.js';
import { Mulberry32, gaussian, shuffleInPlace } from '../../src/stats/rng.js';

function cloud(rows: number, cols: number, seed: number, shift = 0) {
  const rng = new Mulberry32(seed);
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = gaussian(rng) + (i % cols === 0 ? shift : 0);
  return { rows, cols, data };
}

function labelings(n: number, m: number, B: number, seed: number): Uint8Array[] {
  const rng = new Mulberry32(seed);
  const base = new Uint8Array(n + m).fill(1, n);
  return Array.from({ length: B }, () => shuffleInPlace(Uint8Array.from(base), rng));
}

/** fn's result with the SIMD kernels and with the JS loops. */
function both<T>(fn: () => T): [T, T] {
  setDescriptiveWasm(true);
  const a = fn();
  setDescriptiveWasm(false);
  try {
    return [a, fn()];
  } finally {
    setDescriptiveWasm(true);
  }
}

const plain = (v: unknown) => JSON.parse(JSON.stringify(v, (_, x) => (ArrayBuffer.isView(x) ? Array.from(x as Float64Array) : x)));

describe('descriptive kernels: the JS loops\' figures, bit for bit', () => {
  it('compile here', () => {
    expect(descriptiveWasmReady()).toBe(true);
  });

  it('ksMaxPermutation: the same statistics with ties, odd sizes and labels other than 0/1', () => {
    for (const [n, m, cols, B] of [
      [80, 70, 6, 49],
      [13, 200, 3, 16],
      [5, 4, 1, 1],
      [300, 300, 10, 200],
    ]) {
      const x = cloud(n, cols, n + cols);
      const y = cloud(m, cols, m + 1, 0.5);
      const columns = Array.from({ length: cols }, (_, k) => {
        const c = Float64Array.from({ length: n + m }, (_, i) => (i < n ? x.data[i * cols + k] : y.data[(i - n) * cols + k]));
        // column 1: few distinct values (long runs of ties)
        if (k === 1) for (let i = 0; i < c.length; i++) c[i] = Math.round(c[i] * 2);
        return c;
      });
      const labs = labelings(n, m, B, n * m);
      labs[0] = labs[0].map((v) => v * 7);
      const [simd, js] = both(() => ksMaxPermutation(columns, n, labs));
      expect(Array.from(simd)).toEqual(Array.from(js));
      expect(simd[0]).toBe(Math.max(...columns.map((c) => ksTwoSample(c.subarray(0, n), c.subarray(n)).d)));
    }
  });
});



import { kmeans as mlKmeans } from 'ml-kmeans';
import { describe, expect, it } from 'vitest';
import { clusterMeans, kmeansFit, kmeansLloyd, silhouette } from '../../src/stats/clustering.js';
import { setDescriptiveWasm } from '../../src/stats/descriptive-wasm.js';
import { Mulberry32, gaussian } from '../../src/stats/rng.js';

/** Rows of one of several shapes: Gaussian, a few distinct points repeated (duplicates, ties, empty clusters), small integers, one point, two far float32 levels, small scales. */
function sample(kind: number, rows: number, cols: number, seed: number) {
  const rng = new Mulberry32(seed);
  const data = new Float64Array(rows * cols);
  if (kind === 0) for (let i = 0; i < data.length; i++) data[i] = gaussian(rng) + (i % cols === 0 ? 3 * ((i / cols) % 3) : 0);
  else if (kind === 1) {
    const points = Array.from({ length: 1 + Math.floor(rng.next() * 4) }, () => Array.from({ length: cols }, () => gaussian(rng)));
    for (let i = 0; i < rows; i++) data.set(points[Math.floor(rng.next() * points.length)], i * cols);
  } else if (kind === 2) for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng.next() * 3);
  else if (kind === 3) data.fill(1.5);
  else if (kind === 5) {
    // small scales: the centres' last moves near the tolerance (a squared distance of 1e-6)
    const scale = 10 ** -(1 + 3 * rng.next());
    for (let i = 0; i < data.length; i++) data[i] = scale * gaussian(rng);
  } else for (let i = 0; i < data.length; i++) data[i] = Math.fround(rng.next() * 1e-4 + (i % 2) * 1e3);
  return { rows, cols, data };
}

/** ml-kmeans on the same rows, all its defaults but the seed and maxIterations. */
function reference(m: { rows: number; cols: number; data: Float64Array }, k: number, seed: number, maxIterations: number) {
  const rows = Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  return mlKmeans(rows, k, { seed, maxIterations });
}

const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float64Array.from(a).buffer));

describe('kmeansLloyd: ml-kmeans\'s result, bit for bit', () => {
  it('labels, centres, iterations and convergence on many random inputs, with the kernels and without', () => {
    const rng = new Mulberry32(2026);
    let emptyClusters = 0;
    let unconverged = 0;
    for (let t = 0; t < 480; t++) {
      const kind = t % 6;
      const rows = 2 + Math.floor(rng.next() * (t % 7 === 0 ? 400 : 60));
      const cols = 1 + Math.floor(rng.next() * (t % 3 === 0 ? 70 : 9));
      const k = 1 + Math.floor(rng.next() * Math.min(rows, 12));
      const seed = Math.floor(rng.next() * 2 ** 31);
      const maxIterations = [50, 50, 100, 1, 2, 3][t % 6];
      const m = sample(kind, rows, cols, seed + 1);
      const ref = reference(m, k, seed, maxIterations);
      for (const wasm of [true, false]) {
        setDescriptiveWasm(wasm);
        try {
          const own = kmeansLloyd(m, k, seed, maxIterations);
          expect(Array.from(own.labels)).toEqual(ref.clusters);
          expect(bits(own.centres)).toEqual(bits(ref.centroids.flat()));
          expect(own.iterations).toBe(ref.iterations);
          expect(own.converged).toBe(ref.converged);
        } finally {
          setDescriptiveWasm(true);
        }
      }
      const sizes = new Int32Array(k);
      for (const c of ref.clusters) sizes[c]++;
      if (sizes.includes(0)) emptyClusters++;
      if (!ref.converged) unconverged++;
    }
    // The cases that matter were met.
    expect(emptyClusters).toBeGreaterThan(20);
    expect(unconverged).toBeGreaterThan(10);
  });

  it('fleet-shaped windows (300 x 64, k = 8) and kmeansFit\'s labels', () => {
    for (let s = 0; s < 12; s++) {
      const m = sample(s % 2 === 0 ? 0 : 4, 300, 64, s);
      const ref = reference(m, 8, s * 7919, 50);
      const fit = kmeansFit(m, 8, s * 7919);
      expect(Array.from(fit.labels)).toEqual(ref.clusters);
    }
  });

  it('kmeansFit\'s centroids and sizes: clusterMeans of its labels (empty clusters at 0)', () => {
    const rng = new Mulberry32(99);
    let empty = 0;
    for (let t = 0; t < 150; t++) {
      const rows = 2 + Math.floor(rng.next() * 80);
      const cols = 1 + Math.floor(rng.next() * 12);
      const m = sample(t % 6, rows, cols, t);
      const fit = kmeansFit(m, 1 + Math.floor(rng.next() * 10), t);
      const means = clusterMeans(m, fit.labels, fit.k);
      expect(bits(fit.centroids)).toEqual(bits(means.centroids));
      expect(Array.from(fit.sizes)).toEqual(Array.from(means.sizes));
      if (fit.sizes.includes(0)) empty++;
    }
    expect(empty).toBeGreaterThan(5);
  });

  it('inputs ml-kmeans rejects: the same error', () => {
    const nan = sample(0, 20, 3, 1);
    nan.data[7] = NaN;
    expect(() => kmeansLloyd(nan, 3, 1)).toThrow();
    expect(() => reference(nan, 3, 1, 50)).toThrow();
    expect(() => kmeansLloyd(sample(0, 5, 2, 1), 6, 1)).toThrow('K should be a positive integer');
  });
});

describe('silhouette: the value of the plain definition', () => {
  /** Mean over all rows of (b - a) / max(a, b), each row's distance sums over j in ascending order. */
  function plainSilhouette(m: { rows: number; cols: number; data: Float64Array }, labels: ArrayLike<number>, k: number): number {
    const { rows, cols, data } = m;
    const sizes = new Int32Array(k);
    for (let i = 0; i < rows; i++) sizes[labels[i]]++;
    let total = 0;
    for (let i = 0; i < rows; i++) {
      const sums = new Float64Array(k);
      for (let j = 0; j < rows; j++) {
        if (j === i) continue;
        let s = 0;
        for (let c = 0; c < cols; c++) s += (data[i * cols + c] - data[j * cols + c]) ** 2;
        sums[labels[j]] += Math.sqrt(s);
      }
      const own = labels[i];
      if (sizes[own] <= 1) continue;
      const a = sums[own] / (sizes[own] - 1);
      let b = Infinity;
      for (let c = 0; c < k; c++) if (c !== own && sizes[c] > 0) b = Math.min(b, sums[c] / sizes[c]);
      if (!Number.isFinite(b)) continue;
      const mx = Math.max(a, b);
      total += mx > 0 ? (b - a) / mx : 0;
    }
    return total / rows;
  }

  it('every row, with clusters of one row, empty clusters and duplicate rows, with the kernels and without', () => {
    const rng = new Mulberry32(7);
    for (let t = 0; t < 60; t++) {
      const rows = 3 + Math.floor(rng.next() * (t % 5 === 0 ? 600 : 80));
      const cols = 1 + Math.floor(rng.next() * 20);
      const k = 2 + Math.floor(rng.next() * 9);
      const m = sample(t % 5 === 3 ? 1 : t % 5, rows, cols, t);
      const labels = Int32Array.from({ length: rows }, () => Math.floor(rng.next() * (k - (t % 3 === 0 ? 1 : 0))));
      if (t % 4 === 0) labels[rows - 1] = k - 1; // often a cluster of one row
      const want = plainSilhouette(m, labels, k);
      for (const wasm of [true, false]) {
        setDescriptiveWasm(wasm);
        try {
          expect(silhouette(m, labels, k)).toBe(want);
        } finally {
          setDescriptiveWasm(true);
        }
      }
    }
  });
});

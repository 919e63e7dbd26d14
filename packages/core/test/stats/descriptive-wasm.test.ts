import { kmeans as mlKmeans } from 'ml-kmeans';
import { describe, expect, it } from 'vitest';
import { kmeansFit, silhouette } from '../../src/stats/clustering.js';
import { clusterProportions } from '../../src/stats/cluster-proportions.js';
import { descriptiveWasmReady, setDescriptiveWasm } from '../../src/stats/descriptive-wasm.js';
import { ksMaxPermutation, ksTwoSample } from '../../src/stats/ks.js';
import { covariance, symmetricEigen } from '../../src/stats/matrix.js';
import { pcaFit, pcaTransform } from '../../src/stats/pca.js';
import { Mulberry32 } from '../../src/stats/rng.js';
import { cloud, labelings } from './fixtures.js';


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

describe('kmeansFit: ml-kmeans\'s own clustering', () => {
  it('the labels ml-kmeans gives with its own k-means++ and distance, with the kernels and without', () => {
    for (const [rows, cols, k, seed] of [
      [300, 64, 8, 11],
      [101, 7, 5, 3],
      [9, 2, 8, 5],
      [40, 1, 3, 8],
    ]) {
      const m = cloud(rows, cols, seed, 1.5);
      // three blobs along the first column
      for (let i = 0; i < rows; i++) m.data[i * cols] += 4 * (i % 3);
      const byRows = Array.from({ length: rows }, (_, i) => Array.from(m.data.subarray(i * cols, (i + 1) * cols)));
      const kk = Math.min(k, rows - 1);
      const reference = mlKmeans(byRows, kk, { seed, maxIterations: 50, initialization: 'kmeans++' });
      const [simd, js] = both(() => kmeansFit(m, k, seed));
      expect(Array.from(simd.labels)).toEqual(reference.clusters);
      expect(plain(simd)).toEqual(plain(js));
    }
  });
});

describe('clusterProportions: the same assignment and distances from the kernels', () => {
  it('a shifted current window, odd sizes', () => {
    for (const [nb, nc, cols, k] of [
      [300, 300, 64, 8],
      [51, 37, 5, 4],
    ]) {
      const baseline = cloud(nb, cols, nb, 0);
      const current = cloud(nc, cols, nc + 1, 0.7);
      const fit = kmeansFit(baseline, k, 3);
      const [simd, js] = both(() => clusterProportions(baseline, fit.labels, fit.centroids, fit.k, current));
      expect(simd).toEqual(js);
    }
  });
});

describe('silhouette: the same value from the kernels', () => {
  it('every row (one distance matrix) and a sample of rows', () => {
    for (const [rows, cols, k] of [
      [300, 64, 8],
      [37, 5, 3],
      [700, 6, 5],
      [2049, 3, 4],
    ]) {
      const m = cloud(rows, cols, rows, 0);
      const labels = Int32Array.from({ length: rows }, (_, i) => (i * 7) % k);
      labels[0] = k - 1;
      for (const sampleSize of [300, 20, 15])
        for (const seed of [1, 2]) {
          const [simd, js] = both(() => silhouette(m, labels, k, new Mulberry32(seed), sampleSize));
          expect(simd).toBe(js);
        }
      // no sample: every row (above 512 rows the kernel's row pairs instead of one matrix)
      const [simd, js] = both(() => silhouette(m, labels, k));
      expect(simd).toBe(js);
    }
  });
});

describe('principal components: the same covariance, eigenvectors and scores from the kernels', () => {
  it('covariance, symmetricEigen, pcaFit and pcaTransform at even and odd sizes', () => {
    for (const [rows, cols, q] of [
      [300, 64, 10],
      [603, 17, 5],
      [7, 3, 3],
      [2, 1, 1],
    ]) {
      const m = cloud(rows, cols, rows + cols);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m.data[i * cols + j] *= 1 + 2 / (j + 1);
      const [covS, covJ] = both(() => covariance(m));
      expect(Array.from(covS)).toEqual(Array.from(covJ));
      const [eigS, eigJ] = both(() => symmetricEigen(covJ, cols));
      expect(plain(eigS)).toEqual(plain(eigJ));
      const [fitS, fitJ] = both(() => pcaFit(m, q));
      expect(plain(fitS)).toEqual(plain(fitJ));
      const [scoreS, scoreJ] = both(() => pcaTransform(m, fitJ));
      expect(plain(scoreS)).toEqual(plain(scoreJ));
    }
  });
});


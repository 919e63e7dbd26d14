import { describe, expect, it } from 'vitest';
import { bonferroni, bonferroniMin, holm } from '../../src/stats/multiple.js';
import { colMeans, fromRows, project, sparseProjection, spdInverse, symmetricEigen, totalVariance } from '../../src/stats/matrix.js';
import { logGamma, normalCdf, normalSf } from '../../src/stats/distributions.js';
import { Mulberry32, deriveRng, gaussian, sampleIndices } from '../../src/stats/rng.js';
import { pcaFit } from '../../src/stats/pca.js';

describe('rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Mulberry32(42);
    const b = new Mulberry32(42);
    const c = new Mulberry32(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
  });
  it('draws uniform values in [0,1) and standard normals', () => {
    const rng = deriveRng(1, 'test');
    let s = 0;
    let s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const g = gaussian(rng);
      s += g;
      s2 += g * g;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
  });
  it('samples distinct sorted indices', () => {
    const idx = sampleIndices(100, 10, new Mulberry32(3));
    expect(new Set(idx).size).toBe(10);
    expect(Array.from(idx)).toEqual(Array.from(idx).sort((x, y) => x - y));
    expect(sampleIndices(5, 10, new Mulberry32(3)).length).toBe(5);
  });
});

describe('distributions', () => {
  it('normal tails match tables', () => {
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalSf(3)).toBeCloseTo(0.0013499, 6);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 10);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 10);
  });
});

describe('multiple testing', () => {
  it('applies Bonferroni and Holm', () => {
    expect(bonferroni([0.01, 0.02, 0.5])).toEqual([0.03, 0.06, 1]);
    expect(bonferroniMin([0.01, 0.02, 0.5])).toBeCloseTo(0.03, 12);
    // Holm: sorted 0.01*3=0.03, 0.02*2=0.04, 0.5*1 -> 0.5
    const h = holm([0.5, 0.01, 0.02]);
    expect(h[1]).toBeCloseTo(0.03, 12);
    expect(h[2]).toBeCloseTo(0.04, 12);
    expect(h[0]).toBeCloseTo(0.5, 12);
  });
});

describe('matrix', () => {
  it('finds eigenvalues of a known symmetric matrix', () => {
    // [[2,1],[1,2]] has eigenvalues 3 and 1 with vectors (1,1)/sqrt2 and (1,-1)/sqrt2
    const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect(values[0]).toBeCloseTo(3, 10);
    expect(values[1]).toBeCloseTo(1, 10);
    expect(Math.abs(vectors[0])).toBeCloseTo(Math.SQRT1_2, 10);
    expect(vectors[0] * vectors[1]).toBeGreaterThan(0);
  });
  it('reconstructs a random SPD matrix from its eigen-decomposition', () => {
    const p = 6;
    const rng = new Mulberry32(9);
    const b = Array.from({ length: p * p }, () => gaussian(rng));
    const a = new Float64Array(p * p);
    for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) for (let k = 0; k < p; k++) a[i * p + j] += b[i * p + k] * b[j * p + k];
    const { values, vectors } = symmetricEigen(a, p);
    for (let i = 0; i < p; i++)
      for (let j = 0; j < p; j++) {
        let s = 0;
        for (let k = 0; k < p; k++) s += vectors[k * p + i] * values[k] * vectors[k * p + j];
        expect(s).toBeCloseTo(a[i * p + j], 8);
      }
    const inv = spdInverse(a, p);
    for (let i = 0; i < p; i++)
      for (let j = 0; j < p; j++) {
        let s = 0;
        for (let k = 0; k < p; k++) s += a[i * p + k] * inv[k * p + j];
        expect(s).toBeCloseTo(i === j ? 1 : 0, 8);
      }
  });
  it('computes means and total variance', () => {
    const m = fromRows([
      [0, 0],
      [2, 0],
      [0, 2],
      [2, 2],
    ]);
    expect(Array.from(colMeans(m))).toEqual([1, 1]);
    // each coordinate has sample variance 4/3
    expect(totalVariance(m)).toBeCloseTo(8 / 3, 12);
  });
  it('sparse random projection preserves squared distances on average', () => {
    const rng = new Mulberry32(5);
    const d = 1024;
    const rows = Array.from({ length: 200 }, () => Array.from({ length: d }, () => gaussian(rng) / Math.sqrt(d)));
    const m = fromRows(rows);
    const z = project(m, sparseProjection(d, 64, new Mulberry32(6)));
    let ratio = 0;
    for (let i = 0; i < 100; i++) {
      let a = 0;
      let b = 0;
      for (let j = 0; j < d; j++) a += (m.data[i * d + j] - m.data[(i + 100) * d + j]) ** 2;
      for (let j = 0; j < 64; j++) b += (z.data[i * 64 + j] - z.data[(i + 100) * 64 + j]) ** 2;
      ratio += b / a;
    }
    expect(ratio / 100).toBeGreaterThan(0.9);
    expect(ratio / 100).toBeLessThan(1.1);
  });
  it('PCA finds the direction of largest variance', () => {
    const rng = new Mulberry32(2);
    const rows = Array.from({ length: 500 }, () => {
      const t = gaussian(rng) * 3;
      return [t / Math.SQRT2 + gaussian(rng) * 0.1, t / Math.SQRT2 + gaussian(rng) * 0.1, gaussian(rng) * 0.1];
    });
    const fit = pcaFit(fromRows(rows), 2);
    expect(Math.abs(fit.components[0])).toBeCloseTo(Math.SQRT1_2, 2);
    expect(Math.abs(fit.components[2])).toBeLessThan(0.05);
    expect(fit.variances[0]).toBeGreaterThan(8);
  });
});

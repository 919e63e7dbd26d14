import { describe, expect, it } from 'vitest';
import { domainClassifierTest } from '../../src/stats/classifier.js';
import { kmeansFit, silhouette } from '../../src/stats/clustering.js';
import { fromRows } from '../../src/stats/matrix.js';
import { mmdPermutationTest, mmdWasmReady } from '../../src/stats/mmd.js';
import { Mulberry32, gaussian } from '../../src/stats/rng.js';
import type { Matrix } from '../../src/monitors/types.js';

function cloud(n: number, d: number, rng: Mulberry32, shift = 0, scale = 1): Matrix {
  return fromRows(Array.from({ length: n }, () => Array.from({ length: d }, (_, j) => gaussian(rng) * scale + (j === 0 ? shift : 0))));
}

describe('silhouette and KMeans', () => {
  it('well-separated clusters score near 1 and are recovered', () => {
    const rng = new Mulberry32(4);
    const centres = [
      [0, 0],
      [100, 0],
      [0, 100],
    ];
    const rows = Array.from({ length: 300 }, (_, i) => centres[i % 3].map((c) => c + gaussian(rng)));
    const m = fromRows(rows);
    const fit = kmeansFit(m, 3, 1);
    // every true cluster maps to one found cluster
    for (let c = 0; c < 3; c++) {
      const found = new Set(rows.map((_, i) => i).filter((i) => i % 3 === c).map((i) => fit.labels[i]));
      expect(found.size).toBe(1);
    }
    expect(silhouette(m, fit.labels, fit.k)).toBeGreaterThan(0.95);
  });
  it('one blob split in two scores low', () => {
    const rng = new Mulberry32(4);
    const m = cloud(300, 2, rng);
    const fit = kmeansFit(m, 2, 1);
    expect(silhouette(m, fit.labels, fit.k, new Mulberry32(1), 100)).toBeLessThan(0.5);
  });
});

describe('MMD permutation test', () => {
  it('runs its WebAssembly kernels on Node 20 (a module that fails to build must fail here, not fall back silently)', () => {
    expect(mmdWasmReady()).toBe(true);
  });

  it('detects a mean shift and not a same-distribution sample', () => {
    const rng = new Mulberry32(8);
    const x = cloud(150, 5, rng);
    const same = mmdPermutationTest(x, cloud(150, 5, rng), { permutations: 199, rng: new Mulberry32(1) });
    const shifted = mmdPermutationTest(x, cloud(150, 5, rng, 0.8), { permutations: 199, rng: new Mulberry32(1) });
    expect(same.p_value).toBeGreaterThan(0.01);
    expect(shifted.p_value).toBe(1 / 200);
    expect(shifted.mmd2).toBeGreaterThan(same.mmd2);
  });
  it('gives p = 1 for identical samples', () => {
    const x = cloud(50, 3, new Mulberry32(2));
    expect(mmdPermutationTest(x, x, { permutations: 99, rng: new Mulberry32(1) }).p_value).toBeGreaterThan(0.9);
  });
  it('keeps its level: false alarms within a binomial bound', () => {
    const rng = new Mulberry32(21);
    let alarms = 0;
    for (let t = 0; t < 100; t++) {
      const res = mmdPermutationTest(cloud(40, 4, rng), cloud(60, 4, rng), { permutations: 39, rng, features: 64 });
      if (res.p_value <= 0.05) alarms++;
    }
    // Binomial(100, 0.05): P(X >= 12) < 0.005
    expect(alarms).toBeLessThan(12);
  });
});

describe('domain classifier test', () => {
  it('separates shifted clouds with AUC near 1', () => {
    const rng = new Mulberry32(3);
    const res = domainClassifierTest(cloud(200, 6, rng), cloud(200, 6, rng, 3), { permutations: 99, rng });
    expect(res.auc).toBeGreaterThan(0.95);
    expect(res.p_value).toBe(1 / 100);
  });
  it('gives AUC near 0.5 and large p without shift', () => {
    const rng = new Mulberry32(3);
    const res = domainClassifierTest(cloud(200, 6, rng), cloud(200, 6, rng), { permutations: 99, rng });
    expect(Math.abs(res.auc - 0.5)).toBeLessThan(0.08);
    expect(res.p_value).toBeGreaterThan(0.01);
  });
  it('keeps its level under H0', () => {
    const rng = new Mulberry32(5);
    let alarms = 0;
    for (let t = 0; t < 100; t++) if (domainClassifierTest(cloud(30, 3, rng), cloud(30, 3, rng), { permutations: 39, rng }).p_value <= 0.05) alarms++;
    expect(alarms).toBeLessThan(12);
  });
});

describe('domain classifier on a small new subpopulation', () => {
  it('catches 10% of rows from an unseen cluster through the top-scored share', () => {
    const rng = new Mulberry32(12);
    const x = cloud(400, 8, rng);
    const y = cloud(400, 8, rng);
    // 40 current rows moved far along the first axis: a new, compact topic
    for (let i = 0; i < 40; i++) y.data[i * 8] += 6;
    const res = domainClassifierTest(x, y, { permutations: 99, rng });
    expect(res.p_value).toBeLessThanOrEqual(0.02);
    // ~0.9 x 10% of current rows sit above the baseline's 90th percentile on top of the 10% expected
    expect(res.tpr - res.fpr).toBeGreaterThan(0.05);
    expect(res.top).toBeGreaterThan(0.6);
  });
  it('counts among its own top share, apart from the FPR at which the TPR is read', () => {
    const rng = new Mulberry32(13);
    const x = cloud(400, 8, rng);
    const y = cloud(400, 8, rng);
    // 24 current rows (3% of all rows) from a far cluster: a fold's top 5% (8 rows) is mostly them, its top 10% (16) half diluted
    for (let i = 0; i < 24; i++) y.data[i * 8] += 10;
    const wide = domainClassifierTest(x, y, { permutations: 99, rng: new Mulberry32(1) });
    const narrow = domainClassifierTest(x, y, { permutations: 99, rng: new Mulberry32(1), top: 0.05 });
    expect(wide.top_fraction).toBe(0.1);
    expect(narrow.top_fraction).toBe(0.05);
    expect(narrow.fpr).toBe(0.1);
    expect(narrow.tpr).toBe(wide.tpr); // same folds, same scores: only the top share differs
    expect(narrow.top).toBeGreaterThan(wide.top + 0.05);
    expect(() => domainClassifierTest(x, y, { permutations: 9, rng, top: 1 })).toThrow(/top \(1\) must lie strictly between 0 and 1/);
  });
  it('counts at least topMinRows rows per fold', () => {
    const rng = new Mulberry32(14);
    const x = cloud(25, 4, rng);
    const y = cloud(25, 4, rng, 2);
    // 5 folds of 10 rows: 5% is 1 row per fold (5 in all); 10 rows per fold is every row, so Y's share of them is 1/2
    const one = domainClassifierTest(x, y, { permutations: 9, rng: new Mulberry32(2), top: 0.05 });
    expect((one.top * 5) % 1).toBe(0);
    expect(domainClassifierTest(x, y, { permutations: 9, rng: new Mulberry32(2), top: 0.05, topMinRows: 10 }).top).toBe(0.5);
  });
});

import { describe, expect, it } from 'vitest';
import { domainClassifierTest } from '../../src/stats/classifier.js';
import { ksMaxPermutation, ksTwoSample } from '../../src/stats/ks.js';
import { covariance, symmetricEigen } from '../../src/stats/matrix.js';
import { mmdPermutationTest } from '../../src/stats/mmd.js';
import { minPCombination, upperShares } from '../../src/stats/multiple.js';
import { topEigen } from '../../src/stats/pca.js';
import { Mulberry32, gaussian } from '../../src/stats/rng.js';
import { cloud, labelings } from './fixtures.js';


describe('minPCombination', () => {
  it('is the marginal permutation p-value for one statistic', () => {
    const stats = Float64Array.from([5, 1, 2, 7, 3, 5]);
    expect(upperShares(stats)[0]).toBeCloseTo(3 / 6, 12);
    expect(minPCombination([stats])).toEqual({ p_value: 3 / 6, marginal: [3 / 6] });
  });

  it('keeps its level when the observed draw is exchangeable with the others', () => {
    const rng = new Mulberry32(3);
    let rejections = 0;
    const reps = 1000;
    for (let r = 0; r < reps; r++) {
      // Three correlated statistics over 1 + 99 exchangeable draws.
      const common = Array.from({ length: 100 }, () => gaussian(rng));
      const stats = [0, 1, 2].map(() => Float64Array.from(common, (c) => c + gaussian(rng)));
      if (minPCombination(stats).p_value <= 0.05) rejections++;
    }
    // Binomial(1000, 0.05): P(X >= 70) < 0.003
    expect(rejections).toBeLessThan(70);
  });

  it('is at most the Bonferroni bound and at least the smallest marginal', () => {
    const stats = [Float64Array.from([9, 1, 2, 3, 4, 5, 6, 7, 8, 0]), Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 0])];
    const res = minPCombination(stats);
    expect(res.p_value).toBeGreaterThanOrEqual(Math.min(...res.marginal));
    expect(res.p_value).toBeLessThanOrEqual(2 * Math.min(...res.marginal));
  });
});

describe('tests on shared relabellings', () => {
  const x = cloud(80, 6, 1);
  const y = cloud(70, 6, 2, 0.8);
  const labs = labelings(80, 70, 49, 9);

  it('KS max over columns: the observed statistic is the largest two-sample D', () => {
    const cols = Array.from({ length: 6 }, (_, k) => Float64Array.from({ length: 150 }, (_, i) => (i < 80 ? x.data[i * 6 + k] : y.data[(i - 80) * 6 + k])));
    const perm = ksMaxPermutation(cols, 80, labs);
    const direct = Math.max(...cols.map((c) => ksTwoSample(c.subarray(0, 80), c.subarray(80)).d));
    expect(perm[0]).toBeCloseTo(direct, 12);
    expect(perm.length).toBe(50);
    expect(upperShares(perm)[0]).toBeLessThan(0.05); // a shift of 0.8 sd along column 0
  });

  it('MMD and the classifier accept the same relabellings and return their permutation distributions', () => {
    const mmd = mmdPermutationTest(x, y, { permutations: 0, rng: new Mulberry32(1), labelings: labs });
    const clf = domainClassifierTest(x, y, { permutations: 0, rng: new Mulberry32(1), labelings: labs, statistic: 'both' });
    expect(mmd.permutation.length).toBe(50);
    expect(clf.permutation.auc.length).toBe(50);
    expect(mmd.p_value).toBeCloseTo(upperShares(mmd.permutation)[0], 12);
    expect(clf.p_auc).toBeCloseTo(upperShares(clf.permutation.auc)[0], 12);
    expect(clf.p_auc).toBeLessThan(0.05);
    expect(() => mmdPermutationTest(x, y, { permutations: 0, rng: new Mulberry32(1), labelings: [new Uint8Array(3)] })).toThrow(/labeling/);
  });
});

describe('topEigen', () => {
  it('matches the full Jacobi decomposition on the leading components', () => {
    const m = cloud(300, 140, 4);
    for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) m.data[i * m.cols + j] *= 1 + 3 / (j + 1);
    const cov = covariance(m);
    const full = symmetricEigen(cov, 140);
    const top = topEigen(cov, 140, 5);
    for (let k = 0; k < 5; k++) {
      expect(top.values[k]).toBeCloseTo(full.values[k], 6);
      let d = 0;
      for (let j = 0; j < 140; j++) d += top.vectors[k * 140 + j] * full.vectors[k * 140 + j];
      expect(Math.abs(d)).toBeCloseTo(1, 6);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { ksTwoSample } from '../../src/stats/ks.js';
import { psi, psiFromShares, quantileEdges } from '../../src/stats/psi.js';
import { compareProportions, fisherExact, twoProportionZTest } from '../../src/stats/proportions.js';
import { mannWhitney, mannWhitneyFromCounts, median } from '../../src/stats/ranks.js';
import { Mulberry32, gaussian } from '../../src/stats/rng.js';

describe('KS two-sample', () => {
  it('gives the exact p-value of a complete separation', () => {
    // D = 1; only 2 of the C(6,3) = 20 orderings reach it: p = 0.1
    const r = ksTwoSample([1, 2, 3], [4, 5, 6]);
    expect(r.d).toBe(1);
    expect(r.method).toBe('exact');
    expect(r.p_value).toBeCloseTo(0.1, 10);
  });
  it('gives D = 0 and p = 1 for identical samples', () => {
    const r = ksTwoSample([1, 2, 3, 4], [4, 3, 2, 1]);
    expect(r.d).toBe(0);
    expect(r.p_value).toBe(1);
  });
  it('exact and asymptotic p-values agree for large samples', () => {
    const rng = new Mulberry32(1);
    const a = Array.from({ length: 400 }, () => gaussian(rng));
    const b = Array.from({ length: 400 }, () => gaussian(rng) + 0.15);
    const exact = ksTwoSample(a, b);
    const big = ksTwoSample(
      Array.from({ length: 4000 }, () => gaussian(rng)),
      Array.from({ length: 4000 }, () => gaussian(rng)),
    );
    expect(big.method).toBe('asymptotic');
    expect(exact.method).toBe('exact');
    // Kolmogorov limit with Stephens' correction at the same D and n
    const ne = 200;
    const lam = (Math.sqrt(ne) + 0.12 + 0.11 / Math.sqrt(ne)) * exact.d;
    let q = 0;
    for (let k = 1; k < 50; k++) q += 2 * (k % 2 ? 1 : -1) * Math.exp(-2 * k * k * lam * lam);
    expect(Math.abs(exact.p_value - q)).toBeLessThan(0.1 * q + 0.002);
  });
  it('rejects at most about alpha of the time under H0', () => {
    const rng = new Mulberry32(11);
    let rejections = 0;
    for (let t = 0; t < 300; t++) {
      const a = Array.from({ length: 60 }, () => gaussian(rng));
      const b = Array.from({ length: 80 }, () => gaussian(rng));
      if (ksTwoSample(a, b).p_value < 0.05) rejections++;
    }
    // Binomial(300, 0.05): mean 15, P(X >= 27) < 0.005
    expect(rejections).toBeLessThan(27);
  });
});

describe('PSI', () => {
  it('matches a hand-computed value', () => {
    // expected 25/25/25/25, actual 10/20/30/40:
    // (.1-.25)ln(.1/.25) + (.2-.25)ln(.2/.25) + (.3-.25)ln(.3/.25) + (.4-.25)ln(.4/.25)
    // = .137444 + .011157 + .009116 + .070501 = 0.228218
    expect(psiFromShares([25, 25, 25, 25], [10, 20, 30, 40])).toBeCloseTo(0.228218, 5);
    expect(psiFromShares([1, 2, 3], [1, 2, 3])).toBe(0);
  });
  it('bins at baseline deciles', () => {
    const base = Array.from({ length: 1000 }, (_, i) => i);
    expect(quantileEdges(base, 10)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900]);
    expect(psi(base, base)).toBe(0);
    // current entirely in the top decile: shares 1e-4 floor in 9 bins, 1 in the last
    const shifted = Array.from({ length: 100 }, (_, i) => 950 + i / 10);
    expect(psi(base, shifted)).toBeGreaterThan(2);
  });
});

describe('proportions', () => {
  it('two-proportion z test matches a hand computation', () => {
    // 30/1000 vs 60/1000: pooled p = 0.045, se = sqrt(.045 * .955 * (2/1000)) = 0.00927093,
    // z = 0.03 / 0.00927093 = 3.23593, one-sided p = 1 - Phi(3.23593) = 6.061e-4
    const r = twoProportionZTest(30, 1000, 60, 1000, 'greater');
    expect(r.z).toBeCloseTo(3.23593, 4);
    expect(r.p_value).toBeCloseTo(6.061e-4, 6);
    expect(twoProportionZTest(30, 1000, 60, 1000, 'less').p_value).toBeGreaterThan(0.99);
  });
  it("Fisher's exact test matches a textbook table", () => {
    // [[1, 9], [11, 3]]: two-sided p = 0.002759 (R fisher.test, scipy)
    expect(fisherExact(1, 10, 11, 14).p_value).toBeCloseTo(0.0027594, 6);
    // one-sided: P(X >= 11) for the second row
    expect(fisherExact(1, 10, 11, 14, 'greater').p_value).toBeCloseTo(0.0013797, 6);
  });
  it('uses Fisher for small expected counts', () => {
    expect(compareProportions(0, 20, 3, 20, 'greater').method).toBe('fisher');
    expect(compareProportions(30, 1000, 60, 1000, 'greater').method).toBe('z');
  });
});

describe('Mann-Whitney', () => {
  it('computes U and AUC', () => {
    const r = mannWhitney([4, 5, 6], [1, 2, 3], 'greater');
    expect(r.u).toBe(9);
    expect(r.auc).toBe(1);
    expect(mannWhitney([1, 2], [1, 2]).auc).toBe(0.5);
  });
  it('counts form equals the raw form on ordinal data', () => {
    const a = [0, 2, 5, 10, 20];
    const b = [8, 10, 10, 5, 2];
    const expand = (c: number[]) => c.flatMap((n, k) => Array(n).fill(k + 1));
    const raw = mannWhitney(expand(a), expand(b), 'greater');
    const counts = mannWhitneyFromCounts(a, b, 'greater');
    expect(counts.u).toBeCloseTo(raw.u, 9);
    expect(counts.p_value).toBeCloseTo(raw.p_value, 9);
    expect(counts.p_value).toBeLessThan(0.001);
  });
  it('median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});

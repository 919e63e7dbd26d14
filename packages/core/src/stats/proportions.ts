import { logChoose, normalSf } from './distributions.js';
import type { Alternative } from './ranks.js';

export interface ProportionTestResult {
  /** x1/n1 and x2/n2. */
  p1: number;
  p2: number;
  /** z statistic (z test) or null (Fisher). */
  z: number | null;
  p_value: number;
  method: 'z' | 'fisher';
}

/**
 * Two-proportion z test with the pooled variance:
 *   z = (p2 - p1) / sqrt(p (1 - p) (1/n1 + 1/n2)),  p = (x1 + x2) / (n1 + n2).
 * `greater` tests H1: the second proportion is larger than the first.
 */
export function twoProportionZTest(x1: number, n1: number, x2: number, n2: number, alternative: Alternative = 'two-sided'): ProportionTestResult {
  const p1 = n1 ? x1 / n1 : 0;
  const p2 = n2 ? x2 / n2 : 0;
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (!(se > 0)) return { p1, p2, z: 0, p_value: 1, method: 'z' };
  const z = (p2 - p1) / se;
  const p = alternative === 'greater' ? normalSf(z) : alternative === 'less' ? normalSf(-z) : Math.min(1, 2 * normalSf(Math.abs(z)));
  return { p1, p2, z, p_value: p, method: 'z' };
}

/**
 * Fisher's exact test on the 2x2 table [[x1, n1-x1], [x2, n2-x2]].
 * `greater`: H1 the second proportion is larger (upper hypergeometric tail of x2);
 * two-sided: sum of tables no more probable than the observed one.
 */
export function fisherExact(x1: number, n1: number, x2: number, n2: number, alternative: Alternative = 'two-sided'): ProportionTestResult {
  const p1 = n1 ? x1 / n1 : 0;
  const p2 = n2 ? x2 / n2 : 0;
  const k = x1 + x2;
  const N = n1 + n2;
  const lo = Math.max(0, k - n1);
  const hi = Math.min(k, n2);
  const logTotal = logChoose(N, k);
  const prob = (x: number) => Math.exp(logChoose(n2, x) + logChoose(n1, k - x) - logTotal);
  let p = 0;
  if (alternative === 'greater') for (let x = x2; x <= hi; x++) p += prob(x);
  else if (alternative === 'less') for (let x = lo; x <= x2; x++) p += prob(x);
  else {
    const observed = prob(x2) * (1 + 1e-7);
    for (let x = lo; x <= hi; x++) {
      const q = prob(x);
      if (q <= observed) p += q;
    }
  }
  return { p1, p2, z: null, p_value: Math.min(1, p), method: 'fisher' };
}

/**
 * The usual choice: the z test when every expected cell count is at least 5,
 * otherwise Fisher's exact test (the z test's level is unreliable there).
 */
export function compareProportions(x1: number, n1: number, x2: number, n2: number, alternative: Alternative = 'two-sided'): ProportionTestResult {
  const pooled = (x1 + x2) / (n1 + n2);
  const minExpected = Math.min(n1, n2) * Math.min(pooled, 1 - pooled);
  return minExpected >= 5 ? twoProportionZTest(x1, n1, x2, n2, alternative) : fisherExact(x1, n1, x2, n2, alternative);
}

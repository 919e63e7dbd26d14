/** Multiple-testing corrections over a family of p-values. */

/** Bonferroni: each p-value times the family size, capped at 1. */
export function bonferroni(pvalues: number[]): number[] {
  const m = pvalues.length;
  return pvalues.map((p) => Math.min(1, p * m));
}

/** Bonferroni-combined p-value of a family: min(1, m * min p). Rejecting when it is < alpha controls the family-wise error rate at alpha. */
export function bonferroniMin(pvalues: number[]): number {
  if (pvalues.length === 0) return 1;
  return Math.min(1, pvalues.length * Math.min(...pvalues));
}

/** Holm's step-down adjusted p-values (uniformly more powerful than Bonferroni, same FWER guarantee), in input order. */
export function holm(pvalues: number[]): number[] {
  const m = pvalues.length;
  const order = pvalues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adj = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adj[i] = running;
  });
  return adj;
}

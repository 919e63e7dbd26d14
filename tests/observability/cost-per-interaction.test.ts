import { describe, expect, it } from 'vitest';
import { behaviorThresholdsSchema } from '../../packages/core/src/config/schema.js';
import { behaviorMonitor } from '../../packages/core/src/monitors/behavior.js';
import { Mulberry32 } from '../../packages/core/src/stats/rng.js';
import type { InteractionRecord } from '../../packages/core/src/monitors/types.js';

const t = behaviorThresholdsSchema.parse({});
const s = { min_samples: 50, alpha: 0.05, seed: 7 };

/** n answered interactions whose cost is uniform around `meanUsd` (+-40 %), seeded. */
function window(n: number, meanUsd: number | null, seed: number): InteractionRecord[] {
  const g = new Mulberry32(seed);
  const rnd = () => g.next();
  return Array.from({ length: n }, () => ({ response: 'Here is the answer you asked for.', toxic: false, cost_usd: meanUsd === null ? null : meanUsd * (0.6 + 0.8 * rnd()) }));
}

describe('the behaviour monitor reports cost per interaction like its rates', () => {
  it('a 30 % rise ($50 -> $65 a day at the same traffic) is drift, with both means and the test', () => {
    const res = behaviorMonitor(window(400, 0.05, 1), window(400, 0.065, 2), t, s);
    const m = res.methods.cost_per_interaction;
    expect(m.flagged).toBe(true);
    expect(m.baseline).toBeCloseTo(0.05, 2);
    expect(m.current).toBeCloseTo(0.065, 2);
    expect(m.value).toBeGreaterThan(0.2);
    expect(m.p_value).toBeLessThan(0.001);
    expect(res.status).toBe('drift');
    expect(res.reason).toMatch(/cost per interaction \$0\.0\d+ -> \$0\.06\d+/);
  });

  it('the same cost, a fall, or a rise under the threshold is not drift', () => {
    for (const [b, c] of [[0.05, 0.05], [0.065, 0.05], [0.05, 0.055]]) {
      const res = behaviorMonitor(window(400, b, 3), window(400, c, 4), t, s);
      expect(res.methods.cost_per_interaction.flagged, `${b} -> ${c}`).toBe(false);
      expect(res.status, `${b} -> ${c}`).toBe('no_drift');
    }
  });

  it('without logged cost the method is left out of the family (Bonferroni k unchanged)', () => {
    const res = behaviorMonitor(window(400, null, 5), window(400, null, 6), t, s);
    expect(res.methods.cost_per_interaction).toBeUndefined();
    expect(res.reason).toContain('alpha/4');
  });

  it('a false-alarm rate at or under alpha when cost does not change', () => {
    let alarms = 0;
    const trials = 200;
    for (let i = 0; i < trials; i++) if (behaviorMonitor(window(200, 0.05, 100 + 2 * i), window(200, 0.05, 101 + 2 * i), { ...t, cost_change_threshold: 0 }, s).methods.cost_per_interaction.flagged) alarms++;
    // One test of k = 5 at alpha/5 = 0.01: expect about 2 in 200; 8 would be p < 0.001 under Binomial(200, 0.01).
    expect(alarms).toBeLessThanOrEqual(8);
  });
});

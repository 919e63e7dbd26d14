import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { behaviorThresholdsSchema } from '../../src/config/schema.js';
import { isRefusal } from '../../src/monitors/refusal.js';
import { loadRefusalVectors } from '../../src/monitors/refusal-vectors.js';
import type { InteractionRecord } from '../../src/monitors/types.js';
import { StatsPool } from '../../src/pool/pool.js';

// The behaviour monitor runs on a statistics thread: that thread must count refusals with
// the same combined detector as bench:refusal (patterns OR semantic), on the compact table.
const pool = new StatsPool(1);
beforeAll(() => {
  // First run on a machine: builds the wink cache and the compact table (a minute, once).
  const r = loadRefusalVectors({ buildFromSource: true });
  expect(r.vectors, r.note).not.toBeNull();
}, 600_000);
afterAll(() => pool.close());

const deflection = "I'd rather not write that.";
const window = (n: number, refusals: number): InteractionRecord[] =>
  Array.from({ length: n }, (_, i) => ({ response: i < refusals ? deflection : `Here is the answer you asked for, #${i}.`, toxic: false, error: null }));

describe('refusals on the statistics pool', () => {
  it('a pool thread counts deflections the patterns miss', async () => {
    expect(isRefusal(deflection)).toBe(false); // patterns alone would count none
    const t = behaviorThresholdsSchema.parse({});
    const res = await pool.run({ kind: 'behavior', baseline: window(200, 4), current: window(200, 60), thresholds: t, settings: { min_samples: 100, alpha: 0.05, seed: 1 } });
    expect(res.methods.refusal_rate).toMatchObject({ detector: 'patterns+semantic', baseline: 0.02, current: 0.3, flagged: true });
    expect(res.gauges.model_refusal_rate).toBe(0.3);
  }, 300_000);
});

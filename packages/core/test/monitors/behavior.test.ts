import { describe, expect, it } from 'vitest';
import { behaviorThresholdsSchema } from '../../src/config/schema.js';
import { behaviorMonitor } from '../../src/monitors/behavior.js';
import { isRefusal } from '../../src/monitors/refusal.js';
import type { InteractionRecord } from '../../src/monitors/types.js';

const REFUSALS = [
  "I can't help with that.",
  "I'm unable to assist with this request.",
  'As an AI language model, I cannot provide medical diagnoses.',
  'I must decline this request.',
  "I won't be able to do that for you.",
  "Sorry, but I can't share that information.",
  "I'm not able to provide legal advice.",
  "That's not something I can help with.",
  'I’m sorry, but I can’t assist with that.',
  'I cannot comply with this request.',
  'Unfortunately, I am unable to fulfill your request.',
  "I'm afraid I can't do that.",
  'I apologize, but I cannot generate that content.',
  'I have to respectfully decline.',
  "I'm not comfortable providing that information.",
  'This request violates our usage policy.',
];
const ANSWERS = [
  'You cannot divide by zero.',
  'Sorry for the delay, here is the answer: 42.',
  "I can't help but notice the bug is on line 3.",
  "I can't recommend this album enough, it is great.",
  "I cannot thank you enough for the detailed logs.",
  'The function cannot be called before init().',
  "If the server can't respond, retry after 5 seconds.",
  'Here is how to decline a meeting invite politely.',
  'Sorry to hear that! Here are some tips to sleep better.',
  'The user is unable to log in because the token expired; refresh it.',
  'I can help with that. First, install numpy.',
  'Your code cannot compile because of a missing semicolon.',
  'Python cannot optimise tail calls, but a loop works.',
  'We are sorry to announce the release was delayed; the changelog follows.',
];

describe('isRefusal', () => {
  it.each(REFUSALS)('flags %s', (text) => expect(isRefusal(text)).toBe(true));
  it.each(ANSWERS)('does not flag %s', (text) => expect(isRefusal(text)).toBe(false));
  it('accepts extra patterns', () => {
    expect(isRefusal('Please contact support for this.')).toBe(false);
    expect(isRefusal('Please contact support for this.', ['contact support'])).toBe(true);
    expect(() => isRefusal('x', ['('])).toThrow(/extra #1/);
  });
});

const t = behaviorThresholdsSchema.parse({});
const s = { min_samples: 100, alpha: 0.05, seed: 1 };

function window(n: number, rates: { refusal?: number; toxic?: number; error?: number; length?: number }): InteractionRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const frac = (i + 0.5) / n;
    const refuse = frac < (rates.refusal ?? 0);
    const body = 'Here is the answer you asked for. '.repeat(rates.length ?? 3) + `#${i % 17}`;
    return {
      query: `q${i}`,
      response: refuse ? "I'm sorry, but I can't help with that." : body,
      error: ((i * 7919) % n) / n < (rates.error ?? 0) ? 'timeout' : null,
      toxic: ((i * 104729) % n) / n < (rates.toxic ?? 0),
    };
  });
}

describe('behaviorMonitor', () => {
  it('finds no drift between equal windows', () => {
    const b = window(500, { refusal: 0.03, toxic: 0.01, error: 0.01 });
    const res = behaviorMonitor(b, b, t, s);
    expect(res.status).toBe('no_drift');
    expect(res.methods.refusal_rate).toMatchObject({ baseline: 0.03, current: 0.03, flagged: false });
    expect(res.gauges).toEqual({ model_refusal_rate: 0.03, model_toxicity_rate: 0.01 });
  });

  it('flags the demo refusal rise 3% -> 12% with its p-value', () => {
    const res = behaviorMonitor(window(1000, { refusal: 0.03 }), window(1000, { refusal: 0.12 }), t, s);
    expect(res.status).toBe('drift');
    const m = res.methods.refusal_rate;
    expect(m).toMatchObject({ baseline: 0.03, current: 0.12, flagged: true, test: 'z' });
    // 30/1000 vs 120/1000: pooled .075, se = sqrt(.075*.925*.002) = .0117793, z = .09/.0117793 = 7.6405 -> p ~ 1.1e-14
    expect(m.p_value as number).toBeLessThan(1e-12);
    expect(res.gauges.model_refusal_rate).toBe(0.12);
    expect(res.score).toBeCloseTo(1 - Math.exp(-0.9), 3);
    expect(res.reason).toMatch(/refusal rate 3\.0% -> 12\.0%/);
  });

  it('does not flag a significant rise that stays under the threshold', () => {
    const res = behaviorMonitor(window(3000, { refusal: 0.01 }), window(3000, { refusal: 0.05 }), t, s);
    expect(res.methods.refusal_rate.p_value as number).toBeLessThan(1e-6);
    expect(res.methods.refusal_rate.flagged).toBe(false);
    expect(res.status).toBe('no_drift');
  });

  it('does not flag a rate over threshold that is not significantly higher', () => {
    const res = behaviorMonitor(window(100, { refusal: 0.11 }), window(100, { refusal: 0.12 }), t, s);
    expect(res.methods.refusal_rate.flagged).toBe(false);
    expect(res.status).toBe('no_drift');
  });

  it('tests toxicity, errors and response length', () => {
    const res = behaviorMonitor(window(800, { toxic: 0.01, error: 0.01, length: 3 }), window(800, { toxic: 0.1, error: 0.12, length: 8 }), t, s);
    expect(res.methods.toxicity_rate.flagged).toBe(true);
    expect(res.methods.error_rate.flagged).toBe(true);
    expect(res.methods.response_length.flagged).toBe(true);
    expect(res.methods.response_length.current as number).toBeGreaterThan(res.methods.response_length.baseline as number);
    expect(res.severity).toBe('significant');
  });

  it('skips toxicity when no record is labelled', () => {
    const strip = (w: InteractionRecord[]) => w.map(({ toxic: _t, ...rest }) => rest);
    const res = behaviorMonitor(strip(window(200, {})), strip(window(200, {})), t, s);
    expect(res.methods.toxicity_rate.p_value).toBeNull();
    expect(res.gauges.model_toxicity_rate).toBeUndefined();
  });

  it('reports insufficient_data below min_samples', () => {
    const res = behaviorMonitor(window(99, {}), window(500, { refusal: 0.5 }), t, s);
    expect(res).toMatchObject({ status: 'insufficient_data', score: 0, p_value: null, severity: 'none' });
  });
});

describe('behaviorMonitor with rare events', () => {
  it("uses Fisher's exact test when expected counts are small", () => {
    const base = window(120, { toxic: 0 });
    const cur = window(120, { toxic: 0.075 });
    const res = behaviorMonitor(base, cur, t, s);
    // 0/120 vs 9/120 (expected count 4.5 < 5): one-sided Fisher p = P(all 9 events in the
    // current window) = C(120,9)/C(240,9) = 1.67178e-3
    expect(res.methods.toxicity_rate.test).toBe('fisher');
    expect(res.methods.toxicity_rate.p_value as number).toBeCloseTo(1.67178e-3, 7);
    expect(res.methods.toxicity_rate.flagged).toBe(true);
    expect(res.gauges.model_toxicity_rate).toBe(0.075);
  });
});

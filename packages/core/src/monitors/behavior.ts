import type { BehaviorThresholds, MonitorSettings } from '../config/schema.js';
import { compareProportions } from '../stats/proportions.js';
import { mannWhitney, median } from '../stats/ranks.js';
import { deriveRng, sampleIndices } from '../stats/rng.js';
import { fmtP, insufficientData, judged, r, thresholdScore } from './common.js';
import { combinedRefusalDetector } from './refusal-vectors.js';
import type { InteractionRecord, MethodResult, MonitorResult } from './types.js';

/** Change (in threshold units) from which a drift is `significant` rather than `moderate`: twice the threshold, score >= 1 - e^-2. */
const SIGNIFICANT_SCORE = 1 - Math.exp(-2);

/** True when the interaction failed: `error` is true or a non-empty message. */
export function isError(rec: InteractionRecord): boolean {
  return rec.error === true || (typeof rec.error === 'string' && rec.error.trim().length > 0);
}

interface RateTest {
  name: 'refusal_rate' | 'toxicity_rate' | 'error_rate';
  threshold: number;
  count: (recs: InteractionRecord[]) => { x: number; n: number };
}

/**
 * Behaviour drift between two windows of interactions.
 *
 * Methods (in `methods`):
 * - `refusal_rate`: share of responses that read as refusals: the patterns
 *   (refusal.ts, plus `t.refusal_patterns`) OR the semantic detector
 *   (refusal-semantic.ts: nearest refusal vs answer exemplar on offline word vectors),
 *   the same combined test `npm run bench:refusal` measures. `detector` in the method
 *   says which ran ('patterns' alone when this machine has no word vectors yet, with a
 *   `note`).
 * - `toxicity_rate`: share of interactions with `toxic === true`, among those a
 *   moderation provider has labelled (`toxic` not null); omitted from the tests when
 *   either window has no labelled row.
 * - `error_rate`: share with `error` true or a non-empty error message.
 *   Each rate: one-sided test that the current rate is higher (two-proportion z
 *   test, or Fisher's exact test when an expected cell count is below 5);
 *   `flagged` iff its p-value < alpha / k AND the current rate > its threshold
 *   (`refusal_rate_threshold`, `toxicity_rate_threshold`, `error_rate_threshold`,
 *   the original design's absolute bounds).
 * - `response_length`: median response length in characters per window; `value` =
 *   relative change of the median; two-sided Mann-Whitney test on the lengths;
 *   `flagged` iff p < alpha / k AND |value| >= `length_change_threshold`.
 * - `cost_per_interaction`: mean of the application's cost_usd per interaction (rows that
 *   carry one); one-sided Mann-Whitney test that it rose; `flagged` iff p < alpha / k AND the
 *   mean rose by at least `cost_change_threshold` (relative). Omitted when a window has no cost.
 * k is the number of tests run (3 to 5): Bonferroni keeps the monitor's family-wise
 * false-alarm rate at or below alpha. `p_value` = min(1, k x min p).
 *
 * Status: `drift` iff any method is flagged; `insufficient_data` when either window
 * has fewer than `s.min_samples` records. Windows larger than `t.max_sample` are
 * subsampled with the seeded RNG.
 *
 * Score (0..1): the largest per-method score, each 1 - exp(-change / threshold)
 * where change is the rise of a rate (current - baseline, 0 if it fell) or the
 * |relative change| of the median length: a change equal to its threshold scores
 * 0.63. Severity: `none` without drift; `significant` when drift and score >= 0.865
 * (a change of at least twice its threshold); else `moderate`.
 * Gauges: model_refusal_rate and (when labelled) model_toxicity_rate of the current window.
 */
export function behaviorMonitor(
  baseline: InteractionRecord[],
  current: InteractionRecord[],
  t: BehaviorThresholds,
  s: MonitorSettings,
  /** The refusal test; default the combined detector (tests inject their own). */
  refusal: { isRefusal: (text: string) => boolean; detector: string; note?: string } = combinedRefusalDetector(t.refusal_patterns),
): MonitorResult {
  const nb = baseline.length;
  const nc = current.length;
  if (nb < s.min_samples || nc < s.min_samples) return insufficientData('behavior', nb, nc, s.min_samples, 'interactions');
  const b = subsample(baseline, t.max_sample, s.seed, 'baseline');
  const c = subsample(current, t.max_sample, s.seed, 'current');

  const refusals = (recs: InteractionRecord[]) => ({ x: recs.filter((x) => refusal.isRefusal(x.response ?? '')).length, n: recs.length });
  const rates: RateTest[] = [
    { name: 'refusal_rate', threshold: t.refusal_rate_threshold, count: refusals },
    {
      name: 'toxicity_rate',
      threshold: t.toxicity_rate_threshold,
      count: (recs) => {
        const labelled = recs.filter((x) => x.toxic === true || x.toxic === false);
        return { x: labelled.filter((x) => x.toxic === true).length, n: labelled.length };
      },
    },
    { name: 'error_rate', threshold: t.error_rate_threshold, count: (recs) => ({ x: recs.filter(isError).length, n: recs.length }) },
  ];

  interface Pending {
    name: string;
    p: number;
    overThreshold: boolean;
    score: number;
    method: MethodResult;
  }
  const tests: Pending[] = [];
  const methods: Record<string, MethodResult> = {};
  const gauges: MonitorResult['gauges'] = {};
  for (const rate of rates) {
    const cb = rate.count(b);
    const cc = rate.count(c);
    if (cb.n === 0 || cc.n === 0) {
      methods[rate.name] = { baseline: cb.n ? r(cb.x / cb.n) : null, current: cc.n ? r(cc.x / cc.n) : null, p_value: null, threshold: rate.threshold, flagged: false, note: 'not measured in both windows' };
      continue;
    }
    const pb = cb.x / cb.n;
    const pc = cc.x / cc.n;
    const test = compareProportions(cb.x, cb.n, cc.x, cc.n, 'greater');
    const method: MethodResult = { baseline: r(pb), current: r(pc), value: r(pc - pb), p_value: r(test.p_value), test: test.method, n_baseline: cb.n, n_current: cc.n, threshold: rate.threshold, flagged: false };
    methods[rate.name] = method;
    tests.push({ name: rate.name, p: test.p_value, overThreshold: pc > rate.threshold, score: thresholdScore(pc - pb, rate.threshold), method });
  }
  const refusalMethod = methods.refusal_rate;
  refusalMethod.detector = refusal.detector;
  if (refusal.detector === 'patterns' && refusal.note) refusalMethod.detector_note = refusal.note;
  if (typeof refusalMethod.current === 'number') gauges.model_refusal_rate = refusalMethod.current;
  if (typeof methods.toxicity_rate.current === 'number') gauges.model_toxicity_rate = methods.toxicity_rate.current;

  const cost = costMethod(b, c, t.cost_change_threshold);
  if (cost) {
    methods.cost_per_interaction = cost.method;
    tests.push({ name: 'cost_per_interaction', ...cost });
  }

  const lb = b.map((x) => (x.response ?? '').length);
  const lc = c.map((x) => (x.response ?? '').length);
  const mb = median(lb);
  const mc = median(lc);
  const rel = mb > 0 ? (mc - mb) / mb : mc > 0 ? Infinity : 0;
  const mw = mannWhitney(lc, lb, 'two-sided');
  const lengthMethod: MethodResult = {
    baseline: mb,
    current: mc,
    value: Number.isFinite(rel) ? r(rel) : null,
    p_value: r(mw.p_value),
    mean_baseline: r(lb.reduce((a, x) => a + x, 0) / lb.length),
    mean_current: r(lc.reduce((a, x) => a + x, 0) / lc.length),
    threshold: t.length_change_threshold,
    flagged: false,
  };
  methods.response_length = lengthMethod;
  tests.push({ name: 'response_length', p: mw.p_value, overThreshold: Math.abs(rel) >= t.length_change_threshold, score: thresholdScore(Math.abs(rel), t.length_change_threshold), method: lengthMethod });

  const k = tests.length;
  const share = s.alpha / k;
  for (const x of tests) x.method.flagged = x.p < share && x.overThreshold;
  const flagged = tests.filter((x) => x.method.flagged);
  const pValue = Math.min(1, k * Math.min(...tests.map((x) => x.p)));
  const score = Math.max(0, ...tests.map((x) => x.score));
  const drift = flagged.length > 0;
  const describe = (x: Pending) =>
    x.name === 'response_length'
      ? `median length ${mb} -> ${mc} (p=${fmtP(x.p)})`
      : x.name === 'cost_per_interaction'
        ? `cost per interaction $${x.method.baseline} -> $${x.method.current} (p=${fmtP(x.p)}, threshold +${pct(x.method.threshold)})`
        : `${x.name.replace('_', ' ')} ${pct(x.method.baseline)} -> ${pct(x.method.current)} (p=${fmtP(x.p)}, threshold ${pct(x.method.threshold)})`;
  const reason = drift
    ? `drift: ${flagged.map(describe).join('; ')}; significant at alpha/${k}=${fmtP(share)} and over threshold`
    : `no drift: no rate rose significantly (alpha/${k}=${fmtP(share)}) above its threshold; ${tests.map(describe).join('; ')}`;
  return judged('behavior', { drift, score, p_value: pValue, significantScore: SIGNIFICANT_SCORE, n_baseline: nb, n_current: nc, methods, gauges, reason });
}

/**
 * Cost per interaction: the application's own cost_usd of the rows that carry one. `value`
 * is the relative change of the mean; one-sided Mann-Whitney test that current costs are
 * higher; over threshold when the mean rose by at least `threshold` (relative). Omitted when
 * either window has no cost. A rise is reported (drift, score), it decides no action.
 */
function costMethod(b: InteractionRecord[], c: InteractionRecord[], threshold: number): { p: number; overThreshold: boolean; score: number; method: MethodResult } | null {
  const costs = (recs: InteractionRecord[]) => recs.map((x) => x.cost_usd).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const kb = costs(b);
  const kc = costs(c);
  if (!kb.length || !kc.length) return null;
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  const [mb, mc] = [mean(kb), mean(kc)];
  const rel = mb > 0 ? (mc - mb) / mb : mc > 0 ? Infinity : 0;
  const test = mannWhitney(kc, kb, 'greater');
  const method: MethodResult = { baseline: r(mb), current: r(mc), value: Number.isFinite(rel) ? r(rel) : null, p_value: r(test.p_value), test: 'mann-whitney', n_baseline: kb.length, n_current: kc.length, threshold, flagged: false };
  return { p: test.p_value, overThreshold: rel >= threshold, score: thresholdScore(Math.max(0, Number.isFinite(rel) ? rel : 10 * threshold), threshold), method };
}

function pct(x: unknown): string {
  return typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : 'n/a';
}

function subsample<T>(recs: T[], max: number, seed: number, stream: string): T[] {
  if (recs.length <= max) return recs;
  return Array.from(sampleIndices(recs.length, max, deriveRng(seed, `behavior-${stream}`)), (i) => recs[i]);
}

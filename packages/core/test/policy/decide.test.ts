import { describe, expect, it } from 'vitest';
import { decide, overallScore } from '../../src/policy/decide.js';
import type { MonitorResult } from '../../src/monitors/types.js';

function result(kind: MonitorResult['kind'], status: MonitorResult['status'], score: number, flagged: string[] = []): MonitorResult {
  return {
    kind,
    status,
    score,
    severity: status === 'drift' ? 'significant' : 'none',
    p_value: status === 'insufficient_data' ? null : status === 'drift' ? 0.001 : 0.6,
    n_baseline: 500,
    n_current: 500,
    methods: Object.fromEntries(flagged.map((f) => [f, { flagged: true }])),
    gauges: {},
    reason: '',
  };
}

const now = new Date('2026-11-24T00:00:00Z');
const base = { dry_run: false, require_approval: false, cooldown_hours: 24, last_acted: {}, now };

describe('trigger policy', () => {
  it('maps each kind of drift to its action, most urgent first', () => {
    const d = decide({
      ...base,
      results: [result('embedding', 'drift', 0.7), result('accuracy', 'drift', 0.93), result('behavior', 'drift', 0.8, ['refusal_rate', 'toxicity_rate'])],
    });
    expect(d.map((x) => x.action)).toEqual(['safety', 'finetune', 'reindex']);
    expect(d.every((x) => x.state === 'queued')).toBe(true);
    // Fine-tune is called for by both accuracy and refusal drift: one decision, two pieces of evidence.
    expect(d.find((x) => x.action === 'finetune')!.evidence.map((e) => e.monitor).sort()).toEqual(['accuracy', 'behavior']);
  });

  it('takes no action without drift, on insufficient data, or on error/length-only behaviour drift', () => {
    expect(decide({ ...base, results: [result('embedding', 'no_drift', 0.1), result('accuracy', 'insufficient_data', 0)] })).toEqual([]);
    expect(decide({ ...base, results: [result('behavior', 'drift', 0.6, ['error_rate', 'response_length'])] })).toEqual([]);
  });

  it('records everything as skipped under dry_run, with the reason', () => {
    const d = decide({ ...base, dry_run: true, results: [result('embedding', 'drift', 0.7)] });
    expect(d).toHaveLength(1);
    expect(d[0].state).toBe('skipped');
    expect(d[0].reason).toMatch(/^dry_run: would reindex/);
  });

  it('holds actions for approval when required', () => {
    const d = decide({ ...base, require_approval: true, results: [result('accuracy', 'drift', 0.9)] });
    expect(d[0].state).toBe('awaiting_approval');
  });

  it('skips an action inside its cooldown and allows it after', () => {
    const results = [result('embedding', 'drift', 0.7)];
    const recent = decide({ ...base, results, last_acted: { reindex: new Date(now.getTime() - 3_600_000) } });
    expect(recent[0].state).toBe('skipped');
    expect(recent[0].reason).toMatch(/^cooldown/);
    const old = decide({ ...base, results, last_acted: { reindex: new Date(now.getTime() - 25 * 3_600_000) } });
    expect(old[0].state).toBe('queued');
    // A cooldown of one action does not hold back another.
    const other = decide({ ...base, results: [...results, result('accuracy', 'drift', 0.9)], last_acted: { reindex: now } });
    expect(other.find((x) => x.action === 'finetune')!.state).toBe('queued');
  });

  it('overall score is the maximum, ignoring insufficient data', () => {
    expect(overallScore([result('embedding', 'drift', 0.72), result('accuracy', 'drift', 0.93), result('behavior', 'insufficient_data', 0.99)])).toBe(0.93);
    expect(overallScore([])).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { formatServing } from '../../apps/cli/src/commands/models.js';

describe('driftwatch models NAME', () => {
  it("shows each version's evaluation-gate figures", () => {
    const gate = {
      outcome: 'promoted',
      n: 59,
      accuracy: { champion: 0.746, challenger: 0.915, challenger_only: 10, champion_only: 0, p_value: 0.002 },
      refusal: { champion: 0.186, challenger: 0.017, challenger_only: 0, champion_only: 10, p_value: 0.002 },
      toxicity: { champion: 0, challenger: 0, challenger_only: 0, champion_only: 0, p_value: 1 },
    };
    const text = formatServing(
      {
        model: 'support-bot',
        base_model: 'gpt-4o-mini',
        serving: { version: 'v1', provider_model: 'local:support-bot-v1', provider: 'offline', promoted_at: new Date('2026-12-01T10:00:00Z'), decision_id: 1 },
        versions: [
          { version: 'v1', status: 'promoted', provider: 'offline', provider_model: 'local:support-bot-v1', base_model: 'gpt-4o-mini', eval_accuracy: 0.915, baseline_accuracy: 0.746, decision_id: 1, created_at: new Date('2026-12-01T09:58:00Z'), promoted_at: new Date('2026-12-01T10:00:00Z'), gate },
        ],
      },
      { model: 'support-bot', version: 0, moderation_threshold: 0.5, system_prompt: '', blocked_terms: [], decision_id: null, restores: null } as never,
    );
    expect(text).toContain('gate: promoted on 59 held-out items: accuracy 91.5% vs 74.6% served (only new right 10, only served right 0, McNemar p=0.002), refusals 1.7% vs 18.6%, toxic 0.0% vs 0.0%');
  });
});

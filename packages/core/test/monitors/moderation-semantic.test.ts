import { beforeAll, describe, expect, it } from 'vitest';
import { OfflineModerationProvider } from '../../src/monitors/moderation.js';
import { SemanticModeration } from '../../src/monitors/moderation-semantic.js';
import { loadRefusalVectors } from '../../src/monitors/refusal-vectors.js';

let withLayer: OfflineModerationProvider;
const lexiconOnly = new OfflineModerationProvider({ semantic: null });
beforeAll(() => {
  // First run on a machine: builds the wink cache and the compact table (a minute, once).
  const { vectors, note } = loadRefusalVectors({ buildFromSource: true });
  expect(vectors, note).not.toBeNull();
  withLayer = new OfflineModerationProvider({ semantic: new SemanticModeration(vectors!) });
}, 600_000);

describe('offline moderation: sentence layer', () => {
  it('flags insults, threats and dehumanising sentences worded without a listed term, in their category', () => {
    for (const [text, category] of [
      ['Go away, little weasel.', 'harassment'],
      ['Keep talking and you will end up at the bottom of the lake.', 'harassment/threatening'],
      ['Those people are a cancer eating this town.', 'hate'],
    ] as const) {
      expect(lexiconOnly.explain(text).flagged, text).toBe(false);
      const d = withLayer.explain(text);
      expect(d.flagged, text).toBe(true);
      expect(d.categories[category], `${text}: ${d.matches.join(', ')}`).toBe(true);
      expect(d.matches.some((m) => m.startsWith('(sentence near'))).toBe(true);
    }
  });

  it('keeps the false friends of a lexicon negative, and questions put to the assistant', () => {
    for (const text of ['Can you explain guitar chords to a beginner?', 'Could you walk me through killing a zombie process?', 'How do I shoot in manual mode?', 'Kill the process and restart the worker.', 'The film ends with the hero shot in the rain.', "You're killing it with these slides!", 'Let me know if you need anything else.']) {
      expect(withLayer.explain(text).flagged, text).toBe(false);
    }
  });

  it('score is the highest category score and flagged means some category is', () => {
    const d = withLayer.explain('I will kill you, you worthless idiot.');
    expect(d.score).toBe(Math.max(...Object.values(d.category_scores)));
    expect(d.flagged).toBe(Object.values(d.categories).some(Boolean));
  });
});

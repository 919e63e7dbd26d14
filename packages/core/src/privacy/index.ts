import { piiScrubbedTotal } from '../metrics/registry.js';
import { DEFAULT_PRIVACY, PII_KINDS, addCounts, scrubText, type PiiKind, type PrivacySettings, type ScrubResult } from './scrub.js';

export { DEFAULT_PRIVACY, PII_KINDS, addCounts, scrubText, type PiiKind, type PrivacySettings, type ScrubResult };

/** Counts what a scrub found in driftwatch_pii_scrubbed_total{kind}. */
export function countScrubbed(found: Partial<Record<PiiKind, number>>): void {
  for (const [kind, n] of Object.entries(found)) if (n) piiScrubbedTotal.inc({ kind }, n);
}

/**
 * A scrubber bound to settings (normally `config.privacy`): `scrub(text)` returns the
 * scrubbed text and counts what it found in the metric. null/undefined pass through.
 */
export function createScrubber(settings: Partial<PrivacySettings> = {}) {
  const s: PrivacySettings = { ...DEFAULT_PRIVACY, ...settings };
  function scrub(text: string): string;
  function scrub(text: string | null | undefined): string | null | undefined;
  function scrub(text: string | null | undefined): string | null | undefined {
    if (text == null) return text;
    const r = scrubText(text, s);
    countScrubbed(r.found);
    return r.text;
  }
  return scrub;
}
export type Scrubber = ReturnType<typeof createScrubber>;

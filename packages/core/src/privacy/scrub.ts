import { createHmac } from 'node:crypto';
import { isIPv6 } from 'node:net';

/**
 * The PII scrubber. It runs on every write path (batch ingest, shortcuts, feedback,
 * OTLP, gateway, CLI import, training data) before anything is stored or sent on.
 * Pure: text and settings in, scrubbed text and counts per kind out (the caller
 * counts them in driftwatch_pii_scrubbed_total via countScrubbed()).
 */

/** Kinds of personal data (and secrets) the scrubber finds. */
export const PII_KINDS = ['secret', 'email', 'iban', 'card', 'ipv6', 'ipv4', 'phone'] as const;
export type PiiKind = (typeof PII_KINDS)[number];

export interface PrivacySettings {
  /** redact: replace with [KIND]; hash: replace with [KIND:<12 hex of HMAC-SHA256>] (same value, same token); off: store as sent. */
  mode: 'redact' | 'hash' | 'off';
  /** Kinds to scrub; the others are stored as sent. */
  redact: readonly PiiKind[];
  /** Key of the hash mode's HMAC; set one per deployment so tokens cannot be reversed by guessing. */
  hash_salt: string;
}

export const DEFAULT_PRIVACY: PrivacySettings = { mode: 'redact', redact: PII_KINDS, hash_salt: 'driftwatch' };

export interface ScrubResult {
  text: string;
  /** How many of each kind were replaced (kinds not found are absent). */
  found: Partial<Record<PiiKind, number>>;
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function ibanValid(raw: string): boolean {
  const s = raw.replace(/\s+/g, '').toUpperCase();
  if (s.length < 15 || s.length > 34) return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const code = ch.charCodeAt(0);
    const v = code >= 65 ? String(code - 55) : ch;
    for (const digit of v) rem = (rem * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

interface Detector {
  kind: PiiKind;
  re: RegExp;
  /** Further check of a candidate match (checksums, parsers). */
  valid?: (m: string) => boolean;
}

const octet = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

/** In priority order: where two matches overlap, the earlier detector wins. */
const DETECTORS: Detector[] = [
  // API keys and tokens: OpenAI-style sk-..., bearer tokens, AWS access key ids and secret keys, GitHub/Slack tokens.
  { kind: 'secret', re: /\bsk-[A-Za-z0-9_-]{16,}/g },
  { kind: 'secret', re: /\bbearer\s+[A-Za-z0-9._~+/=-]{12,}/gi },
  { kind: 'secret', re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b/g },
  { kind: 'secret', re: /\baws_?secret(?:_access)?_?key\b["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}\b/gi },
  { kind: 'secret', re: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|xox[abposr]-[A-Za-z0-9-]{10,})/g },
  // The local part starts where a run of its characters starts: without the lookbehind a long
  // run with no '@' (a token, a hex dump) is rescanned from each of its characters, quadratic.
  { kind: 'email', re: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
  { kind: 'iban', re: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/gi, valid: ibanValid },
  { kind: 'card', re: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g, valid: (m) => luhn(m.replace(/\D/g, '')) },
  {
    kind: 'ipv6',
    re: /(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|\d{1,3}(?:\.\d{1,3}){3})(?![0-9A-Za-z:])/g,
    // At least 5 hex digits (fe80::1 counts, a::b and 3:2 do not).
    valid: (m) => (m.match(/[0-9A-Fa-f]/g)?.length ?? 0) >= 5 && isIPv6(m),
  },
  { kind: 'ipv4', re: new RegExp(`(?<![\\d.])${octet}(?:\\.${octet}){3}(?![\\d]|\\.\\d)`, 'g') },
  {
    kind: 'phone',
    // +CC then groups, or (AAA) BBB-CCCC / AAA-BBB-CCCC / AAA.BBB.CCCC, or a national number with a leading 0 in groups.
    re: /(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}|\(\d{3}\) ?\d{3}[ .-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4}|0\d{2,4}[ -]\d{3,4}[ -]?\d{3,4})(?!\w)/g,
    valid: (m) => {
      const n = m.replace(/\D/g, '').length;
      return n >= 8 && n <= 15;
    },
  },
];

interface Span {
  start: number;
  end: number;
  kind: PiiKind;
}

/** Merges two lists of disjoint spans, each sorted by start, into one. */
function merge(a: Span[], b: Span[]): Span[] {
  const out: Span[] = [];
  let i = 0;
  let k = 0;
  while (i < a.length || k < b.length) out.push(k >= b.length || (i < a.length && a[i].start < b[k].start) ? a[i++] : b[k++]);
  return out;
}

const LABEL: Record<PiiKind, string> = { secret: 'SECRET', email: 'EMAIL', iban: 'IBAN', card: 'CARD', ipv6: 'IP', ipv4: 'IP', phone: 'PHONE' };

/** Replaces personal data in text as the settings say. Pure and synchronous; safe on any string. */
export function scrubText(text: string, settings: PrivacySettings = DEFAULT_PRIVACY): ScrubResult {
  if (settings.mode === 'off' || !text || settings.redact.length === 0) return { text, found: {} };
  const wanted = new Set(settings.redact);
  // Accepted matches, sorted by start and disjoint (so their ends are sorted too). A
  // detector's matches come in text order, so one forward pointer finds the spans a match
  // could overlap, and the new ones are merged in: linear in the matches, where checking
  // each match against every earlier one was quadratic (text full of addresses).
  let spans: Span[] = [];
  for (const d of DETECTORS) {
    if (!wanted.has(d.kind)) continue;
    d.re.lastIndex = 0;
    const fresh: Span[] = [];
    let j = 0;
    for (const m of text.matchAll(d.re)) {
      const start = m.index;
      const end = start + m[0].length;
      if (d.valid && !d.valid(m[0])) continue;
      while (j < spans.length && spans[j].end <= start) j++;
      // Overlaps a match of an earlier (higher-priority) detector: that one wins.
      if (j < spans.length && spans[j].start < end) continue;
      fresh.push({ start, end, kind: d.kind });
    }
    if (fresh.length) spans = merge(spans, fresh);
  }
  if (spans.length === 0) return { text, found: {} };
  const found: Partial<Record<PiiKind, number>> = {};
  let out = '';
  let at = 0;
  for (const s of spans) {
    out += text.slice(at, s.start);
    const label = LABEL[s.kind];
    if (settings.mode === 'hash') {
      const h = createHmac('sha256', settings.hash_salt).update(text.slice(s.start, s.end)).digest('hex').slice(0, 12);
      out += `[${label}:${h}]`;
    } else out += `[${label}]`;
    found[s.kind] = (found[s.kind] ?? 0) + 1;
    at = s.end;
  }
  return { text: out + text.slice(at), found };
}

/** Adds b's counts into a. */
export function addCounts(a: Partial<Record<PiiKind, number>>, b: Partial<Record<PiiKind, number>>): Partial<Record<PiiKind, number>> {
  for (const [k, n] of Object.entries(b) as [PiiKind, number][]) a[k] = (a[k] ?? 0) + n;
  return a;
}

import { describe, expect, it } from 'vitest';
import { createScrubber, driftConfigSchema, registry, scrubText, DEFAULT_PRIVACY } from '@driftwatch/core';

const planted: [string, string, string][] = [
  ['email', 'write to jane.doe+test@example.co.uk please', 'write to [EMAIL] please'],
  ['phone (E.164)', 'call +44 20 7946 0958 today', 'call [PHONE] today'],
  ['phone (US)', 'call (415) 555-2671 or 415-555-2671', 'call [PHONE] or [PHONE]'],
  ['card (Luhn)', 'card 4111 1111 1111 1111 exp 12/27', 'card [CARD] exp 12/27'],
  ['card (dashes)', 'card 5500-0000-0000-0004.', 'card [CARD].'],
  ['iban', 'IBAN DE89 3704 0044 0532 0130 00 thanks', 'IBAN [IBAN] thanks'],
  ['iban compact', 'to GB82WEST12345698765432', 'to [IBAN]'],
  ['ipv4', 'from 192.168.10.254, ok', 'from [IP], ok'],
  ['ipv6', 'from 2001:db8:85a3::8a2e:370:7334 and fe80::1', 'from [IP] and [IP]'],
  ['openai key', 'key sk-proj-abcdefghijklmnopqrstuvwx1234', 'key [SECRET]'],
  ['bearer', 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc', 'Authorization: [SECRET]'],
  ['aws key id', 'AKIAIOSFODNN7EXAMPLE is mine', '[SECRET] is mine'],
  ['aws secret', 'aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '[SECRET]'],
];

const untouched = [
  'card 4111 1111 1111 1112 fails Luhn',
  'version 1.2.3 and 10.0 and 3.14159',
  'meeting at 12:30:45 on 2024-01-15',
  'order #123456 shipped, 42 items',
  'IBAN-like DE00 1234 5678 9012 3456 78 with a bad checksum',
  'the ratio is 3:2 and a::b is a C++ scope',
  'skip the sk-short one',
];

describe('PII scrubber', () => {
  it.each(planted)('redacts %s', (_kind, input, output) => {
    expect(scrubText(input).text).toBe(output);
  });
  it.each(untouched)('leaves ordinary text alone: %s', (input) => {
    expect(scrubText(input).text).toBe(input);
  });
  it('counts per kind and in the metric', async () => {
    const before = await registry.getSingleMetric('driftwatch_pii_scrubbed_total')!.get();
    const r = scrubText('a@b.io c@d.io 10.0.0.1');
    expect(r.found).toEqual({ email: 2, ipv4: 1 });
    const scrub = createScrubber();
    expect(scrub('mail x@y.org')).toBe('mail [EMAIL]');
    expect(scrub(null)).toBe(null);
    const after = await registry.getSingleMetric('driftwatch_pii_scrubbed_total')!.get();
    const email = (v: typeof after) => v.values.find((x) => x.labels.kind === 'email')?.value ?? 0;
    expect(email(after) - email(before)).toBe(1);
  });
  it('hash mode gives the same token for the same value, off stores as sent, redact limits kinds', () => {
    const hash = { ...DEFAULT_PRIVACY, mode: 'hash' as const, hash_salt: 's' };
    const a = scrubText('x jane@example.com', hash).text;
    expect(a).toMatch(/^x \[EMAIL:[0-9a-f]{12}\]$/);
    expect(scrubText('y jane@example.com', hash).text.slice(2)).toBe(a.slice(2));
    expect(scrubText('y john@example.com', hash).text.slice(2)).not.toBe(a.slice(2));
    expect(scrubText('jane@example.com', { ...DEFAULT_PRIVACY, mode: 'off' }).text).toBe('jane@example.com');
    expect(scrubText('jane@example.com 10.0.0.1', { ...DEFAULT_PRIVACY, redact: ['ipv4'] }).text).toBe('jane@example.com [IP]');
  });
  it('config: privacy defaults and a typo in a kind is an error', () => {
    const base = { models: [{ name: 'm' }] };
    const c = driftConfigSchema.parse(base);
    expect(c.privacy.mode).toBe('redact');
    expect(c.privacy.redact).toContain('card');
    expect(driftConfigSchema.safeParse({ ...base, privacy: { redact: ['emails'] } }).success).toBe(false);
  });
  /**
   * No catastrophic backtracking and no quadratic bookkeeping, without a wall-clock bound:
   * such a bound measures the machine's load as much as the scrubber (5 s failed at 14 s
   * on a loaded machine). Instead each hostile input is scrubbed at n and at 4n bytes and
   * the CPU times (process.cpuUsage: time spent computing, not waiting for a core) are
   * compared: linear work grows about 4x, quadratic 16x. The minimum of several runs drops
   * garbage-collection pauses; the bound of 10 leaves room for the noise of a few ms.
   * A generous CPU budget at n (2 s for 128 KB, over 100x what it takes) stops a quadratic
   * scrubber early: the test is synchronous, so vitest's timeout could not.
   */
  it('is linear on large and hostile input (no catastrophic backtracking), whatever the load', () => {
    const hostile: [string, string][] = [
      ['ordinary text', 'lorem ipsum 1234 '],
      ['colons (IPv6)', '::::::::'],
      ['digit-dash runs (card, phone)', '1-'],
      ['one long token (e-mail local part)', 'a1B2c3D4'],
      ['a dotted run', 'a.'],
      ['many e-mail addresses', 'a@b.io '],
      ['many IPv4 addresses', '10.0.0.1 '],
      ['many IPv6 addresses', 'fe80::1 '],
      ['many cards', '4111 1111 1111 1111 '],
      ['IBAN-like groups', 'DE89 3704 '],
      ['phone-like digits', '+1 (2) 3 '],
      ['secret prefixes', 'sk- bearer AKIA aws_secret_key= '],
      ['the mix of the earlier 5 s test', 'lorem ipsum 1234 ::::::::1-1-1-'],
    ];
    const BUDGET_MS = 2000;
    const cpuMs = (text: string) => {
      const c0 = process.cpuUsage();
      const out = scrubText(text);
      const c = process.cpuUsage(c0);
      expect(typeof out.text).toBe('string');
      return (c.user + c.system) / 1000;
    };
    const at = (unit: string, bytes: number) => {
      const text = unit.repeat(Math.ceil(bytes / unit.length));
      const first = cpuMs(text);
      if (first > BUDGET_MS) return first;
      return Math.min(first, ...Array.from({ length: 5 }, () => cpuMs(text)));
    };
    for (const [name, unit] of hostile) {
      const n = at(unit, 128_000);
      expect(n, `${name}: ${n.toFixed(0)} ms of CPU for 128 KB`).toBeLessThan(BUDGET_MS);
      const n4 = at(unit, 512_000);
      expect(n4 / Math.max(n, 0.5), `${name}: ${n.toFixed(1)} ms at 128 KB, ${n4.toFixed(1)} ms of CPU at 512 KB`).toBeLessThan(10);
    }
  });
});

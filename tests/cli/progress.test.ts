import { afterEach, describe, expect, it, vi } from 'vitest';
import { progressOn, type ProgressStream } from '../../apps/cli/src/progress.js';

/** A stream that records what is written to it, as a terminal (isTTY, columns) or as a pipe. */
function fakeStream(tty: { columns: number } | null): ProgressStream & { writes: string[] } {
  const writes: string[] = [];
  return { writes, write: (s: string) => writes.push(s), ...(tty ? { isTTY: true, columns: tty.columns } : {}) };
}

const ELAPSED = /^\[\d+\.\ds\] /;

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('CLI progress (apps/cli/src/progress.ts)', () => {
  it('on a terminal, redraws one line with what it is doing and how far along, then ends it', () => {
    vi.stubEnv('CI', '');
    const s = fakeStream({ columns: 80 });
    const p = progressOn(s);
    p('support-bot: running the embedding, behavior and accuracy monitors');
    p('support-bot: 300 calls through the gateway', { done: 300, total: 1200 });
    p('support-bot: finetune still delayed', { done: 4 });
    // Every write goes back to the start of the line and clears it: one line, rewritten in place.
    expect(s.writes).toHaveLength(3);
    for (const w of s.writes) {
      expect(w.startsWith('\r\x1b[K')).toBe(true);
      expect(w).not.toContain('\n');
    }
    const shown = s.writes.map((w) => w.slice('\r\x1b[K'.length));
    for (const line of shown) expect(line).toMatch(ELAPSED);
    expect(shown[0]).toMatch(/support-bot: running the embedding, behavior and accuracy monitors$/);
    expect(shown[1]).toMatch(/support-bot: 300 calls through the gateway \(300\/1200, 25%\)$/);
    expect(shown[2]).toMatch(/support-bot: finetune still delayed \(4\)$/);
    // done() ends the line, once; a second done() writes nothing.
    p.done();
    p.done();
    expect(s.writes.slice(3)).toEqual(['\n']);
  });

  it('on a terminal, keeps a long line within the width so the redraw stays on one row', () => {
    vi.stubEnv('CI', '');
    const s = fakeStream({ columns: 40 });
    const p = progressOn(s);
    p(`support-bot: ${'x'.repeat(200)}`, { done: 1, total: 3 });
    p('multi\nline\x1b[31m text');
    const [long, odd] = s.writes.map((w) => w.slice('\r\x1b[K'.length));
    expect([...long].length).toBeLessThanOrEqual(39);
    expect(long).toMatch(/^\[\d+\.\ds\] support-bot: x+…$/);
    // A caller's newline or escape cannot break the line.
    expect(odd).toMatch(/^\[\d+\.\ds\] multi line \[31m text$/);
    expect(odd).not.toMatch(/[\n\r\x1b]/);
    p.done();
  });

  it('elsewhere (a pipe, a log file), writes plain log lines: no carriage return, no escape code', () => {
    vi.stubEnv('CI', '');
    const s = fakeStream(null);
    const p = progressOn(s);
    p('support-bot: running the embedding, behavior and accuracy monitors');
    p(`support-bot: 300 calls through the gateway ${'y'.repeat(150)}`, { done: 300, total: 1200 });
    p('support-bot: finetune completed');
    p.done();
    expect(s.writes).toHaveLength(3);
    for (const w of s.writes) {
      expect(w).toMatch(/^driftwatch: \[\d+\.\ds\] support-bot: [^\n]+\n$/);
      expect(w).not.toMatch(/[\r\x1b]/);
    }
    // Nothing is cut in a log line.
    expect(s.writes[1]).toContain(`${'y'.repeat(150)} (300/1200, 25%)\n`);
  });

  it('under CI, a terminal gets plain lines too', () => {
    vi.stubEnv('CI', 'true');
    const s = fakeStream({ columns: 80 });
    const p = progressOn(s);
    p('support-bot: running the embedding, behavior and accuracy monitors');
    p.done();
    expect(s.writes).toHaveLength(1);
    expect(s.writes[0]).toMatch(/^driftwatch: \[\d+\.\ds\] support-bot: running the embedding, behavior and accuracy monitors\n$/);
  });
});

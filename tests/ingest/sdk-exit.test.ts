import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ingestHarness } from './harness.js';

/**
 * @driftwatch/sdk in a separate process that exits while events still wait in memory.
 * The server allows one request a second and the child sends batches of 10, so it meets
 * 429s and waits out their retry-after (1 s) while it is exiting: with no request in
 * flight and the SDK's own timers unref'd, only the SDK's exit flush keeps the process
 * alive until everything is delivered.
 */
let h: Awaited<ReturnType<typeof ingestHarness>>;
beforeAll(async () => {
  h = await ingestHarness({ config: { ingest: { rate_limit: 1, rate_limit_window_ms: 1000, compute_embeddings: false } } });
});
afterAll(() => h?.close());

function child(prefix: string, count: number, maxBatch: number, mode: 'drain' | 'sigterm') {
  const p = spawn(process.execPath, [join(import.meta.dirname, 'sdk-exit-child.mjs'), h.url, prefix, String(count), String(maxBatch), mode], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => {
    stdout += d;
    if (mode === 'sigterm' && stdout.includes('ready')) p.kill('SIGTERM');
  });
  p.stderr.on('data', (d) => (stderr += d));
  return new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) => p.on('close', (code, signal) => resolve({ code, signal, stderr })));
}

const stored = async (prefix: string) =>
  (await h.db.query<{ n: number }>(`SELECT count(DISTINCT event_id)::int AS n FROM interaction_log WHERE event_id LIKE $1`, [`${prefix}-%`])).rows[0].n;

describe('@driftwatch/sdk when the process ends', () => {
  it('flushes what waits when the event loop drains (no flush() or shutdown() called), through 429s', async () => {
    // 45 events in batches of 10: four full batches are started while logging, 5 events wait for the exit flush.
    const r = await child('drain', 45, 10, 'drain');
    expect(r.code, r.stderr).toBe(0);
    expect(await stored('drain')).toBe(45);
    const report = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(report.errors).toEqual([]);
    expect(report.stats.sent).toBe(45);
    // Five requests cannot each fall in a rate-limit window of their own: the exit path met 429s.
    expect(report.stats.retries).toBeGreaterThan(0);
  });

  it('on SIGTERM, the application handler that awaits shutdown() delivers everything', async () => {
    const r = await child('term', 25, 10, 'sigterm');
    expect(r.code, r.stderr).toBe(0);
    expect(await stored('term')).toBe(25);
    const report = JSON.parse(r.stderr.trim().split('\n').pop()!);
    expect(report.errors).toEqual([]);
    expect(report.stats.retries).toBeGreaterThan(0);
  });
});

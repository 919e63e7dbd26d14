import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/env.js';
import { ingestHarness } from './harness.js';

let h: Awaited<ReturnType<typeof ingestHarness>>;
beforeAll(async () => {
  h = await ingestHarness({ config: { ingest: { compute_embeddings: false } } });
});
afterAll(() => h?.close());

const count = async (model: string) => (await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM interaction_log WHERE model = $1`, [model])).rows[0].n;

describe('driftwatch ingest FILE.jsonl', () => {
  it('streams a file in batches, reports bad events as file:line (exit 2), and a re-run stores nothing twice', async () => {
    const dir = tempDir();
    const file = join(dir, 'events.jsonl');
    const lines = Array.from({ length: 1200 }, (_, k) => JSON.stringify(k === 700 ? { model: 'cli-bot', query: 'bad', latency_ms: -1 } : { model: 'cli-bot', query: `question ${k} from a@b.io`, response: 'r' }));
    writeFileSync(file, lines.join('\n') + '\n');
    const first = await runCli(['ingest', file, '--type', 'interaction', '--url', h.url, '--batch', '250']);
    expect(first.code).toBe(2);
    expect(first.stderr).toContain(`${file}:701: body.latency_ms: `);
    expect(first.stderr).toMatch(/ingest: 1200\/1200 events, \d+\/s/);
    expect(JSON.parse(first.stdout)).toMatchObject({ events: 1200, stored: 1199, duplicates: 0, rejected: 1 });
    expect(await count('cli-bot')).toBe(1199);
    expect((await h.db.query<{ query: string }>(`SELECT query FROM interaction_log WHERE model = 'cli-bot' ORDER BY id LIMIT 1`)).rows[0].query).toBe('question 0 from [EMAIL]');
    const again = await runCli(['ingest', file, '--type', 'interaction', '--url', h.url]);
    expect(JSON.parse(again.stdout)).toMatchObject({ stored: 0, duplicates: 1199 });
    expect(await count('cli-bot')).toBe(1199);
  });

  it('stops at a line that is not JSON with file:line; --resume continues after what was stored', async () => {
    const dir = tempDir();
    const file = join(dir, 'events.jsonl');
    const ev = (k: number) => JSON.stringify({ id: `r-${k}`, type: 'interaction', body: { model: 'resume-bot', query: `q${k}` } });
    const good = Array.from({ length: 30 }, (_, k) => ev(k));
    // The bad line has the fixed line's length, so the fixed file has the same size and --resume trusts its checkpoint.
    writeFileSync(file, [...good.slice(0, 20), '{' + 'x'.repeat(ev(99).length - 1), ...good.slice(20)].join('\n'));
    const first = await runCli(['ingest', file, '--url', h.url, '--batch', '10']);
    expect(first.code).toBe(2);
    expect(first.stderr).toContain(`${file}:21: not valid JSON`);
    expect(await count('resume-bot')).toBe(20);
    writeFileSync(file, [...good.slice(0, 20), ev(99), ...good.slice(20)].join('\n'));
    const resumed = await runCli(['ingest', file, '--url', h.url, '--batch', '10', '--resume']);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ events: 31, stored: 11, duplicates: 0, skipped_by_resume: 20 });
    expect(await count('resume-bot')).toBe(31);
    expect((await runCli(['ingest', '--help'])).stdout).toContain('--resume');
  });
});

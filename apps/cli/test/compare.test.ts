import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareCommand } from '../src/commands/compare.js';

const dir = mkdtempSync(join(tmpdir(), 'driftwatch-compare-'));
const f = (name: string) => join(dir, name);

/** Deterministic pseudo-random normal values (no dependency on the code under test). */
function normals(seed: number) {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}
function cloud(n: number, d: number, seed: number, shift = 0): number[][] {
  const g = normals(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, (_, j) => g() + (j < 3 ? shift : 0)));
}
function writeNpy(path: string, rows: number[][], dtype: '<f4' | '<f8' = '<f4') {
  const header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': (${rows.length}, ${rows[0].length}), }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  const h = Buffer.from(header.padEnd(total - 10 - 1) + '\n', 'latin1');
  const pre = Buffer.alloc(10);
  pre.writeUInt8(0x93, 0);
  pre.write('NUMPY', 1, 'latin1');
  pre.writeUInt8(1, 6);
  pre.writeUInt8(0, 7);
  pre.writeUInt16LE(h.length, 8);
  const flat = rows.flat();
  const data = dtype === '<f4' ? Buffer.from(new Float32Array(flat).buffer) : Buffer.from(new Float64Array(flat).buffer);
  writeFileSync(path, Buffer.concat([pre, h, data]));
}
const jsonl = (path: string, rows: unknown[]) => writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await compareCommand(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

beforeAll(() => {
  jsonl(f('base.jsonl'), cloud(150, 8, 1));
  jsonl(f('same.jsonl'), cloud(150, 8, 2).map((embedding) => ({ embedding })));
  jsonl(f('shift.jsonl'), cloud(150, 8, 3, 1));
  writeNpy(f('base.npy'), cloud(150, 8, 1));
  writeNpy(f('shift64.npy'), cloud(150, 8, 3, 1), '<f8');
  writeFileSync(f('shift.csv'), ['a,b,c,d,e,f,g,h', ...cloud(150, 8, 3, 1).map((r) => r.join(','))].join('\n'));
  const interactions = (refusal: number) =>
    Array.from({ length: 400 }, (_, i) => ({ query: `q${i}`, response: i < refusal * 400 ? "I'm sorry, but I can't help with that." : `Here is the answer number ${i}.`, error: null, latency_ms: 100 }));
  jsonl(f('beh-base.jsonl'), interactions(0.03));
  jsonl(f('beh-cur.jsonl'), interactions(0.12));
  jsonl(f('acc-base.jsonl'), Array.from({ length: 500 }, (_, i) => ({ correct: i < 460 })));
  jsonl(f('acc-cur.jsonl'), Array.from({ length: 500 }, (_, i) => ({ correct: i < 390 })));
});

describe('compare', () => {
  it('prints one JSON object with the verdict and per-method figures', async () => {
    const { code, stdout } = await run('--baseline', f('base.jsonl'), '--current', f('same.jsonl'), '--json', '--seed', '3');
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(out).toMatchObject({ kind: 'embedding', status: 'no_drift', severity: 'none', n_baseline: 150, n_current: 150 });
    expect(out.score).toBeTypeOf('number');
    expect(out.p_value).toBeGreaterThan(0.05);
    for (const m of ['centroid_distance', 'variance', 'silhouette', 'psi', 'mmd', 'ks', 'domain_classifier']) expect(out.methods[m]).toBeDefined();
    expect(out.methods.variance).toHaveProperty('baseline');
    expect(out.methods.variance).toHaveProperty('current');
  });

  it('detects a shift across file formats and exits 1 with --fail-on-drift', async () => {
    for (const cur of ['shift.jsonl', 'shift64.npy', 'shift.csv']) {
      const plain = await run('--baseline', f('base.npy'), '--current', f(cur), '--json');
      expect(plain.code, cur).toBe(0);
      expect(JSON.parse(plain.stdout).status, cur).toBe('drift');
    }
    const strict = await run('--baseline', f('base.npy'), '--current', f('shift.csv'), '--fail-on-drift');
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/embedding compare: DRIFT/);
    expect(strict.stdout).toMatch(/domain_classifier/);
  });

  it('behaviour files: refusal rate per window, moderation applied', async () => {
    const { code, stdout } = await run('--baseline', f('beh-base.jsonl'), '--current', f('beh-cur.jsonl'), '--json');
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.kind).toBe('behavior');
    expect(out.methods.refusal_rate).toMatchObject({ baseline: 0.03, current: 0.12, flagged: true });
    expect(out.methods.toxicity_rate).toMatchObject({ baseline: 0, current: 0 });
    expect(out.methods.error_rate).toMatchObject({ baseline: 0, current: 0 });
    expect(out.methods.response_length).toHaveProperty('baseline');
    expect(out.status).toBe('drift');
  });

  it('accuracy files: the demo drop is drift', async () => {
    const { stdout } = await run('--baseline', f('acc-base.jsonl'), '--current', f('acc-cur.jsonl'), '--json');
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ kind: 'accuracy', status: 'drift' });
    expect(out.score).toBeGreaterThan(0.9);
    expect(out.gauges.model_accuracy).toBe(0.78);
  });

  it('writes a self-contained HTML report', async () => {
    const out = f('report.html');
    const { code } = await run('--baseline', f('base.jsonl'), '--current', f('shift.jsonl'), '--html', out);
    expect(code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<svg');
    expect(html).toContain('principal components');
    expect(html).toContain('domain_classifier');
    expect(html).toMatch(/>drift</);
    expect(html).not.toMatch(/<script|<link|src=|url\(/i);
  });

  it.each([
    ['ragged.jsonl', '[1,2,3]\n[1,2]\n', /ragged\.jsonl:2: 2 values, expected 3/],
    ['nan.csv', '1,2\n3,nan\n', /nan\.csv:2: value 2 \("nan"\) is not a finite number/],
    ['empty.jsonl', '\n\n', /empty\.jsonl: empty file/],
    ['broken.jsonl', '[1,2]\n[1,2\n', /broken\.jsonl:2: not valid JSON/],
    ['nulls.jsonl', '[1,2]\n[1,null]\n', /nulls\.jsonl:2: value 2 is null/],
  ])('bad embedding input %s exits 2 naming file and line', async (name, content, message) => {
    writeFileSync(f(name), content);
    const { code, stderr, stdout } = await run('--baseline', f(name), '--current', f('base.jsonl'), '--kind', 'embedding');
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
  });

  it('bad .npy input exits 2 naming file, row and value', async () => {
    const rows = cloud(150, 8, 1);
    rows[41][5] = NaN;
    writeNpy(f('nan32.npy'), rows);
    rows[41][5] = 0;
    rows[99][0] = -Infinity;
    writeNpy(f('inf64.npy'), rows, '<f8');
    writeFileSync(f('short.npy'), readFileSync(f('base.npy')).subarray(0, 1000));
    writeFileSync(f('text.npy'), 'not numpy at all');
    const cases: [string, RegExp][] = [
      ['nan32.npy', /nan32\.npy:42: row 42, value 6 is NaN, not a finite number/],
      ['inf64.npy', /inf64\.npy:100: row 100, value 1 is -Infinity, not a finite number/],
      ['short.npy', /short\.npy: truncated: shape \(150, 8\) needs 4800 bytes of data/],
      ['text.npy', /text\.npy: not a \.npy file \(bad magic\)/],
    ];
    for (const [name, message] of cases) {
      const { code, stderr } = await run('--baseline', f('base.npy'), '--current', f(name));
      expect(code).toBe(2);
      expect(stderr).toMatch(message);
    }
  });

  it('bad behaviour and accuracy input exit 2 naming the missing field', async () => {
    jsonl(f('noresp.jsonl'), [{ response: 'ok' }, { query: 'x' }]);
    const a = await run('--baseline', f('beh-base.jsonl'), '--current', f('noresp.jsonl'), '--kind', 'behavior');
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/noresp\.jsonl:2: missing field "response"/);
    jsonl(f('badscore.jsonl'), [{ score: 4 }, { score: 9 }]);
    const b = await run('--baseline', f('acc-base.jsonl'), '--current', f('badscore.jsonl'), '--kind', 'accuracy');
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/badscore\.jsonl:2: field "score" must be a number from 1 to 5/);
  });

  it('rejects mismatched dimensions, mixed kinds and bad usage with exit 2', async () => {
    jsonl(f('wide.jsonl'), cloud(150, 9, 1));
    expect((await run('--baseline', f('base.jsonl'), '--current', f('wide.jsonl'))).stderr).toMatch(/wide\.jsonl: embeddings have 9 dimensions/);
    expect((await run('--baseline', f('base.jsonl'), '--current', f('beh-cur.jsonl'))).code).toBe(2);
    expect((await run('--baseline', f('base.jsonl'))).stderr).toMatch(/--current FILE/);
    expect((await run('--baseline', f('base.jsonl'), '--current', f('base.jsonl'), '--kind', 'nope')).code).toBe(2);
    expect((await run('--bogus')).code).toBe(2);
    expect((await run('--baseline', f('missing.npy'), '--current', f('base.jsonl'))).stderr).toMatch(/missing\.npy: cannot read: no such file/);
  });

  it('reads thresholds from --config', async () => {
    writeFileSync(f('cfg.yaml'), 'min_samples: 500\nmodels:\n  - name: demo\n');
    const { stdout } = await run('--baseline', f('base.jsonl'), '--current', f('shift.jsonl'), '--json', '--config', f('cfg.yaml'));
    expect(JSON.parse(stdout).status).toBe('insufficient_data');
    writeFileSync(f('bad.yaml'), 'embedding_thresholds:\n  permutatons: 5\nmodels:\n  - name: demo\n');
    const bad = await run('--baseline', f('base.jsonl'), '--current', f('shift.jsonl'), '--config', f('bad.yaml'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/permutatons/);
  });

  it('same seed, same verdict and figures', async () => {
    const one = JSON.parse((await run('--baseline', f('base.jsonl'), '--current', f('shift.jsonl'), '--json', '--seed', '5')).stdout);
    const two = JSON.parse((await run('--baseline', f('base.jsonl'), '--current', f('shift.jsonl'), '--json', '--seed', '5')).stdout);
    delete one.timings_ms;
    delete two.timings_ms;
    expect(two).toEqual(one);
  });

  const bin = fileURLToPath(new URL('../bin/driftwatch.js', import.meta.url));
  it.runIf(existsSync(fileURLToPath(new URL('../src/main.ts', import.meta.url))))('runs through the driftwatch binary', () => {
    const res = spawnSync(process.execPath, [bin, 'compare', '--baseline', f('base.jsonl'), '--current', f('shift.jsonl'), '--json', '--fail-on-drift'], { encoding: 'utf8', timeout: 60_000 });
    expect(res.status).toBe(1);
    expect(JSON.parse(res.stdout).status).toBe('drift');
  });
});

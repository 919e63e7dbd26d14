/**
 * npm run bench:gateway: the latency the gateway adds over calling the upstream directly
 * (p50 and p99, non-streamed and time to first streamed chunk) and its throughput, against
 * a local upstream that answers instantly. The gateway runs in its own process
 * (bench/gateway-server.ts) with key auth, the serving cache, the safety policy and the
 * interaction log on an embedded database; this process is the upstream and the client.
 * Goal (issue 8): p50 added < 2 ms, p99 added < 10 ms, >= 1000 requests/s per process.
 *
 * Options: --n N (sequential calls per measurement, default 2000), --seconds S (throughput
 * run, default 5), --concurrency C (default 32), --db process|embedded (the database in its
 * own process, as Postgres is in production, default; or embedded in the gateway's process).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';

const { values } = parseArgs({ options: { n: { type: 'string', default: '2000' }, seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '32' }, db: { type: 'string', default: 'process' } } });
if (!['process', 'embedded'].includes(values.db!)) throw new Error('--db process|embedded');
const N = Number(values.n);
const SECONDS = Number(values.seconds);
const CONC = Number(values.concurrency);

// The instant upstream: a fixed answer, JSON or server-sent events.
const answer = 'Paris is the capital of France.';
const completion = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: answer, refusal: null }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
});
const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const upstream = createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (d) => parts.push(d));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { stream?: boolean };
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk({ role: 'assistant', content: '' }, null));
      res.write(chunk({ content: answer }, null));
      res.write(chunk({}, 'stop'));
      res.end('data: [DONE]\n\n');
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(completion) });
      res.end(completion);
    }
  });
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;

const root = resolve(import.meta.dirname, '..');
let dbChild: ReturnType<typeof spawn> | null = null;
let dbUrl: string[] = [];
if (values.db === 'process') {
  dbChild = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', resolve(root, 'bench/gateway-db.ts')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise<string>((r) => createInterface({ input: dbChild!.stdout! }).once('line', r));
  dbUrl = [(JSON.parse(first) as { url: string }).url];
}
const child = spawn(process.execPath, [...(process.env.GATEWAY_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.GATEWAY_PROF] : []), '--import', 'tsx', '--conditions=source', resolve(root, 'bench/gateway-server.ts'), upstreamUrl, ...dbUrl], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: child.stdout! });
const nextLine = () => new Promise<string>((r) => lines.once('line', r));
const { port, key } = JSON.parse(await nextLine()) as { port: number; key: string };
const gateway = `http://127.0.0.1:${port}/openai/v1`;
/** The gateway process's CPU time so far (user+system, ms), and the part of it spent in the offline moderation. */
async function gatewayCpu(): Promise<{ cpu_ms: number; moderation_ms: number }> {
  const line = nextLine();
  child.stdin!.write('cpu\n');
  return JSON.parse(await line) as { cpu_ms: number; moderation_ms: number };
}
const load1 = () => loadavg()[0];

const body = (model: string, stream = false) => JSON.stringify({ model, messages: [{ role: 'user', content: 'What is the capital of France?' }], ...(stream ? { stream: true } : {}) });
const headers = (auth: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${auth}` });

/** ms until the whole body (or, streamed, the first chunk) has arrived. */
async function once(base: string, auth: string, model: string, stream: boolean): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${base}/chat/completions`, { method: 'POST', headers: headers(auth), body: body(model, stream) });
  if (res.status !== 200) throw new Error(`${base}: ${res.status} ${await res.text()}`);
  if (stream) {
    const reader = res.body!.getReader();
    await reader.read();
    const t = performance.now() - t0;
    while (!(await reader.read()).done);
    return t;
  }
  await res.arrayBuffer();
  return performance.now() - t0;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** Direct and through the gateway, interleaved call by call, so both see the same machine load. */
async function added(model: string, stream: boolean) {
  const direct: number[] = [];
  const via: number[] = [];
  for (let i = 0; i < 200; i++) {
    await once(upstreamUrl, 'sk-bench', 'gpt-4o-mini', stream);
    await once(gateway, key, model, stream);
  }
  const cpu0 = await gatewayCpu();
  for (let i = 0; i < N; i++) {
    direct.push(await once(upstreamUrl, 'sk-bench', 'gpt-4o-mini', stream));
    via.push(await once(gateway, key, model, stream));
  }
  const cpu1 = await gatewayCpu();
  const cpu_per_call = (cpu1.cpu_ms - cpu0.cpu_ms) / N;
  const moderation_per_call = (cpu1.moderation_ms - cpu0.moderation_ms) / N;
  const d50 = pct(direct, 50);
  const d99 = pct(direct, 99);
  const g50 = pct(via, 50);
  const g99 = pct(via, 99);
  return { direct_p50: d50, direct_p99: d99, gateway_p50: g50, gateway_p99: g99, added_p50: g50 - d50, added_p99: g99 - d99, cpu_per_call, moderation_per_call, load: load1() };
}

async function throughput(model: string) {
  let done = 0;
  let errors = 0;
  const until = performance.now() + SECONDS * 1000;
  const lane = async () => {
    while (performance.now() < until) {
      try {
        await once(gateway, key, model, false);
        done++;
      } catch {
        errors++;
      }
    }
  };
  const t0 = performance.now();
  const cpu0 = await gatewayCpu();
  await Promise.all(Array.from({ length: CONC }, lane));
  const cpu1 = await gatewayCpu();
  const calls = Math.max(1, done + errors);
  return { requests: done, errors, per_second: done / ((performance.now() - t0) / 1000), cpu_per_call: (cpu1.cpu_ms - cpu0.cpu_ms) / calls, moderation_per_call: (cpu1.moderation_ms - cpu0.moderation_ms) / calls, load: load1() };
}

const f = (x: number) => x.toFixed(2).padStart(7);
const results: Record<string, unknown> = {};
let calls = 0;
console.log(`gateway bench: ${N} sequential calls per row (after 200 warm-up), direct upstream vs through the gateway; ms (gw CPU/call: the gateway process's user+system CPU per call, of which the offline moderation of question and answer); database ${values.db === 'process' ? 'in its own process (PGlite behind the Postgres protocol)' : 'embedded in the gateway process'}`);
console.log(`${'case'.padEnd(34)} ${'direct p50'.padStart(10)} ${'gw p50'.padStart(7)} ${'added p50'.padStart(9)} ${'direct p99'.padStart(10)} ${'gw p99'.padStart(7)} ${'added p99'.padStart(9)} ${'gw CPU/call'.padStart(11)} ${'moderation'.padStart(10)} ${'load 1m'.padStart(7)}`);
for (const [name, model, stream] of [
  ['monitored model, non-streamed', 'support-bot', false],
  ['monitored model, first chunk', 'support-bot', true],
  ['passthrough model, non-streamed', 'gpt-4o-mini', false],
  ['passthrough model, first chunk', 'gpt-4o-mini', true],
] as const) {
  const r = await added(model, stream);
  calls += N + 200;
  results[name] = r;
  console.log(`${name.padEnd(34)} ${f(r.direct_p50).padStart(10)} ${f(r.gateway_p50)} ${f(r.added_p50).padStart(9)} ${f(r.direct_p99).padStart(10)} ${f(r.gateway_p99)} ${f(r.added_p99).padStart(9)} ${f(r.cpu_per_call).padStart(11)} ${f(r.moderation_per_call).padStart(10)} ${r.load.toFixed(1).padStart(7)}`);
}
for (const [name, model] of [
  ['throughput, monitored model', 'support-bot'],
  ['throughput, passthrough model', 'gpt-4o-mini'],
] as const) {
  const t = await throughput(model);
  calls += t.requests + t.errors;
  results[name] = t;
  console.log(`${name}: ${t.per_second.toFixed(0)} requests/s (${t.requests} in ${SECONDS} s, ${CONC} concurrent, ${t.errors} errors; one gateway process); gateway CPU ${t.cpu_per_call.toFixed(3)} ms/call (of which offline moderation ${t.moderation_per_call.toFixed(3)}) => at most ${(1000 / t.cpu_per_call).toFixed(0)} calls/s per busy core; load 1m ${t.load.toFixed(1)}`);
}
child.kill('SIGTERM');
const end = JSON.parse(await nextLine()) as { rows: number; log_failures: number; cpu_ms: number };
console.log(`interactions logged: ${end.rows} of ${calls} gateway calls (log write failures: ${end.log_failures})`);
// CPU time is what a call costs the gateway whatever else runs on the machine; wall-clock figures above depend on load.
const perCall = end.cpu_ms / calls;
console.log(`gateway CPU per call over the whole run (warm-up included): ${perCall.toFixed(3)} ms (user+system${values.db === 'embedded' ? ', the embedded database included' : ', the database process not included'}) => at most ${(1000 / perCall).toFixed(0)} calls/s per busy core`);
console.log(`machine load average during the run: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (1/5/15 min) on ${(await import('node:os')).cpus().length} cores`);
dbChild?.kill('SIGTERM');
upstream.close();
process.exit(0);

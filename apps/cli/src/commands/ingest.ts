import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { EVENT_TYPES, PermanentError } from '@driftwatch/core';

type Io = { stdout(s: string): void; stderr(s: string): void };

export const ingestUsage = `Usage: driftwatch ingest FILE.jsonl [--type T] [--resume] [--url URL] [--api-key KEY] [--batch N]

Streams a JSON-lines file of any size to POST /v1/ingest in batches, with progress
(a bar with events/s and done/total on a terminal, plain lines otherwise).
  without --type   each line is an event: {"id", "type", "timestamp"?, "body"}
  --type T         each line is the body of an event of type T (interaction, embedding,
                   evaluation, feedback, document); its "id" and "timestamp" keys, if
                   present, are the event's, else the id is a hash of the line (so a
                   re-run stores nothing twice)
  --resume         continue after the last batch the server acknowledged (FILE.driftwatch-progress)
  --url            the scheduler's URL (default: DRIFTWATCH_URL, else the local
                   \`driftwatch start\` that holds DRIFTWATCH_DATA_DIR)
  --api-key        an ingest key (default: DRIFTWATCH_API_KEY)
  --batch          events per request (default 500, at most the server's ingest.max_batch)
Exit 0 when every event is stored; 2 on bad input (FILE:LINE and the problem), with the
rest of the file still stored; 1 when the server cannot be reached.`;

interface Target {
  url: string;
  key?: string;
}

async function target(v: Record<string, string | boolean | undefined>): Promise<Target> {
  const key = (v['api-key'] as string | undefined) ?? process.env.DRIFTWATCH_API_KEY;
  const url = (v.url as string | undefined) ?? process.env.DRIFTWATCH_URL;
  if (url) return { url: url.replace(/\/+$/, ''), key };
  const { loadSettings, heldDataDir } = await import('../runtime.js');
  const s = loadSettings();
  const held = heldDataDir(s.env.DRIFTWATCH_DATA_DIR)?.http;
  if (held) return { url: held.url, key: key ?? held.token };
  throw new PermanentError('ingest: no server: pass --url http://HOST:PORT (or set DRIFTWATCH_URL), or run `driftwatch start` first');
}

interface Line {
  no: number;
  event: { id: string; type: string; timestamp?: unknown; body: unknown };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `driftwatch ingest FILE.jsonl`. */
export async function ingestCommand(args: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { type: { type: 'string' }, resume: { type: 'boolean' }, url: { type: 'string' }, 'api-key': { type: 'string' }, batch: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    throw new PermanentError(`ingest: ${(e as Error).message}; see \`driftwatch ingest --help\``);
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    io.stdout(ingestUsage + '\n');
    return 0;
  }
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new PermanentError('ingest: give one FILE.jsonl; see `driftwatch ingest --help`');
  if (!existsSync(file)) throw new PermanentError(`ingest: ${file}: no such file`);
  const type = v.type as string | undefined;
  if (type !== undefined && !(EVENT_TYPES as readonly string[]).includes(type)) throw new PermanentError(`ingest: --type ${type}: choose one of ${EVENT_TYPES.join(', ')}`);
  const batchSize = v.batch === undefined ? 500 : Number(v.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000) throw new PermanentError('ingest: --batch: expected an integer from 1 to 1000');
  const t = await target(v);

  const progressFile = `${file}.driftwatch-progress`;
  const st = statSync(file);
  let skip = 0;
  if (v.resume && existsSync(progressFile)) {
    try {
      const p = JSON.parse(readFileSync(progressFile, 'utf8')) as { line: number; size: number };
      if (p.size === st.size) skip = p.line;
      else io.stderr(`ingest: ${file} changed since the last run; starting from the top (stored events are recognised by id and not stored twice)\n`);
    } catch {
      skip = 0;
    }
  }

  // Count the lines first (a streaming pass) for done/total.
  let total = 0;
  for await (const l of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) if (l.trim()) total++;

  const tty = Boolean((process.stderr as { isTTY?: boolean }).isTTY);
  const started = Date.now();
  let done = 0;
  let stored = 0;
  let duplicates = 0;
  let bad = 0;
  let lastPlain = 0;
  const progress = (final = false) => {
    const secs = Math.max(0.001, (Date.now() - started) / 1000);
    const rate = Math.round((done - skipCounted) / secs);
    if (tty) {
      const width = 30;
      const filled = total ? Math.round((width * done) / total) : width;
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} events ${rate}/s${final ? '\n' : ''}`);
    } else if (final || Date.now() - lastPlain >= 1000) {
      lastPlain = Date.now();
      io.stderr(`ingest: ${done}/${total} events, ${rate}/s\n`);
    }
  };
  let skipCounted = 0;

  const send = async (batch: Line[]): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${t.url}/v1/ingest`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(t.key ? { authorization: `Bearer ${t.key}` } : {}) },
          body: JSON.stringify({ batch: batch.map((l) => l.event) }),
        });
      } catch (e) {
        if (attempt >= 6) throw new Error(`ingest: cannot reach ${t.url} (${(e as Error).message}); run again with --resume`);
        await sleep(500 * 2 ** attempt);
        continue;
      }
      if (res.status === 429 || res.status === 503 || res.status === 502) {
        const ra = Number(res.headers.get('retry-after'));
        await sleep(Number.isFinite(ra) && ra > 0 ? ra * 1000 : 500 * 2 ** Math.min(attempt, 6));
        continue;
      }
      const text = await res.text();
      if (res.status !== 207) throw new PermanentError(`ingest: ${t.url}/v1/ingest answered ${res.status}: ${text.slice(0, 300)}`);
      const r = JSON.parse(text) as { successes: { id: string; duplicate?: boolean }[]; errors: { id: string | null; status: number; message: string }[] };
      const lineOf = new Map(batch.map((l, k) => [l.event.id, { l, k }]));
      const retry: Line[] = [];
      for (const s of r.successes) s.duplicate ? duplicates++ : stored++;
      for (const e of r.errors) {
        const at = e.id !== null ? lineOf.get(e.id) : undefined;
        if (e.status >= 500 && at) {
          retry.push(at.l);
          continue;
        }
        bad++;
        const where = at ? `${file}:${at.l.no}` : file;
        io.stderr(`${tty ? '\n' : ''}${where}: ${e.message.replace(/^batch\[\d+\]\./, '')}\n`);
      }
      if (retry.length === 0) return;
      batch = retry;
      await sleep(500 * 2 ** Math.min(attempt, 6));
    }
  };

  let batch: Line[] = [];
  let no = 0;
  let lastLine = skip;
  const flush = async () => {
    if (!batch.length) return;
    await send(batch);
    done += batch.length;
    lastLine = batch[batch.length - 1].no;
    writeFileSync(progressFile, JSON.stringify({ line: lastLine, size: st.size }));
    batch = [];
    progress();
  };
  for await (const raw of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    no++;
    if (!raw.trim()) continue;
    if (no <= skip) {
      done++;
      skipCounted++;
      continue;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      await flush();
      io.stderr(`${tty ? '\n' : ''}${file}:${no}: not valid JSON (${(e as Error).message}); fix the line and run again with --resume\n`);
      return 2;
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      await flush();
      io.stderr(`${tty ? '\n' : ''}${file}:${no}: expected a JSON object per line\n`);
      return 2;
    }
    let event: Line['event'];
    if (type) {
      const { id, timestamp, ...body } = obj as Record<string, unknown>;
      const eid = typeof id === 'string' && id ? id : `${basename(file)}:${createHash('sha256').update(`${type}\n${raw}`).digest('hex').slice(0, 32)}`.slice(-128);
      event = { id: eid, type, ...(timestamp !== undefined ? { timestamp } : {}), body };
    } else event = obj as Line['event'];
    batch.push({ no, event });
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  progress(true);
  rmSync(progressFile, { force: true });
  io.stdout(JSON.stringify({ file, events: total, stored, duplicates, rejected: bad, skipped_by_resume: skipCounted, seconds: +((Date.now() - started) / 1000).toFixed(2) }) + '\n');
  return bad ? 2 : 0;
}

/**
 * Reading the files of `driftwatch compare`. Every problem becomes an InputError
 * naming the file, the line (or row) and what is wrong.
 */
import { readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import type { AccuracyRow, InteractionRecord, Matrix, MonitorKind } from '@driftwatch/core';

export class InputError extends Error {
  override name = 'InputError';
  constructor(
    readonly file: string,
    readonly line: number | null,
    problem: string,
  ) {
    super(`${file}${line !== null ? `:${line}` : ''}: ${problem}`);
  }
}

function cannotRead(file: string, e: unknown): InputError {
  return new InputError(file, null, `cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw cannotRead(file, e);
  }
}

/** Non-empty lines of a JSON Lines file, parsed, with their 1-based line numbers. */
export function readJsonLines(file: string): { line: number; value: unknown }[] {
  const out: { line: number; value: unknown }[] = [];
  readText(file)
    .split(/\r?\n/)
    .forEach((text, i) => {
      if (text.trim() === '') return;
      try {
        out.push({ line: i + 1, value: JSON.parse(text) });
      } catch (e) {
        throw new InputError(file, i + 1, `not valid JSON (${(e as Error).message})`);
      }
    });
  if (out.length === 0) throw new InputError(file, null, 'empty file: no records');
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The kind of data in a file: .npy and .csv hold embeddings; in JSON Lines the
 * first record decides: an array of numbers or {"embedding": [...]} => embedding,
 * {"response"} => behavior, {"correct"|"expected"|"predicted"|"score"|"task_success"} => accuracy.
 */
export function inferKind(file: string): MonitorKind {
  const ext = extname(file).toLowerCase();
  if (ext === '.npy' || ext === '.csv') return 'embedding';
  const lines = readText(file).split(/\r?\n/);
  const index = lines.findIndex((l) => l.trim() !== '');
  if (index < 0) throw new InputError(file, null, 'empty file: no records');
  const first = { line: index + 1, value: undefined as unknown };
  try {
    first.value = JSON.parse(lines[index]);
  } catch (e) {
    throw new InputError(file, first.line, `not valid JSON (${(e as Error).message})`);
  }
  const v = first.value;
  if (Array.isArray(v) || (isObject(v) && 'embedding' in v)) return 'embedding';
  if (isObject(v) && 'response' in v) return 'behavior';
  if (isObject(v) && ['correct', 'expected', 'predicted', 'score', 'task_success'].some((k) => k in v)) return 'accuracy';
  throw new InputError(file, first.line, 'cannot tell the kind of data: expected an array of numbers, {"embedding": [...]}, {"response": ...} or {"correct"|"expected"|"score": ...}; pass --kind');
}

/** Embeddings from .npy (2-D float32/float64, little-endian, C order), .csv (numbers, optional header) or JSON Lines. */
export async function readEmbeddings(file: string): Promise<Matrix> {
  const ext = extname(file).toLowerCase();
  if (ext === '.npy') return readNpy(file);
  if (ext === '.csv') return readCsv(file);
  return readEmbeddingLines(file);
}

function checkRow(file: string, line: number, values: unknown[], cols: number | null, firstLine: number, label = 'line'): void {
  if (values.length === 0) throw new InputError(file, line, 'empty embedding');
  if (cols !== null && values.length !== cols)
    throw new InputError(file, line, `${values.length} values, expected ${cols} as on ${label} ${firstLine} (ragged dimensions)`);
  for (let j = 0; j < values.length; j++) {
    const x = values[j];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new InputError(file, line, `value ${j + 1} is ${typeof x === 'number' ? String(x) : JSON.stringify(x)}, not a finite number`);
  }
}

function readEmbeddingLines(file: string): Matrix {
  const records = readJsonLines(file);
  let cols: number | null = null;
  let data: Float64Array | null = null;
  records.forEach(({ line, value }, i) => {
    let vec: unknown = value;
    if (isObject(value)) {
      if (!('embedding' in value)) throw new InputError(file, line, 'missing field "embedding"');
      vec = value.embedding;
    }
    if (!Array.isArray(vec)) throw new InputError(file, line, 'expected an array of numbers or {"embedding": [numbers]}');
    checkRow(file, line, vec, cols, records[0].line);
    if (cols === null) {
      cols = vec.length;
      data = new Float64Array(records.length * cols);
    }
    data!.set(vec as number[], i * cols);
  });
  return { rows: records.length, cols: cols!, data: data! };
}

function readCsv(file: string): Matrix {
  const lines = readText(file).split(/\r?\n/);
  const rows: { line: number; values: number[] }[] = [];
  let cols: number | null = null;
  let first = 0;
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    const cells = text.split(',').map((c) => c.trim());
    const numbers = cells.map((c) => (c === '' ? NaN : Number(c)));
    if (rows.length === 0 && cols === null && numbers.some((x) => Number.isNaN(x)) && cells.some((c) => /[a-z_]/i.test(c) && !/^[-+]?(nan|inf(inity)?)$/i.test(c))) {
      cols = cells.length; // header row
      first = i + 1;
      return;
    }
    for (let j = 0; j < numbers.length; j++)
      if (!Number.isFinite(numbers[j])) throw new InputError(file, i + 1, `value ${j + 1} ("${cells[j]}") is not a finite number`);
    if (cols !== null && numbers.length !== cols) throw new InputError(file, i + 1, `${numbers.length} values, expected ${cols} as on line ${first || rows[0]?.line} (ragged dimensions)`);
    if (cols === null) {
      cols = numbers.length;
      first = i + 1;
    }
    rows.push({ line: i + 1, values: numbers });
  });
  if (rows.length === 0) throw new InputError(file, null, 'empty file: no embeddings');
  const data = new Float64Array(rows.length * cols!);
  rows.forEach((r, i) => data.set(r.values, i * cols!));
  return { rows: rows.length, cols: cols!, data };
}

/**
 * NumPy .npy (format 1.0-3.0): 2-D, dtype <f4 or <f8, C order. Rows are reported as "row N" (1-based).
 * The data is read straight into the Float32Array / Float64Array the monitor uses (one read
 * on the thread pool, no copy, no per-element conversion); values are checked for NaN and
 * infinity by their exponent bits.
 */
export async function readNpy(file: string): Promise<Matrix> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw cannotRead(file, e);
  }
  try {
    const size = (await fh.stat()).size;
    const pre = await readAt(fh, file, Buffer.alloc(Math.min(size, 12)), 0);
    if (pre.length < 10 || pre.readUInt8(0) !== 0x93 || pre.toString('latin1', 1, 6) !== 'NUMPY') throw new InputError(file, null, 'not a .npy file (bad magic)');
    const major = pre.readUInt8(6);
    if (major !== 1 && pre.length < 12) throw new InputError(file, null, 'not a .npy file (bad magic)');
    const headerLen = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
    const start = major === 1 ? 10 : 12;
    if (start + headerLen > size) throw new InputError(file, null, `truncated header: ${headerLen} bytes announced, file has ${size - start}`);
    const header = (await readAt(fh, file, Buffer.alloc(headerLen), start)).toString(major === 3 ? 'utf8' : 'latin1');
    const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
    const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
    const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
    if (!descr || !fortran || shapeText === undefined) throw new InputError(file, null, `unreadable .npy header: ${header.trim()}`);
    if (fortran === 'True') throw new InputError(file, null, 'Fortran-order array; save it with np.ascontiguousarray first');
    if (descr !== '<f4' && descr !== '<f8') throw new InputError(file, null, `dtype ${descr} not supported; expected little-endian float32 (<f4) or float64 (<f8)`);
    const shape = shapeText
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(Number);
    if (shape.length !== 2) throw new InputError(file, null, `expected a 2-D array (rows x dimensions), got shape (${shape.join(', ')})`);
    const [rows, cols] = shape;
    if (rows === 0 || cols === 0) throw new InputError(file, null, 'empty array: no embeddings');
    const width = descr === '<f4' ? 4 : 8;
    const offset = start + headerLen;
    if (size - offset < rows * cols * width) throw new InputError(file, null, `truncated: shape (${rows}, ${cols}) needs ${rows * cols * width} bytes of data, file has ${size - offset}`);
    const data = width === 4 ? new Float32Array(rows * cols) : new Float64Array(rows * cols);
    await readAt(fh, file, new Uint8Array(data.buffer), offset);
    const bad = firstNonFinite(data);
    if (bad >= 0) throw new InputError(file, Math.floor(bad / cols) + 1, `row ${Math.floor(bad / cols) + 1}, value ${(bad % cols) + 1} is ${data[bad]}, not a finite number`);
    return { rows, cols, data };
  } finally {
    await fh.close();
  }
}

/** Fills `into` from byte `position` of the file (a short file is a truncation error). */
async function readAt<T extends Uint8Array>(fh: FileHandle, file: string, into: T, position: number): Promise<T> {
  for (let done = 0; done < into.length; ) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new InputError(file, null, `truncated: expected ${into.length} bytes at offset ${position}, got ${done}`);
    done += bytesRead;
  }
  return into;
}

/**
 * Index of the first NaN or infinity, or -1. Tests the exponent bits (all ones) of each
 * value through an integer view: one monomorphic integer loop, several times faster than
 * Number.isFinite on the floats. Both the data and this machine are little-endian.
 */
function firstNonFinite(data: Float32Array | Float64Array): number {
  if (data instanceof Float32Array) {
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
    for (let i = 0; i < bits.length; i++) if ((bits[i] & 0x7f800000) === 0x7f800000) return i;
    return -1;
  }
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
  for (let i = 1; i < words.length; i += 2) if ((words[i] & 0x7ff00000) === 0x7ff00000) return (i - 1) / 2;
  return -1;
}

/** Interactions {"query"?, "response", "error"?, "latency_ms"?} from JSON Lines. */
export function readInteractions(file: string): InteractionRecord[] {
  return readJsonLines(file).map(({ line, value }) => {
    if (!isObject(value)) throw new InputError(file, line, 'expected an object {"query", "response", "error"?, "latency_ms"?}');
    if (!('response' in value)) throw new InputError(file, line, 'missing field "response"');
    if (typeof value.response !== 'string') throw new InputError(file, line, 'field "response" must be a string');
    if ('query' in value && value.query !== null && typeof value.query !== 'string') throw new InputError(file, line, 'field "query" must be a string');
    if ('error' in value && value.error !== null && typeof value.error !== 'boolean' && typeof value.error !== 'string')
      throw new InputError(file, line, 'field "error" must be a boolean, a message or null');
    if ('latency_ms' in value && value.latency_ms !== null && !(typeof value.latency_ms === 'number' && Number.isFinite(value.latency_ms)))
      throw new InputError(file, line, 'field "latency_ms" must be a number or null');
    return {
      query: value.query as string | undefined,
      response: value.response,
      error: (value.error ?? null) as boolean | string | null,
      latency_ms: (value.latency_ms ?? null) as number | null,
    };
  });
}

/** Evaluations {"correct"} or {"expected", "predicted"}, feedback {"score"} and/or {"task_success"} from JSON Lines. */
export function readAccuracyRows(file: string): AccuracyRow[] {
  return readJsonLines(file).map(({ line, value }) => {
    if (!isObject(value)) throw new InputError(file, line, 'expected an object with "correct", "expected"/"predicted", "score" or "task_success"');
    const row: AccuracyRow = {};
    const nullable = (k: string) => value[k] === undefined || value[k] === null;
    if (!nullable('correct')) {
      if (typeof value.correct !== 'boolean') throw new InputError(file, line, 'field "correct" must be true or false');
      row.correct = value.correct;
    }
    for (const k of ['expected', 'predicted'] as const)
      if (!nullable(k)) {
        if (typeof value[k] !== 'string' && typeof value[k] !== 'number') throw new InputError(file, line, `field "${k}" must be a string`);
        row[k] = String(value[k]);
      }
    if ((row.expected === undefined) !== (row.predicted === undefined) && row.correct === undefined)
      throw new InputError(file, line, `missing field "${row.expected === undefined ? 'expected' : 'predicted'}" (or give "correct")`);
    if (!nullable('score')) {
      const sc = value.score;
      if (typeof sc !== 'number' || !Number.isFinite(sc) || sc < 1 || sc > 5) throw new InputError(file, line, `field "score" must be a number from 1 to 5, got ${JSON.stringify(sc)}`);
      row.score = sc;
    }
    if (!nullable('task_success')) {
      if (typeof value.task_success !== 'boolean') throw new InputError(file, line, 'field "task_success" must be true or false');
      row.task_success = value.task_success;
    }
    if (row.correct === undefined && row.expected === undefined && row.score === undefined && row.task_success === undefined)
      throw new InputError(file, line, 'missing field: none of "correct", "expected"/"predicted", "score", "task_success"');
    return row;
  });
}

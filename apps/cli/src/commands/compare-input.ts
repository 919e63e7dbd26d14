/**
 * Reading the files of `driftwatch compare`. Every problem becomes an InputError
 * naming the file, the line (or row) and what is wrong.
 */
import { readFileSync } from 'node:fs';
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

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(file, null, `cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
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
export function readEmbeddings(file: string): Matrix {
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

/** NumPy .npy (format 1.0-3.0): 2-D, dtype <f4 or <f8, C order. Rows are reported as "row N" (1-based). */
export function readNpy(file: string): Matrix {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new InputError(file, null, `cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (buf.length < 10 || buf.readUInt8(0) !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') throw new InputError(file, null, 'not a .npy file (bad magic)');
  const major = buf.readUInt8(6);
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLen);
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
  const size = descr === '<f4' ? 4 : 8;
  const offset = start + headerLen;
  if (buf.length - offset < rows * cols * size) throw new InputError(file, null, `truncated: shape (${rows}, ${cols}) needs ${rows * cols * size} bytes of data, file has ${buf.length - offset}`);
  const bytes = buf.subarray(offset, offset + rows * cols * size);
  const aligned = (bytes.byteOffset % size === 0 ? bytes : Buffer.from(bytes)) as Buffer;
  const data = size === 4 ? new Float32Array(aligned.buffer, aligned.byteOffset, rows * cols) : new Float64Array(aligned.buffer, aligned.byteOffset, rows * cols);
  for (let i = 0; i < data.length; i++)
    if (!Number.isFinite(data[i])) throw new InputError(file, Math.floor(i / cols) + 1, `row ${Math.floor(i / cols) + 1}, value ${(i % cols) + 1} is ${data[i]}, not a finite number`);
  return { rows, cols, data };
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

import type { z } from 'zod';
import { keyPath } from '../config/errors.js';

/** One problem of an input, with the field's path and what to do about it. */
export interface FieldProblem {
  field: string;
  message: string;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isFinite(v) ? `the number ${v}` : `the non-finite number ${v}`;
  if (typeof v === 'string') return `a string`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

/**
 * The first problem zod found, as a field path (prefix + path inside the input) and a
 * message that says what was expected and how to fix it.
 */
export function firstProblem(error: z.ZodError, input: unknown, prefix: PropertyKey[] = []): FieldProblem {
  const issue = error.issues[0];
  const path: PropertyKey[] = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    return { field: keyPath([...path, issue.keys[0]]), message: `unknown field${issue.keys.length > 1 ? ` (also ${issue.keys.slice(1).join(', ')})` : ''}; remove it or check the spelling` };
  }
  const value = valueAt(input, issue.path);
  let message = issue.message;
  if (typeof value === 'number' && !Number.isFinite(value)) message = 'expected a finite number, got ' + value + ' (numbers this large are not representable)';
  else if (issue.code === 'invalid_type') message = `expected ${issue.expected}, got ${describe(value)}`;
  else if (issue.code === 'invalid_union' && value !== undefined) message = `unexpected ${describe(value)}: ${issue.message}`;
  return { field: path.length ? keyPath(path) : '(event)', message };
}

/** Epoch ms of a timestamp value (ISO string, date, epoch ms, Date). */
export function timeOf(v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v;
  const t = Date.parse(String(v));
  return Number.isNaN(t) ? null : t;
}

/** Stable JSON (sorted keys): the same event always hashes the same. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return v.every((x) => typeof x === 'number') ? JSON.stringify(v) : `[${v.map(canonicalJson).join(',')}]`;
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/** The path of the first string (value or key) that contains U+0000, which Postgres text cannot hold. */
export function findNul(v: unknown, path: string): string | null {
  if (typeof v === 'string') return v.includes('\u0000') ? path : null;
  if (Array.isArray(v)) {
    for (let k = 0; k < v.length; k++) {
      const r = typeof v[k] === 'object' || typeof v[k] === 'string' ? findNul(v[k], `${path}[${k}]`) : null;
      if (r) return r;
    }
    return null;
  }
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k.includes('\u0000')) return `${path}.${JSON.stringify(k)}`;
      const r = findNul(x, `${path}.${k}`);
      if (r) return r;
    }
  }
  return null;
}


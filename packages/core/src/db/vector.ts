import type { Matrix } from '../monitors/types.js';

/** pgvector text form of a vector: '[1,2,3]'. */
export function toVectorText(v: ArrayLike<number>): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + v[i];
  return s + ']';
}

/** Parses pgvector text '[1,2,3]' into out[offset..offset+dim); returns the dimension read. */
export function parseVectorInto(text: string, out: Float32Array | Float64Array | null, offset: number): number {
  let n = 0;
  let start = 1;
  const end = text.length - 1; // skip '[' and ']'
  for (let i = 1; i <= end; i++) {
    if (i === end || text.charCodeAt(i) === 44 /* , */) {
      if (i > start) {
        if (out) out[offset + n] = +text.slice(start, i);
        n++;
      }
      start = i + 1;
    }
  }
  return n;
}

/** Rows of vector text, all of one dimension, into one row-major Float32Array. */
export function vectorsToMatrix(texts: string[]): Matrix {
  if (texts.length === 0) return { rows: 0, cols: 0, data: new Float32Array(0) };
  const cols = parseVectorInto(texts[0], null, 0);
  const data = new Float32Array(texts.length * cols);
  texts.forEach((t, r) => {
    const d = parseVectorInto(t, data, r * cols);
    if (d !== cols) throw new Error(`embedding row ${r} has ${d} dimensions, expected ${cols}; a window must hold embeddings of one model and one dimension`);
  });
  return { rows: texts.length, cols, data };
}

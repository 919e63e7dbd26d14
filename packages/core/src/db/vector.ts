import type { Matrix } from '../monitors/types.js';

/** pgvector text form of a vector: '[1,2,3]'. */
export function toVectorText(v: ArrayLike<number>): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + v[i];
  return s + ']';
}

/**
 * Rows of pgvector's binary form as hex (`encode(vector_send(embedding), 'hex')`), all of one
 * dimension, into one row-major Float32Array. The database formats no float as text and this
 * side parses none: cheaper on both sides than the text form (the values are the same
 * float4s). Layout of vector_send: int16 dimension, int16 unused, then big-endian float4s.
 */
export function sendHexToMatrix(hexes: string[]): Matrix {
  if (hexes.length === 0) return { rows: 0, cols: 0, data: new Float32Array(0) };
  const cols = parseInt(hexes[0].slice(0, 4), 16);
  const data = new Float32Array(hexes.length * cols);
  hexes.forEach((h, r) => {
    const buf = Buffer.from(h, 'hex');
    const d = buf.readUInt16BE(0);
    if (d !== cols || buf.length !== 4 + 4 * d) throw new Error(`embedding row ${r} has ${d} dimensions, expected ${cols}; a window must hold embeddings of one model and one dimension`);
    const o = r * cols;
    for (let c = 0; c < cols; c++) data[o + c] = buf.readFloatBE(4 + 4 * c);
  });
  return { rows: hexes.length, cols, data };
}

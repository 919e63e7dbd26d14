import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDb } from '../../src/db/pglite.js';
import { migrate } from '../../src/db/migrations.js';
import { sampleEmbeddings } from '../../src/db/repo/windows.js';
import { sendHexToMatrix, toVectorText } from '../../src/db/vector.js';

let db: PgliteDb;
beforeAll(async () => {
  db = await PgliteDb.open('memory://');
  await migrate(db);
});
afterAll(() => db?.close());

describe('embeddings read in binary form', () => {
  it('reads back exactly the float4 values stored, in the sample order', async () => {
    // Values that text formatting could round differently: tiny, huge, negative, non-dyadic.
    const rows = Array.from({ length: 40 }, (_, i) => [i / 3, -1e-7 * (i + 1), 12345.678 + i, Math.PI * (i - 20), 2 ** -30 * i]);
    const t0 = new Date('2026-11-01T00:00:00Z');
    for (const [i, v] of rows.entries())
      await db.query(`INSERT INTO embeddings_log (model, ts, embedding, dim) VALUES ('m', $1, $2::vector, 5)`, [new Date(t0.getTime() + i * 60_000), toVectorText(v)]);
    const m = await sampleEmbeddings(db, 'm', { start: t0, end: new Date(t0.getTime() + 86_400_000) }, 1000, 7);
    expect([m.rows, m.cols]).toEqual([40, 5]);
    const stored = (await db.query<{ e: string }>(`SELECT embedding::text AS e FROM embeddings_log ORDER BY id`)).rows.map((r) => JSON.parse(r.e) as number[]);
    // Every sampled row is one stored row, value for value (float4 as pgvector prints it).
    const asText = new Set(stored.map((v) => v.map((x) => Math.fround(x)).join(',')));
    for (let r = 0; r < m.rows; r++) expect(asText.has(Array.from(m.data.subarray(r * 5, r * 5 + 5)).join(','))).toBe(true);
    const want = new Set(rows.map((v) => v.map((x) => Math.fround(x)).join(',')));
    for (let r = 0; r < m.rows; r++) expect(want.has(Array.from(m.data.subarray(r * 5, r * 5 + 5)).join(','))).toBe(true);
  });

  it('rejects rows of another dimension with both dimensions named', () => {
    const hex = (v: number[]) => {
      const b = Buffer.alloc(4 + 4 * v.length);
      b.writeUInt16BE(v.length, 0);
      v.forEach((x, i) => b.writeFloatBE(x, 4 + 4 * i));
      return b.toString('hex');
    };
    expect(Array.from(sendHexToMatrix([hex([1, 2]), hex([3, 4])]).data)).toEqual([1, 2, 3, 4]);
    expect(() => sendHexToMatrix([hex([1, 2]), hex([3, 4, 5])])).toThrow(/row 1 has 3 dimensions, expected 2/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDb } from '../../src/db/pglite.js';
import { migrate } from '../../src/db/migrations.js';
import { ingestEmbeddings, ingestEvaluations, ingestInteractions } from '../../src/db/repo/ingest.js';

let db: PgliteDb;
beforeAll(async () => {
  db = await PgliteDb.open('memory://');
  await migrate(db);
});
afterAll(() => db?.close());

const count = async (table: string) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;

describe('ingest', () => {
  it('stores an interaction with its query embedding, linked', async () => {
    const [id] = await ingestInteractions(db, [{ model: 'm', query: 'q', response: 'a', feedback_score: 5, embedding: [0.5, 0.25] }]);
    const e = await db.query<{ interaction_id: number; dim: number; e: string }>('SELECT interaction_id, dim, embedding::text AS e FROM embeddings_log');
    expect(e.rows).toEqual([{ interaction_id: id, dim: 2, e: '[0.5,0.25]' }]);
  });

  it('writes nothing when any item of a batch is bad', async () => {
    const before = [await count('interaction_log'), await count('embeddings_log')];
    await expect(
      ingestInteractions(db, [
        { model: 'm', query: 'fine', embedding: [1, 2] },
        { model: 'm', query: 'bad', feedback_score: 7 },
      ]),
    ).rejects.toThrow(/^\[1\]\.feedback_score: /);
    expect([await count('interaction_log'), await count('embeddings_log')]).toEqual(before);
  });

  it('needs correct, or expected and predicted, on an evaluation', async () => {
    await expect(ingestEvaluations(db, [{ model: 'm', expected: 'x' }])).rejects.toThrow(/^\[0\]: give "correct", or both "expected" and "predicted"/);
    const ids = await ingestEvaluations(db, [
      { model: 'm', correct: true },
      { model: 'm', input: 'What is 2+2?', expected: '4', predicted: '5' },
    ]);
    expect(ids).toHaveLength(2);
    expect((await db.query('SELECT input FROM evaluation_log WHERE input IS NOT NULL')).rows).toEqual([{ input: 'What is 2+2?' }]);
  });

  it('rejects non-finite or empty embeddings', async () => {
    await expect(ingestEmbeddings(db, [{ model: 'm', embedding: [] }])).rejects.toThrow(/^\[0\]\.embedding: expected a non-empty array/);
    await expect(ingestEmbeddings(db, [{ model: 'm', embedding: [1, Number.NaN] }])).rejects.toThrow(/^\[0\]\.embedding\[1\]: /);
    await expect(ingestEmbeddings(db, [{ model: 'm', embedding: [1], colour: 'red' } as never])).rejects.toThrow(/^\[0\]\.colour: unknown field/);
    expect(await ingestEmbeddings(db, [{ model: 'm', embedding: [1, 2, 3], source: 'response' }])).toHaveLength(1);
  });
});

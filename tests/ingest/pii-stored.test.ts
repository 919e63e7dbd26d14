import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestHarness } from './harness.js';

/**
 * Every kind of personal data the scrubber knows, sent through POST /v1/ingest in every
 * text field an event has, and read back from the stored rows: only the placeholders are
 * stored, no fragment of the values.
 */
const PLANTED = {
  email: ['jane.doe+test@example.co.uk', '[EMAIL]'],
  phone: ['+44 20 7946 0958', '[PHONE]'],
  card: ['4111 1111 1111 1111', '[CARD]'],
  iban: ['DE89 3704 0044 0532 0130 00', '[IBAN]'],
  iban_compact: ['GB82WEST12345698765432', '[IBAN]'],
  ipv4: ['192.168.10.254', '[IP]'],
  ipv6: ['2001:db8:85a3::8a2e:370:7334', '[IP]'],
  ipv6_short: ['fe80::1', '[IP]'],
  sk_key: ['sk-proj-abcdefghijklmnopqrstuvwx1234', '[SECRET]'],
  bearer: ['Bearer eyJhbGciOiJIUzI1NiJ9.e30.abcdefghijkl', '[SECRET]'],
  aws_key_id: ['AKIAIOSFODNN7EXAMPLE', '[SECRET]'],
  aws_secret: ['aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '[SECRET]'],
} as const;
const kinds = Object.keys(PLANTED) as (keyof typeof PLANTED)[];
const text = (k: keyof typeof PLANTED) => `before ${PLANTED[k][0]} after`;
const scrubbed = (k: keyof typeof PLANTED) => `before ${PLANTED[k][1]} after`;
/** Distinctive pieces of each value: none may appear anywhere in what was stored. */
const fragments = ['jane.doe', '7946', '4111', 'DE89', '3704', 'GB82', 'WEST1234', '192.168', '2001:db8', '8a2e', 'fe80', 'sk-proj', 'abcdefghijklmnop', 'eyJhbGci', 'AKIAIOSFODNN7', 'wJalrXUtnFEMI', 'EXAMPLEKEY'];

let h: Awaited<ReturnType<typeof ingestHarness>>;
beforeAll(async () => {
  h = await ingestHarness({ config: { ingest: { compute_embeddings: false } } });
});
afterAll(() => h?.close());

describe('personal data of every kind is scrubbed before it is stored', () => {
  it.each(kinds)('%s: interaction query/response/error, evaluation texts, document text and metadata read back scrubbed', async (kind) => {
    const r = await h.post('/v1/ingest', {
      batch: [
        { id: `pii-i-${kind}`, type: 'interaction', body: { model: 'pii-bot', query: text(kind), response: text(kind), error: text(kind) } },
        { id: `pii-e-${kind}`, type: 'evaluation', body: { model: 'pii-bot', eval_set: 'golden', input: text(kind), expected: text(kind), predicted: text(kind) } },
        { id: `pii-d-${kind}`, type: 'document', body: { model: 'pii-bot', text: text(kind), metadata: { owner: text(kind), nested: [text(kind)] } } },
      ],
    });
    expect(r.status).toBe(207);
    expect(r.json.errors).toEqual([]);
    const i = (await h.db.query<Record<string, unknown>>(`SELECT query, response, error FROM interaction_log WHERE event_id = $1`, [`pii-i-${kind}`])).rows[0];
    expect(i).toEqual({ query: scrubbed(kind), response: scrubbed(kind), error: scrubbed(kind) });
    const e = (await h.db.query<Record<string, unknown>>(`SELECT input, expected, predicted FROM evaluation_log WHERE model = 'pii-bot' AND input LIKE $1`, [`%${PLANTED[kind][1]}%`])).rows;
    expect(e).toContainEqual({ input: scrubbed(kind), expected: scrubbed(kind), predicted: scrubbed(kind) });
    const d = (await h.db.query<Record<string, unknown>>(`SELECT content, metadata FROM documents WHERE doc_key = $1`, [`pii-d-${kind}`])).rows[0];
    expect(d).toEqual({ content: scrubbed(kind), metadata: { owner: scrubbed(kind), nested: [scrubbed(kind)] } });
  });

  it('through the shortcuts too; no fragment of any value is stored in any table', async () => {
    const all = kinds.map((k) => PLANTED[k][0]).join(' ; ');
    expect((await h.post('/v1/interactions', { model: 'pii-bot', query: all, response: all })).status).toBe(201);
    expect((await h.post('/v1/evaluations', { model: 'pii-bot', eval_set: 'shortcut', input: all, expected: all, predicted: all })).status).toBe(201);
    const want = kinds.map((k) => PLANTED[k][1]).join(' ; ');
    const s = (await h.db.query<{ query: string; response: string }>(`SELECT query, response FROM interaction_log WHERE model = 'pii-bot' AND event_id IS NULL`)).rows;
    expect(s).toEqual([{ query: want, response: want }]);
    const ev = (await h.db.query(`SELECT input, expected, predicted FROM evaluation_log WHERE eval_set = 'shortcut'`)).rows;
    expect(ev).toEqual([{ input: want, expected: want, predicted: want }]);
    // Every row of every table this test's events touched, as text, but for the columns the
    // system fills itself (random sample keys, hashes, times, ids), whose digits can hold a
    // fragment such as "3704" by chance.
    const generated = new Set(['id', 'row_id', 'sample_key', 'content_hash', 'indexed_hash', 'body_hash', 'ts', 'created_at', 'updated_at', 'indexed_at', 'feedback_at']);
    const dump = JSON.stringify(
      await Promise.all(
        ['interaction_log', 'evaluation_log', 'documents', 'ingest_events'].map(async (t) =>
          (await h.db.query<Record<string, unknown>>(`SELECT * FROM ${t}`)).rows.map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => !generated.has(k)))),
        ),
      ),
    );
    for (const f of fragments) expect(dump, f).not.toContain(f);
  });
});

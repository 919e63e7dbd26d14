import { createHash } from 'node:crypto';
import { OfflineEmbeddingProvider, toVectorText, type Db, type EmbeddingProvider } from '@driftwatch/core';
import { BASELINE, CURRENT, MUSIC, PROGRAMMING, REFUSALS, seeded, type WindowProfile } from '../demo/scenario.js';

const DAY = 86_400_000;

export interface DemoOptions {
  model: string;
  now: Date;
  baselineDays: number;
  currentDays: number;
  /** Interactions per day. */
  perDay?: number;
  /** Evaluation items per day. */
  evalsPerDay?: number;
  reset?: boolean;
  seed?: number;
  embeddings?: EmbeddingProvider;
}

/** n booleans, round(n * share) of them true, in random order. */
function exactly(n: number, share: number, rand: () => number): boolean[] {
  const k = Math.round(n * share);
  const out = Array.from({ length: n }, (_, i) => i < k);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const TABLES = ['embeddings_log', 'interaction_log', 'evaluation_log', 'documents'] as const;

async function hasData(db: Db, model: string): Promise<boolean> {
  const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM interaction_log WHERE model = $1', [model]);
  return r.rows[0].n > 0;
}

/**
 * Seeds the demo scenario for a model. Refuses to mix with existing data unless reset,
 * and writes everything in one transaction: all of it or nothing.
 */
export async function seedDemo(db: Db, o: DemoOptions): Promise<Record<string, unknown>> {
  if (!o.reset && (await hasData(db, o.model))) return { seeded: false, model: o.model, note: 'demo data already present; kept (use --reset to recreate it)' };
  const rand = seeded(o.seed ?? 42);
  const perDay = o.perDay ?? 60;
  const evalsPerDay = o.evalsPerDay ?? 20;
  const embedder = o.embeddings ?? new OfflineEmbeddingProvider();

  type Row = { ts: Date; query: string; response: string; refused: boolean; feedback: number | null; success: boolean; cost: number; tokens: [number, number] };
  const windowRows = (p: WindowProfile, fromDaysAgo: number, days: number): { rows: Row[]; evals: { ts: Date; q: string; expected: string; predicted: string; correct: boolean }[] } => {
    const rows: Row[] = [];
    const evals = [];
    // Exact proportions, shuffled: the window shows the scenario's figures, not a noisy draw of them.
    const refusals = exactly(days * perDay, p.refusal_rate, rand);
    const corrects = exactly(days * evalsPerDay, p.accuracy, rand);
    for (let d = 0; d < days; d++) {
      const dayStart = o.now.getTime() - (fromDaysAgo - d) * DAY;
      for (let i = 0; i < perDay; i++) {
        const qa = p.domain[Math.floor(rand() * p.domain.length)];
        const refused = refusals[d * perDay + i];
        const ts = new Date(dayStart + rand() * (DAY - 60_000));
        const satisfied = !refused && rand() < p.satisfied;
        const feedback = rand() < 0.6 ? (refused ? 1 + Math.floor(rand() * 2) : satisfied ? 4 + Math.floor(rand() * 2) : 2 + Math.floor(rand() * 2)) : null;
        const promptTokens = 40 + Math.floor(rand() * 40);
        rows.push({
          ts,
          query: qa.question,
          response: refused ? REFUSALS[Math.floor(rand() * REFUSALS.length)] : satisfied ? qa.answer : `It depends; ${qa.question.toLowerCase()} varies a lot between people.`,
          refused,
          feedback,
          success: !refused && rand() < p.task_success / (1 - p.refusal_rate),
          cost: p.cost_per_day / perDay,
          tokens: [promptTokens, 120 + Math.floor(rand() * 80)],
        });
      }
      for (let i = 0; i < evalsPerDay; i++) {
        const qa = p.domain[Math.floor(rand() * p.domain.length)];
        const correct = corrects[d * evalsPerDay + i];
        evals.push({ ts: new Date(dayStart + rand() * (DAY - 60_000)), q: qa.question, expected: qa.answer, predicted: correct ? qa.answer : 'I am not sure about that.', correct });
      }
    }
    return { rows, evals };
  };

  const base = windowRows(BASELINE, o.currentDays + o.baselineDays, o.baselineDays);
  const cur = windowRows(CURRENT, o.currentDays, o.currentDays);
  const rows = [...base.rows, ...cur.rows];
  const evals = [...base.evals, ...cur.evals];
  const { vectors } = await embedder.embed(rows.map((r) => r.query));

  await db.transaction(async (tx) => {
    if (o.reset) for (const t of TABLES) await tx.query(`DELETE FROM ${t} WHERE model = $1`, [o.model]);
    const ids = await tx.query<{ id: number }>(
      `INSERT INTO interaction_log (model, ts, query, response, error, latency_ms, prompt_tokens, completion_tokens, cost_usd, feedback_score, task_success)
       SELECT $1, * FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::float8[], $10::smallint[], $11::boolean[])
       RETURNING id`,
      [o.model, rows.map((r) => r.ts), rows.map((r) => r.query), rows.map((r) => r.response), rows.map(() => null), rows.map(() => 300 + Math.floor(rand() * 900)),
        rows.map((r) => r.tokens[0]), rows.map((r) => r.tokens[1]), rows.map((r) => r.cost), rows.map((r) => r.feedback), rows.map((r) => r.success)],
    );
    await tx.query(
      `INSERT INTO embeddings_log (model, ts, source, interaction_id, embedding, dim)
       SELECT $1, ts, 'query', id, e::vector, $5 FROM unnest($2::timestamptz[], $3::bigint[], $4::text[]) AS u(ts, id, e)`,
      [o.model, rows.map((r) => r.ts), ids.rows.map((r) => r.id), vectors.map((v) => toVectorText(v)), vectors[0]?.length ?? 0],
    );
    await tx.query(
      `INSERT INTO evaluation_log (model, ts, eval_set, item_id, input, expected, predicted, correct)
       SELECT $1, * FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[])`,
      [o.model, evals.map((e) => e.ts), evals.map(() => 'default'), evals.map((e) => `q-${createHash('sha1').update(e.q).digest('hex').slice(0, 12)}`), evals.map((e) => e.q),
        evals.map((e) => e.expected), evals.map((e) => e.predicted), evals.map((e) => e.correct)],
    );
    // The retrieval corpus: music guides indexed long ago, programming guides added but not yet indexed.
    const docs = [...MUSIC.map((s) => ({ key: `music/${s}`, text: `A practical guide to ${s}.`, indexed: true })), ...PROGRAMMING.map((s) => ({ key: `programming/${s}`, text: `A practical guide to ${s}.`, indexed: false }))];
    const hash = (t: string) => createHash('sha256').update(t).digest('hex');
    const docVectors = (await embedder.embed(docs.map((d) => d.text))).vectors;
    await tx.query(
      `INSERT INTO documents (model, doc_key, content, content_hash, embedding, embedding_model, indexed_hash, indexed_at)
       SELECT $1, k, c, h, CASE WHEN i THEN e::vector END, CASE WHEN i THEN $6 END, CASE WHEN i THEN h END, CASE WHEN i THEN now() - interval '40 days' END
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $7::boolean[]) AS u(k, c, h, e, i)
       ON CONFLICT (model, doc_key) DO UPDATE SET content = excluded.content, content_hash = excluded.content_hash, updated_at = now()`,
      [o.model, docs.map((d) => d.key), docs.map((d) => d.text), docs.map((d) => hash(d.text)), docVectors.map((v) => toVectorText(v)), embedder.model, docs.map((d) => d.indexed)],
    );
  });
  const rate = (rs: typeof rows, f: (r: (typeof rows)[number]) => boolean) => Math.round((rs.filter(f).length / rs.length) * 1000) / 1000;
  const acc = (es: typeof evals) => Math.round((es.filter((e) => e.correct).length / es.length) * 1000) / 1000;
  return {
    seeded: true,
    model: o.model,
    interactions: rows.length,
    evaluations: evals.length,
    documents: MUSIC.length + PROGRAMMING.length,
    baseline: { topic: 'music', accuracy: acc(base.evals), refusal_rate: rate(base.rows, (r) => r.refused), cost_per_day: BASELINE.cost_per_day },
    current: { topic: 'programming', accuracy: acc(cur.evals), refusal_rate: rate(cur.rows, (r) => r.refused), cost_per_day: CURRENT.cost_per_day },
  };
}

import type { AccuracyWindow, InteractionRecord, Matrix } from '../../monitors/types.js';
import type { Queryable } from '../types.js';
import { vectorsToMatrix } from '../vector.js';

/** A half-open time range [start, end). */
export interface TimeWindow {
  start: Date;
  end: Date;
}

/** The baseline window ends where the current one starts; the current one ends now. */
export function windowsFor(now: Date, baselineDays: number, currentDays: number): { baseline: TimeWindow; current: TimeWindow } {
  const day = 86_400_000;
  const currentStart = new Date(now.getTime() - currentDays * day);
  return {
    baseline: { start: new Date(currentStart.getTime() - baselineDays * day), end: currentStart },
    current: { start: currentStart, end: now },
  };
}

/**
 * A uniform sample of at most `limit` query embeddings of a model in a window, chosen
 * in SQL by the fixed per-row sample_key (reproducible; the cost follows the window's
 * index entries and the sample, not the table's history).
 */
export async function sampleEmbeddings(db: Queryable, model: string, w: TimeWindow, limit: number): Promise<Matrix> {
  const { rows } = await db.query<{ e: string }>(
    `SELECT embedding::text AS e FROM embeddings_log
      WHERE model = $1 AND source = 'query' AND ts >= $2 AND ts < $3
      ORDER BY sample_key LIMIT $4`,
    [model, w.start, w.end, limit],
  );
  return vectorsToMatrix(rows.map((r) => r.e));
}

/** A uniform sample of at most `limit` interactions of a model in a window. */
export async function sampleInteractions(db: Queryable, model: string, w: TimeWindow, limit: number): Promise<(InteractionRecord & { id: number })[]> {
  const { rows } = await db.query<{ id: number; query: string; response: string; error: string | null; latency_ms: number | null; toxic: boolean | null; cost_usd: number | null }>(
    `SELECT id, query, response, error, latency_ms, toxic, cost_usd FROM interaction_log
      WHERE model = $1 AND ts >= $2 AND ts < $3
      ORDER BY sample_key LIMIT $4`,
    [model, w.start, w.end, limit],
  );
  return rows;
}

/** Stores moderation verdicts so that an interaction is moderated once. */
export async function storeModeration(db: Queryable, verdicts: { id: number; flagged: boolean; score: number }[]): Promise<void> {
  if (verdicts.length === 0) return;
  await db.query(
    `UPDATE interaction_log AS i SET toxic = v.flagged, toxicity_score = v.score
       FROM (SELECT unnest($1::bigint[]) AS id, unnest($2::boolean[]) AS flagged, unnest($3::real[]) AS score) AS v
      WHERE i.id = v.id`,
    [verdicts.map((v) => v.id), verdicts.map((v) => v.flagged), verdicts.map((v) => v.score)],
  );
}

/** Accuracy figures of a window, aggregated in SQL. */
export async function accuracyWindow(db: Queryable, model: string, w: TimeWindow): Promise<AccuracyWindow> {
  const params = [model, w.start, w.end];
  const [evals, feedback, labels] = await Promise.all([
    db.query<{ total: number; correct: number; task_total: number; task_success: number }>(
      `SELECT
         (SELECT count(*) FROM evaluation_log WHERE model = $1 AND ts >= $2 AND ts < $3
             AND (correct IS NOT NULL OR (expected IS NOT NULL AND predicted IS NOT NULL)))::int AS total,
         (SELECT count(*) FROM evaluation_log WHERE model = $1 AND ts >= $2 AND ts < $3
             AND coalesce(correct, expected = predicted))::int AS correct,
         (SELECT count(task_success) FROM interaction_log WHERE model = $1 AND ts >= $2 AND ts < $3)::int AS task_total,
         (SELECT count(*) FILTER (WHERE task_success) FROM interaction_log WHERE model = $1 AND ts >= $2 AND ts < $3)::int AS task_success`,
      params,
    ),
    db.query<{ score: number; n: number }>(
      `SELECT feedback_score AS score, count(*)::int AS n FROM interaction_log
        WHERE model = $1 AND ts >= $2 AND ts < $3 AND feedback_score IS NOT NULL GROUP BY feedback_score`,
      params,
    ),
    db.query<{ label: string; tp: number; fp: number; fn: number }>(
      `WITH l AS (SELECT expected, predicted FROM evaluation_log
                   WHERE model = $1 AND ts >= $2 AND ts < $3 AND expected IS NOT NULL AND predicted IS NOT NULL)
       SELECT label, sum(tp)::int AS tp, sum(fp)::int AS fp, sum(fn)::int AS fn FROM (
         SELECT expected AS label, (expected = predicted)::int AS tp, 0 AS fp, (expected <> predicted)::int AS fn FROM l
         UNION ALL
         SELECT predicted, 0, (expected <> predicted)::int, 0 FROM l
       ) AS x GROUP BY label`,
      params,
    ),
  ]);
  const e = evals.rows[0];
  const counts: AccuracyWindow['feedback_counts'] = [0, 0, 0, 0, 0];
  for (const r of feedback.rows) counts[r.score - 1] = r.n;
  return {
    eval_total: e.total,
    eval_correct: e.correct,
    feedback_counts: counts,
    task_total: e.task_total,
    task_success: e.task_success,
    labels: Object.fromEntries(labels.rows.map((r) => [r.label, { tp: r.tp, fp: r.fp, fn: r.fn }])),
  };
}

import type { AccuracyWindow, InteractionRecord, Matrix } from '../../monitors/types.js';
import type { Queryable } from '../types.js';
import { sendHexToMatrix } from '../vector.js';

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

/*
 * Sampling a window at the cost of its sample.
 *
 * Every log row carries sample_key, a uniform random number in [0, 1) fixed at insert and
 * independent of the row's content and time. For a seed we take a start s in [0, 1); the
 * sample of a window is the `limit` rows of the window whose key comes first going round
 * the circle from s, i.e. with the smallest (sample_key - s) mod 1.
 *
 * Why this is uniform: the keys are i.i.d. uniform and independent of the rows, and so are
 * their rotations by a fixed s; the `limit` smallest of i.i.d. continuous keys are a
 * uniformly random subset of that size. Reproducible: the sample is a function of
 * (seed, model, rows in the window) only, however the search below proceeds. Two seeds
 * give two different samples.
 *
 * Why it costs what the sample costs: migration 000006 indexes
 * (model, [source,] UTC day of ts, sample_key) INCLUDE (ts, id). For the window's days we
 * read only the index entries whose key lies in [s, s + tau) (wrapping round 1), one index
 * range per day, and keep those inside [start, end). With about W rows in the window that
 * is about W x tau entries, plus the slivers of the two edge days; tau starts small and
 * grows (geometrically, aimed by the count it found) until at least `limit` rows are in
 * range, so the search reads a small multiple of `limit` index entries whether the window
 * holds 10 thousand rows or 10 million, and history outside the window is never touched
 * (other days are other index ranges). Only the chosen rows' vectors or texts are
 * read, by primary key, in the same statement. The alternative considered, a stored reservoir per model and day
 * kept at ingest, needs every writer (gateway, ingest API, SDK, direct SQL) to maintain it;
 * this needs nothing from them.
 */

/** Where the circle is cut for a seed and model: a number in [0, 1). */
export function sampleStart(seed: number, model: string): number {
  let h = 2166136261 ^ Math.floor(seed);
  const s = `${model}\u0000sample`;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  // One extra round of mixing (murmur3 finaliser) so close seeds give distant starts.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** The UTC dates a window touches, as 'YYYY-MM-DD'. */
export function windowDays(w: TimeWindow): string[] {
  const day = 86_400_000;
  const out: string[] = [];
  const last = Math.floor((w.end.getTime() - 1) / day);
  for (let d = Math.floor(w.start.getTime() / day); d <= last; d++) out.push(new Date(d * day).toISOString().slice(0, 10));
  return out;
}

/** First guess of the key range to read: right for a window of about a million rows. */
const FIRST_TAU = 1 / 1_000_000;
/** Rows per ms of window of the last sampling of each table and model (insertion order = age: the oldest goes first). */
const density = new Map<string, number>();
const DENSITY_MEMO_MAX = 20_000;

export interface SampleStats {
  /** Rounds of the key-range search (1 or 2 when the guess is good). */
  rounds: number;
  /** Index entries read (ids and keys), all rounds together. */
  scanned: number;
}

/**
 * A uniform sample of at most `limit` rows of a window (embeddings_log: query embeddings
 * only), in sample order (see above), with the columns `payload` names (of `t`, the
 * table) read for the chosen rows only.
 *
 * Each round is one statement: the key range's index entries (both arcs when the range
 * wraps round 1), their count, the first `limit` of them in sample order (offset from s,
 * ties by id) and only those rows' payload, fetched by primary key. A round that finds too few rows and has to widen the range wasted the
 * payload of the few rows it found; the round that ends the search, usually the first once
 * the density is known, returns the sample itself.
 */
async function sampleRows<R extends { id: number }>(
  db: Queryable,
  table: 'embeddings_log' | 'interaction_log',
  model: string,
  w: TimeWindow,
  limit: number,
  seed: number,
  stats: SampleStats | undefined,
  payload: string,
): Promise<R[]> {
  if (limit <= 0 || w.end <= w.start) return [];
  const s = sampleStart(seed, model);
  const days = windowDays(w);
  const sourceCond = table === 'embeddings_log' ? `AND source = 'query'` : '';
  const arc = (lo: string, hi: string) => `SELECT id, sample_key AS k FROM ${table}
      WHERE model = $1 ${sourceCond} AND (ts AT TIME ZONE 'UTC')::date = ANY($2::date[])
        AND sample_key >= ${lo} AND sample_key < ${hi} AND ts >= $5 AND ts < $6`;
  // offset(k) = (k - s) mod 1 in double precision, as (k - s) + 1 below s: the order of the sample does not depend on the round.
  const sql = `WITH r AS (${arc('$3', '$4')} UNION ALL ${arc('$7', '$8')}),
      top AS (SELECT id, CASE WHEN k >= $9 THEN k - $9 ELSE k - $9 + 1 END AS o FROM r ORDER BY o, id LIMIT $10)
    SELECT top.id, (SELECT count(*) FROM r)::int AS n${payload ? `, ${payload}` : ''}
      FROM top JOIN ${table} AS t ON t.id = top.id ORDER BY top.o, top.id`;
  // The first guess: from how dense this model's rows were in its last sampled window (a run
  // samples the baseline, then the current window; a daily run finds yesterday's), else FIRST_TAU.
  // Whatever the guess, the sample is the same: the `limit` rows nearest after s in key order.
  const memoKey = `${table}|${model}`;
  const span = w.end.getTime() - w.start.getTime();
  const known = density.get(memoKey);
  let tau = Math.min(1, known !== undefined && known > 0 ? (1.5 * limit) / (known * span) : limit * FIRST_TAU);
  let rounds = 0;
  let scanned = 0;
  let found: number;
  let rows: (R & { n: number })[];
  for (;;) {
    rounds++;
    const hi = s + tau;
    // One arc [s, s + tau), or two when it passes 1: [s, 1] and [0, s + tau - 1); an empty second arc otherwise.
    const [a, b]: [number, number][] = tau >= 1 ? [[0, 1.0000001], [0, 0]] : hi <= 1 ? [[s, hi], [0, 0]] : [[s, 1.0000001], [0, hi - 1]];
    rows = (await db.query<R & { n: number }>(sql, [model, days, a[0], a[1], w.start, w.end, b[0], b[1], s, limit])).rows;
    found = rows.length ? rows[0].n : 0;
    scanned += found;
    if (found >= limit || tau >= 1) break;
    // Aim for 1.5x the rows needed (counts are Poisson: this usually ends the search in one more round).
    // None found: the window holds about 3 / tau rows or fewer (95%), so tau x limit reads about
    // 3 x limit entries at most and ends the search (a small window: all of it) in one more round.
    tau = Math.min(1, found > 0 ? tau * Math.max(2, (1.5 * limit) / found) : tau * Math.max(64, limit));
  }
  // Rows per ms of window: the whole window when it was read whole, else what the key range read implies.
  density.delete(memoKey);
  if (density.size >= DENSITY_MEMO_MAX) density.delete(density.keys().next().value!);
  density.set(memoKey, found / Math.max(tau, 1e-12) / Math.max(span, 1));
  if (stats) {
    stats.rounds = rounds;
    stats.scanned = scanned;
  }
  for (const r of rows) delete (r as { n?: number }).n;
  return rows;
}

/**
 * The ids of a uniform sample of at most `limit` rows of a window, in sample order (see
 * above and sampleRows).
 */
export async function sampleIds(
  db: Queryable,
  table: 'embeddings_log' | 'interaction_log',
  model: string,
  w: TimeWindow,
  limit: number,
  seed = 0,
  stats?: SampleStats,
): Promise<number[]> {
  return (await sampleRows<{ id: number }>(db, table, model, w, limit, seed, stats, '')).map((r) => r.id);
}

/**
 * A uniform sample of at most `limit` query embeddings of a model in a window (see
 * sampleRows: the ids from the index, the chosen rows' vectors by primary key).
 */
export async function sampleEmbeddings(db: Queryable, model: string, w: TimeWindow, limit: number, seed = 0, stats?: SampleStats): Promise<Matrix> {
  const rows = await sampleRows<{ id: number; e: string }>(db, 'embeddings_log', model, w, limit, seed, stats, `encode(vector_send(t.embedding), 'hex') AS e`);
  return sendHexToMatrix(rows.map((r) => r.e));
}

/** A uniform sample of at most `limit` interactions of a model in a window, in sample order. */
export async function sampleInteractions(
  db: Queryable,
  model: string,
  w: TimeWindow,
  limit: number,
  seed = 0,
  stats?: SampleStats,
): Promise<(InteractionRecord & { id: number })[]> {
  return sampleRows<InteractionRecord & { id: number }>(db, 'interaction_log', model, w, limit, seed, stats, 't.query, t.response, t.error, t.latency_ms, t.toxic, t.cost_usd');
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
  // One statement, one pass over each table's window (a fleet runs this for every model twice a run).
  const { rows } = await db.query<{
    total: number;
    correct: number;
    task_total: number;
    task_success: number;
    feedback: number[] | string;
    labels: [string, number, number, number][] | string;
  }>(
    `WITH e AS (SELECT expected, predicted, correct FROM evaluation_log WHERE model = $1 AND ts >= $2 AND ts < $3),
          i AS (SELECT count(task_success)::int AS task_total, (count(*) FILTER (WHERE task_success))::int AS task_success,
                       json_build_array(count(*) FILTER (WHERE feedback_score = 1), count(*) FILTER (WHERE feedback_score = 2),
                                        count(*) FILTER (WHERE feedback_score = 3), count(*) FILTER (WHERE feedback_score = 4),
                                        count(*) FILTER (WHERE feedback_score = 5)) AS feedback
                  FROM interaction_log WHERE model = $1 AND ts >= $2 AND ts < $3),
          l AS (SELECT expected, predicted FROM e WHERE expected IS NOT NULL AND predicted IS NOT NULL)
     SELECT (SELECT count(*) FROM e WHERE correct IS NOT NULL OR (expected IS NOT NULL AND predicted IS NOT NULL))::int AS total,
            (SELECT count(*) FROM e WHERE coalesce(correct, expected = predicted))::int AS correct,
            i.task_total, i.task_success, i.feedback,
            (SELECT coalesce(json_agg(json_build_array(label, tp, fp, fn)), '[]'::json) FROM (
               SELECT label, sum(tp)::int AS tp, sum(fp)::int AS fp, sum(fn)::int AS fn FROM (
                 SELECT expected AS label, (expected = predicted)::int AS tp, 0 AS fp, (expected <> predicted)::int AS fn FROM l
                 UNION ALL
                 SELECT predicted, 0, (expected <> predicted)::int, 0 FROM l
               ) AS x GROUP BY label) AS g) AS labels
       FROM i`,
    [model, w.start, w.end],
  );
  const e = rows[0];
  const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
  const fb = json(e.feedback).map(Number);
  return {
    eval_total: e.total,
    eval_correct: e.correct,
    feedback_counts: [fb[0], fb[1], fb[2], fb[3], fb[4]],
    task_total: e.task_total,
    task_success: e.task_success,
    labels: Object.fromEntries(json(e.labels).map(([label, tp, fp, fn]) => [label, { tp, fp, fn }])),
  };
}

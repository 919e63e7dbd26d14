import { createHash } from 'node:crypto';
import { OfflineEmbeddingProvider, answerIsCorrect, isRefusal, toVectorText, type AnswerProvider, type AppContext, type Db, type EmbeddingProvider, type Queryable } from '@driftwatch/core';
import { CURRENT_PROGRAMMING_SHARE, LATER_SHARE, MUSIC, PROGRAMMING, seeded, type QA } from '../demo/scenario.js';
import { mapBounded } from '../bounded.js';
import { gatewayTraffic } from '../demo/gateway-traffic.js';
import { measuredUsage, planDays, playUser } from '../demo/simulate.js';

const DAY = 86_400_000;

export interface DemoOptions {
  model: string;
  now: Date;
  baselineDays: number;
  currentDays: number;
  /** The chat model that answers (the offline one: its base model knows music). */
  answers: AnswerProvider;
  /** The base model's name (the config's models[].base_model). */
  baseModel: string;
  reset?: boolean;
  seed?: number;
  embeddings?: EmbeddingProvider;
}

export interface InteractionRow {
  ts: Date;
  model_version: string | null;
  query: string;
  response: string;
  feedback: number | null;
  success: boolean;
  cost: number;
  tokens: [number, number];
  /** A bot answer (not the support team's). */
  bot: boolean;
}

export interface EvalRow {
  ts: Date;
  model_version: string | null;
  question: string;
  expected: string;
  predicted: string;
  correct: boolean;
}

/**
 * Some days of the demo's users answered by a model directly (the history `driftwatch
 * demo` seeds, from before the gateway was in front of the bot): the same users as
 * `demo --days` sends through the gateway, with tokens and cost measured the same way.
 */
async function answeredDirectly(o: { from: Date; days: number; programmingShare: number; rand: () => number; answers: AnswerProvider; providerModel: string; version: string | null }): Promise<{ interactions: InteractionRow[]; evals: EvalRow[] }> {
  const plan = planDays(o);
  const ask = async (qa: QA) => ({ response: (await o.answers.answer(o.providerModel, [qa.question])).answers[0], ref: null });
  const users = await mapBounded(plan.asked, 1, (a) => playUser(a, ask));
  const interactions: InteractionRow[] = [];
  for (const u of users) {
    for (const t of u.bot) {
      const usage = measuredUsage(t.qa, t.response, o.providerModel);
      interactions.push({ ts: t.ts, model_version: o.version, query: t.qa.question, response: t.response, feedback: t.feedback, success: t.right, cost: usage.cost_usd, tokens: [usage.prompt_tokens, usage.completion_tokens], bot: true });
    }
    if (u.support) interactions.push({ ts: u.support.ts, model_version: 'support-team', query: u.support.qa.question, response: u.support.qa.answer, feedback: u.support.feedback, success: true, cost: 0, tokens: [0, 0], bot: false });
  }
  const predicted = (await o.answers.answer(o.providerModel, plan.evals.map((e) => e.qa.question))).answers;
  const evals = plan.evals.map((e, i) => ({ ts: e.ts, model_version: o.version, question: e.qa.question, expected: e.qa.answer, predicted: predicted[i], correct: answerIsCorrect(predicted[i], e.qa.answer) }));
  return { interactions, evals };
}

const TABLES = ['embeddings_log', 'interaction_log', 'evaluation_log', 'documents'] as const;

async function hasData(db: Db, model: string): Promise<boolean> {
  const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM interaction_log WHERE model = $1', [model]);
  return r.rows[0].n > 0;
}

/** Inserts simulated interactions (with their query embeddings) and evaluation results. */
async function insertRows(tx: Queryable, model: string, rows: InteractionRow[], evals: EvalRow[], embedder: EmbeddingProvider): Promise<void> {
  const { vectors } = await embedder.embed(rows.map((r) => r.query));
  const ids = await tx.query<{ id: number }>(
    `INSERT INTO interaction_log (model, ts, model_version, query, response, error, latency_ms, prompt_tokens, completion_tokens, cost_usd, feedback_score, task_success)
     SELECT $1, * FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[], $9::int[], $10::float8[], $11::smallint[], $12::boolean[])
     RETURNING id`,
    [model, rows.map((r) => r.ts), rows.map((r) => r.model_version), rows.map((r) => r.query), rows.map((r) => r.response), rows.map(() => null),
      rows.map((r) => (r.bot ? 300 + ((r.tokens[1] * 7) % 900) : 60_000)), rows.map((r) => r.tokens[0]), rows.map((r) => r.tokens[1]), rows.map((r) => r.cost),
      rows.map((r) => r.feedback), rows.map((r) => r.success)],
  );
  await tx.query(
    `INSERT INTO embeddings_log (model, ts, source, interaction_id, embedding, dim)
     SELECT $1, ts, 'query', id, e::vector, $5 FROM unnest($2::timestamptz[], $3::bigint[], $4::text[]) AS u(ts, id, e)`,
    [model, rows.map((r) => r.ts), ids.rows.map((r) => r.id), vectors.map((v) => toVectorText(v)), vectors[0]?.length ?? 0],
  );
  await tx.query(
    `INSERT INTO evaluation_log (model, ts, model_version, eval_set, item_id, input, expected, predicted, correct)
     SELECT $1, * FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::boolean[])`,
    [model, evals.map((e) => e.ts), evals.map((e) => e.model_version), evals.map(() => 'default'), evals.map((e) => `q-${createHash('sha1').update(e.question).digest('hex').slice(0, 12)}`),
      evals.map((e) => e.question), evals.map((e) => e.expected), evals.map((e) => e.predicted), evals.map((e) => e.correct)],
  );
}

/**
 * Seeds the demo scenario for a model: baseline_days of music questions, then
 * current_days in which CURRENT_PROGRAMMING_SHARE of the questions are about
 * programming, every answer given by the offline base model (scenario.ts). Refuses to
 * mix with existing data unless reset, and writes everything in one transaction.
 */
export async function seedDemo(db: Db, o: DemoOptions): Promise<Record<string, unknown>> {
  if (!o.reset && (await hasData(db, o.model))) return { seeded: false, model: o.model, note: 'demo data already present; kept (use --reset to recreate it, --days N to simulate the days after a fine-tune)' };
  const rand = seeded(o.seed ?? 42);
  const embedder = o.embeddings ?? new OfflineEmbeddingProvider();
  const base = { answers: o.answers, providerModel: o.baseModel, version: null, rand };
  const start = o.now.getTime() - (o.baselineDays + o.currentDays) * DAY;
  const before = await answeredDirectly({ ...base, from: new Date(start), days: o.baselineDays, programmingShare: 0 });
  const during = await answeredDirectly({ ...base, from: new Date(o.now.getTime() - o.currentDays * DAY), days: o.currentDays, programmingShare: CURRENT_PROGRAMMING_SHARE });

  await db.transaction(async (tx) => {
    if (o.reset) {
      for (const t of TABLES) await tx.query(`DELETE FROM ${t} WHERE model = $1`, [o.model]);
    }
    await insertRows(tx, o.model, [...before.interactions, ...during.interactions], [...before.evals, ...during.evals], embedder);
    // The retrieval corpus: music guides indexed long ago, programming guides added but not yet indexed.
    const docs = [
      ...Object.keys(MUSIC).map((s) => ({ key: `music/${s}`, text: `A practical guide to ${s}.`, indexed: true })),
      ...Object.keys(PROGRAMMING).map((s) => ({ key: `programming/${s}`, text: `A practical guide to ${s}.`, indexed: false })),
    ];
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
  const figures = (w: { interactions: InteractionRow[]; evals: EvalRow[] }, days: number) => summarise(w.interactions.filter((r) => r.bot), w.evals, days);
  return {
    seeded: true,
    model: o.model,
    interactions: before.interactions.length + during.interactions.length,
    evaluations: before.evals.length + during.evals.length,
    documents: Object.keys(MUSIC).length + Object.keys(PROGRAMMING).length,
    baseline: { topic: 'music', ...figures(before, o.baselineDays) },
    current: { topic: `music, ${Math.round(CURRENT_PROGRAMMING_SHARE * 100)}% programming`, ...figures(during, o.currentDays) },
  };
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
/** Dollars to a millionth: the demo's bot costs about a tenth of a cent a day at gpt-4o-mini's prices. */
const usd6 = (x: number) => Math.round(x * 1e6) / 1e6;

function summarise(bot: InteractionRow[], evals: EvalRow[], days: number) {
  const rated = bot.filter((r) => r.feedback !== null);
  return {
    accuracy: r3(evals.filter((e) => e.correct).length / Math.max(1, evals.length)),
    refusal_rate: r3(bot.filter((r) => isRefusal(r.response)).length / Math.max(1, bot.length)),
    feedback: r3(rated.reduce((s, r) => s + r.feedback!, 0) / Math.max(1, rated.length)),
    cost_per_day: usd6(bot.reduce((s, r) => s + r.cost, 0) / days),
  };
}

/** Every table and timestamp column of a model's history that the demo clock moves. */
const SHIFTED: [table: string, columns: string[]][] = [
  ['interaction_log', ['ts']],
  ['embeddings_log', ['ts']],
  ['evaluation_log', ['ts']],
  ['drift_runs', ['created_at', 'baseline_start', 'baseline_end', 'current_start', 'current_end']],
  ['decisions', ['created_at', 'updated_at', 'decided_at', 'window_start', 'window_end']],
  ['model_versions', ['created_at', 'promoted_at']],
  ['model_verifications', ['promoted_at', 'created_at', 'updated_at']],
];

/**
 * `driftwatch demo --days N`: the N days after the fine-tune. The demo's history (logs,
 * runs, decisions, versions) moves N days into the past, then N days of the same users
 * are simulated up to now, through the gateway (demo/gateway-traffic.ts): answered by
 * the version served now, rated through the feedback API. The next `run-once` sees them
 * in its current window and verifies the promotion.
 */
export async function continueDemo(ctx: AppContext, o: { model: string; now: Date; days: number; seed?: number; embeddings?: EmbeddingProvider; progress?: (line: string) => void }): Promise<Record<string, unknown>> {
  const db = ctx.db;
  if (!(await hasData(db, o.model))) throw new Error(`demo --days: no demo data for ${o.model} yet; run \`driftwatch demo\` first`);
  await db.transaction(async (tx) => {
    for (const [table, cols] of SHIFTED) {
      const exists = await tx.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [table]);
      if (!exists.rows[0].t) continue;
      await tx.query(`UPDATE ${table} SET ${cols.map((c) => `${c} = ${c} - make_interval(days => $2)`).join(', ')} WHERE model = $1`, [o.model, o.days]);
    }
  });
  const rand = seeded((o.seed ?? 42) + 1000 + o.days);
  const from = new Date(o.now.getTime() - o.days * DAY);
  const t = await gatewayTraffic(ctx, o.model, { from, days: o.days, programmingShare: CURRENT_PROGRAMMING_SHARE, laterShare: LATER_SHARE, rand, embeddings: o.embeddings ?? new OfflineEmbeddingProvider(), progress: o.progress });
  const bot = t.bot;
  const rated = bot.filter((r) => r.feedback !== null);
  return {
    continued: true,
    model: o.model,
    days: o.days,
    served_version: t.serving.version ?? `base (${t.serving.provider_model})`,
    through: 'gateway',
    calls: t.calls,
    calls_without_interaction_id: t.calls_without_id,
    blocked_by_safety_policy: t.blocked,
    feedback: t.feedback,
    support_answers: t.support_answers,
    evaluations: t.evaluations,
    embedded: t.embedded,
    simulated: {
      refusal_rate: r3(bot.filter((r) => r.refused).length / Math.max(1, bot.length)),
      feedback: r3(rated.reduce((s, r) => s + r.feedback!, 0) / Math.max(1, rated.length)),
    },
  };
}

export interface StoryRow {
  period: 'before' | 'during' | 'after';
  from: Date;
  to: Date;
  served: string;
  interactions: number;
  eval_items: number;
  accuracy: number | null;
  refusal_rate: number | null;
  /** Share of the calls the gateway's safety policy blocked (its refusal replaced the question's answer or the answer). */
  blocked_rate: number | null;
  feedback: number | null;
  cost_per_day: number | null;
}

/**
 * Before / during / after, measured from the logs (the base model's rows are logged
 * with model_version null, or 'base' by the gateway): before = until the current window
 * of the first promoted fine-tune began (or of the latest fine-tune decision),
 * during = from then until the promotion, after = since the promotion, answered by
 * the promoted version. Bot answers only (not the support team's); refusals on the calls
 * the safety policy let through (blocked ones are blocked_rate).
 */
export async function demoStory(db: Queryable, model: string, now: Date): Promise<StoryRow[]> {
  const v = (
    await db.query<{ version: string; promoted_at: Date; window_start: Date }>(
      `SELECT v.version, v.promoted_at, d.window_start FROM model_versions v JOIN decisions d ON d.id = v.decision_id
        WHERE v.model = $1 AND v.promoted_at IS NOT NULL ORDER BY v.promoted_at LIMIT 1`,
      [model],
    )
  ).rows[0];
  const d = v
    ? null
    : (await db.query<{ window_start: Date }>(`SELECT window_start FROM decisions WHERE model = $1 AND action = 'finetune' ORDER BY created_at DESC LIMIT 1`, [model])).rows[0];
  const first = (await db.query<{ t: Date | null }>(`SELECT min(ts) AS t FROM interaction_log WHERE model = $1`, [model])).rows[0].t;
  if (!first) return [];
  const driftStart = new Date(v?.window_start ?? d?.window_start ?? new Date(now.getTime() - 7 * DAY));
  const periods: { period: StoryRow['period']; from: Date; to: Date; version: string | null }[] = [
    { period: 'before', from: new Date(first), to: driftStart, version: null },
    { period: 'during', from: driftStart, to: v ? new Date(v.promoted_at) : now, version: null },
  ];
  if (v) periods.push({ period: 'after', from: new Date(v.promoted_at), to: now, version: v.version });
  const out: StoryRow[] = [];
  for (const p of periods) {
    const inter = await db.query<{ response: string; feedback_score: number | null; cost_usd: number | null; blocked: boolean; error: string | null }>(
      `SELECT response, feedback_score, cost_usd, coalesce(blocked, false) AS blocked, error FROM interaction_log
        WHERE model = $1 AND ts >= $2 AND ts < $3 AND coalesce(nullif(model_version, 'base'), '') = coalesce($4::text, '')`,
      [model, p.from, p.to, p.version],
    );
    const ev = await db.query<{ n: number; right: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE correct)::int AS right FROM evaluation_log
        WHERE model = $1 AND ts >= $2 AND ts < $3 AND coalesce(nullif(model_version, 'base'), '') = coalesce($4::text, '') AND correct IS NOT NULL`,
      [model, p.from, p.to, p.version],
    );
    const rows = inter.rows;
    const answered = rows.filter((r) => r.error === null);
    const rated = rows.filter((r) => r.feedback_score !== null);
    const days = (p.to.getTime() - p.from.getTime()) / DAY;
    out.push({
      period: p.period,
      from: p.from,
      to: p.to,
      served: p.version ?? 'base model',
      interactions: rows.length,
      eval_items: ev.rows[0].n,
      accuracy: ev.rows[0].n ? r3(ev.rows[0].right / ev.rows[0].n) : null,
      // The served model's refusals, on its answers (as the verification counts them: calls without an error, so not the blocked ones).
      refusal_rate: answered.length ? r3(answered.filter((r) => isRefusal(r.response)).length / answered.length) : null,
      blocked_rate: rows.length ? r3(rows.filter((r) => r.blocked).length / rows.length) : null,
      feedback: rated.length ? Math.round((rated.reduce((s, r) => s + Number(r.feedback_score), 0) / rated.length) * 100) / 100 : null,
      cost_per_day: days > 0 ? usd6(rows.reduce((s, r) => s + Number(r.cost_usd ?? 0), 0) / days) : null,
    });
  }
  return out;
}

export function formatStory(rows: StoryRow[]): string {
  const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
  const head = ['PERIOD', 'DAYS', 'SERVED', 'ACCURACY', 'REFUSALS', 'BLOCKED', 'FEEDBACK', 'COST/DAY'];
  const lines = rows.map((r) => [
    r.period,
    ((r.to.getTime() - r.from.getTime()) / DAY).toFixed(1),
    r.served,
    pct(r.accuracy),
    pct(r.refusal_rate),
    pct(r.blocked_rate),
    r.feedback === null ? '-' : r.feedback.toFixed(2),
    r.cost_per_day === null ? '-' : `$${r.cost_per_day.toFixed(r.cost_per_day >= 1 ? 2 : 5)}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  return [head, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

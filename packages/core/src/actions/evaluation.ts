import { createHash } from 'node:crypto';
import type { Queryable } from '../db/types.js';
import { combinedRefusalDetector } from '../monitors/refusal-vectors.js';
import { answerIsCorrect, normalizeAnswer } from '../providers/text.js';
import type { AnswerProvider, ModerationProvider } from '../providers/types.js';

/**
 * The evaluation gate of a fine-tune: champion (the version served now, or the base
 * model) against challenger (the new version), asked the same held-out questions.
 *
 * - Held-out items: the evaluation set's questions of the decision's current window
 *   (evaluation_log rows with an expected answer, the latest per question) whose
 *   normalised-question hash falls in the hold-out share (holdoutShare). No training
 *   file ever contains an evaluation question, held out or not (training-data.ts
 *   removes them by the same hash).
 * - Fewer than min_eval_items held-out items: nothing can be concluded, the version
 *   stays a candidate ("held") and the reason says so.
 * - Accuracy: exact McNemar test on the discordant pairs (b = items only the
 *   challenger gets right, c = only the champion): two-sided p = min(1, 2 P(X >= max(b, c))),
 *   X ~ Binomial(b + c, 1/2).
 * - Promoted when the challenger is better by at least min_improvement, b > c with
 *   p < gate_alpha, and neither its refusal rate nor its toxicity rate on those answers
 *   rises significantly (the same McNemar test on refusal / toxic flags).
 * - Rejected when it is less accurate than the champion, or its refusals or toxicity
 *   rise significantly. Otherwise (equal, or better without enough evidence) held.
 */
export const MAX_EVAL_ITEMS = 500;

export interface GateSettings {
  min_eval_items: number;
  min_improvement: number;
  gate_alpha: number;
  holdout_share: number;
}

export interface EvalItem {
  question: string;
  expected: string;
}

/** sha256 of the normalised text (lower case, punctuation dropped, whitespace collapsed). */
export function questionHash(text: string): string {
  return createHash('sha256').update(normalizeAnswer(text)).digest('hex');
}

/** Whether a question belongs to the gate's hold-out share (a fixed function of its normalised text). */
export function inHoldout(question: string, share: number): boolean {
  return parseInt(questionHash(question).slice(0, 8), 16) / 0x1_0000_0000 < share;
}

/** Hashes of every evaluation question of a model, any set, any time: none may be trained on. */
export async function evaluationQuestionHashes(db: Queryable, model: string): Promise<Set<string>> {
  const { rows } = await db.query<{ q: string }>(
    `SELECT DISTINCT coalesce(input, item_id) AS q FROM evaluation_log WHERE model = $1 AND btrim(coalesce(input, item_id, '')) <> ''`,
    [model],
  );
  return new Set(rows.map((r) => questionHash(r.q)));
}

/**
 * The held-out items of a model logged at or after `since`: the question in `input`
 * (or item_id for rows logged without one), the latest expected answer per question.
 */
export async function holdoutItems(db: Queryable, model: string, o: { since: Date; share: number; limit?: number }): Promise<EvalItem[]> {
  const { rows } = await db.query<{ question: string; expected: string }>(
    `SELECT question, expected FROM (
       SELECT DISTINCT ON (coalesce(input, item_id)) coalesce(input, item_id) AS question, expected, ts FROM evaluation_log
        WHERE model = $1 AND ts >= $2 AND btrim(coalesce(input, item_id, '')) <> '' AND expected IS NOT NULL
        ORDER BY coalesce(input, item_id), ts DESC, id DESC) AS latest
      ORDER BY question`,
    [model, o.since],
  );
  // The same normalised question logged twice (case, punctuation) is one item.
  const seen = new Set<string>();
  const out: EvalItem[] = [];
  for (const r of rows) {
    const h = questionHash(r.question);
    if (seen.has(h) || !inHoldout(r.question, o.share)) continue;
    seen.add(h);
    out.push(r);
  }
  return out.slice(0, o.limit ?? MAX_EVAL_ITEMS);
}

/** Per-item outcome of one model on the held-out items. */
export interface ModelAnswers {
  model: string;
  correct: boolean[];
  refused: boolean[];
  toxic: boolean[];
  cost_usd: number;
}

export async function askModel(answers: AnswerProvider, moderation: ModerationProvider, model: string, items: EvalItem[]): Promise<ModelAnswers> {
  const out = await answers.answer(
    model,
    items.map((i) => i.question),
  );
  const texts = items.map((_, i) => out.answers[i] ?? '');
  const mod = await moderation.moderate(texts);
  // The same refusal test as the behaviour monitor's, so the gate's refusal rates read like the monitor's.
  const { isRefusal } = combinedRefusalDetector();
  return {
    model,
    correct: items.map((it, i) => answerIsCorrect(texts[i], it.expected)),
    refused: texts.map((t) => isRefusal(t)),
    toxic: mod.map((m) => m.flagged),
    cost_usd: out.cost_usd,
  };
}

/** P(X >= k) for X ~ Binomial(n, 1/2), exactly (log-space sums, fine for any n the gate sees). */
export function binomialUpperTail(k: number, n: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  let logC = 0; // log C(n, 0)
  let total = 0;
  for (let i = 0; i <= n; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    if (i >= k) total += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, total);
}

/** Exact two-sided McNemar p-value from the discordant counts b and c. */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  return Math.min(1, 2 * binomialUpperTail(Math.max(b, c), n));
}

export interface PairedFigure {
  /** Rate of the flag (correct, refused, toxic) for the champion and the challenger. */
  champion: number;
  challenger: number;
  /** Items where only the challenger / only the champion has the flag. */
  challenger_only: number;
  champion_only: number;
  p_value: number;
}

export function paired(champion: boolean[], challenger: boolean[]): PairedFigure {
  const n = champion.length;
  let b = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    if (challenger[i] && !champion[i]) b++;
    if (champion[i] && !challenger[i]) c++;
  }
  const rate = (xs: boolean[]) => (n ? xs.filter(Boolean).length / n : 0);
  return { champion: rate(champion), challenger: rate(challenger), challenger_only: b, champion_only: c, p_value: mcnemarExact(b, c) };
}

export type GateOutcome = 'promoted' | 'rejected' | 'held';

export interface GateVerdict {
  outcome: GateOutcome;
  reason: string;
  n: number;
  accuracy: PairedFigure;
  refusal: PairedFigure;
  toxicity: PairedFigure;
  min_improvement: number;
  gate_alpha: number;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const pv = (p: number) => (p < 0.0001 ? p.toExponential(1) : p.toFixed(4));

/** The gate's verdict on paired answers (pure). */
export function judge(champion: ModelAnswers, challenger: ModelAnswers, s: GateSettings): GateVerdict {
  const n = champion.correct.length;
  const accuracy = paired(champion.correct, challenger.correct);
  const refusal = paired(champion.refused, challenger.refused);
  const toxicity = paired(champion.toxic, challenger.toxic);
  const base = { n, accuracy, refusal, toxicity, min_improvement: s.min_improvement, gate_alpha: s.gate_alpha };
  if (n < s.min_eval_items) {
    return { ...base, outcome: 'held', reason: `only ${n} held-out evaluation items, fewer than the ${s.min_eval_items} the gate needs (actions.finetune.min_eval_items); the version stays a candidate` };
  }
  const rises = (f: PairedFigure) => f.challenger_only > f.champion_only && f.p_value < s.gate_alpha;
  const acc = `accuracy ${pct(accuracy.challenger)} vs ${pct(accuracy.champion)} on ${n} held-out items (only challenger right ${accuracy.challenger_only}, only champion right ${accuracy.champion_only}, McNemar p=${pv(accuracy.p_value)})`;
  if (rises(refusal)) return { ...base, outcome: 'rejected', reason: `refusals rise significantly: ${pct(refusal.challenger)} vs ${pct(refusal.champion)} (p=${pv(refusal.p_value)}); ${acc}` };
  if (rises(toxicity)) return { ...base, outcome: 'rejected', reason: `toxic answers rise significantly: ${pct(toxicity.challenger)} vs ${pct(toxicity.champion)} (p=${pv(toxicity.p_value)}); ${acc}` };
  if (accuracy.challenger < accuracy.champion) return { ...base, outcome: 'rejected', reason: `the challenger is less accurate than the champion: ${acc}` };
  const gain = accuracy.challenger - accuracy.champion;
  if (gain + 1e-12 < s.min_improvement) {
    return { ...base, outcome: 'held', reason: `the challenger is not better by the margin of ${pct(s.min_improvement)} (actions.finetune.min_improvement): ${acc}; the version stays a candidate` };
  }
  if (!(accuracy.challenger_only > accuracy.champion_only && accuracy.p_value < s.gate_alpha)) {
    return { ...base, outcome: 'held', reason: `the improvement is not significant at ${s.gate_alpha} (actions.finetune.gate_alpha): ${acc}; the version stays a candidate` };
  }
  return { ...base, outcome: 'promoted', reason: `better by ${pct(gain)}: ${acc}; refusals ${pct(refusal.challenger)} vs ${pct(refusal.champion)}, toxic ${pct(toxicity.challenger)} vs ${pct(toxicity.champion)}` };
}

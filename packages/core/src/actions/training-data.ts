import type { Queryable } from '../db/types.js';
import { DEFAULT_PRIVACY, scrubText, type PiiKind, type PrivacySettings } from '../privacy/index.js';
import { approxTokens, tokenize } from '../providers/text.js';
import type { TrainingExample } from '../providers/types.js';
import { evaluationQuestionHashes, questionHash } from './evaluation.js';

/**
 * The training file of a fine-tune, built so that it is clean and cannot leak the
 * evaluation: from the interactions of the decision's window (window_start <= ts <
 * window_end), newest first,
 * 1. rated >= min_feedback, without an error, not flagged by moderation, with a
 *    non-empty query and response (in SQL);
 * 2. personal data and secrets scrubbed from both sides (privacy/: emails, phone
 *    numbers, Luhn-valid card numbers, IBANs, IP addresses, API-key-like secrets),
 *    each redaction counted by kind;
 * 3. without any example whose question is an evaluation question, held out or not
 *    (same normalised-question hash as the gate's);
 * 4. without duplicates (same normalised question: the newest answer is kept) and
 *    near-duplicates (question word sets with Jaccard >= near_duplicate_jaccard);
 * 5. without examples longer than max_example_tokens;
 * 6. at most `limit` examples; then validated as chat JSONL (roles user then assistant,
 *    non-empty contents): fewer than min_examples valid examples and the fine-tune
 *    fails with the reason and these counts.
 */
export interface TrainingDataOptions {
  model: string;
  since: Date;
  before: Date;
  minFeedback: number;
  limit: number;
  minExamples: number;
  nearDuplicateJaccard: number;
  maxExampleTokens: number;
  privacy?: PrivacySettings;
}

export interface TrainingDataReport {
  /** Interactions of the window that passed step 1. */
  candidates: number;
  examples: number;
  excluded: { evaluation_item: number; duplicate: number; near_duplicate: number; too_long: number; over_limit: number; invalid: number };
  redactions: Partial<Record<PiiKind, number>>;
  /** Total approximate tokens of the file (one epoch). */
  tokens: number;
}

export interface TrainingData {
  examples: TrainingExample[];
  report: TrainingDataReport;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

/** Why a chat example is not valid training data, or null when it is. */
export function invalidExample(ex: TrainingExample, maxTokens: number): string | null {
  if (!Array.isArray(ex.messages) || ex.messages.length < 2) return 'needs at least a user and an assistant message';
  for (const m of ex.messages) {
    if (m.role !== 'system' && m.role !== 'user' && m.role !== 'assistant') return `unknown role ${String(m.role)}`;
    if (typeof m.content !== 'string' || m.content.trim() === '') return `empty ${m.role} message`;
  }
  if (ex.messages.at(-1)!.role !== 'assistant') return 'the last message must be the assistant';
  if (!ex.messages.some((m) => m.role === 'user')) return 'no user message';
  const tokens = ex.messages.reduce((s, m) => s + approxTokens(m.content), 0);
  if (tokens > maxTokens) return `${tokens} tokens, more than ${maxTokens}`;
  return null;
}

export async function buildTrainingData(db: Queryable, o: TrainingDataOptions): Promise<TrainingData> {
  const { rows } = await db.query<{ query: string; response: string }>(
    `SELECT query, response FROM interaction_log
      WHERE model = $1 AND feedback_score >= $2 AND error IS NULL AND coalesce(toxic, false) = false
        AND ts >= $3 AND ts < $4 AND btrim(query) <> '' AND btrim(response) <> ''
      ORDER BY ts DESC, id DESC LIMIT $5`,
    [o.model, o.minFeedback, o.since, o.before, o.limit * 4 + 100],
  );
  const report: TrainingDataReport = {
    candidates: rows.length,
    examples: 0,
    excluded: { evaluation_item: 0, duplicate: 0, near_duplicate: 0, too_long: 0, over_limit: 0, invalid: 0 },
    redactions: {},
    tokens: 0,
  };
  const privacy = o.privacy ?? DEFAULT_PRIVACY;
  const scrub = (t: string) => {
    const r = scrubText(t, privacy);
    for (const [k, n] of Object.entries(r.found) as [PiiKind, number][]) report.redactions[k] = (report.redactions[k] ?? 0) + n;
    return r.text;
  };
  const evalHashes = await evaluationQuestionHashes(db, o.model);
  const seen = new Set<string>();
  const kept: { words: Set<string>; ex: TrainingExample }[] = [];
  for (const r of rows) {
    // The leak check runs on the question as logged (evaluation items are compared unscrubbed too).
    const h = questionHash(r.query);
    if (evalHashes.has(h)) {
      report.excluded.evaluation_item++;
      continue;
    }
    if (seen.has(h)) {
      report.excluded.duplicate++;
      continue;
    }
    seen.add(h);
    const words = new Set(tokenize(r.query));
    if (kept.some((k) => jaccard(k.words, words) >= o.nearDuplicateJaccard)) {
      report.excluded.near_duplicate++;
      continue;
    }
    const ex: TrainingExample = { messages: [{ role: 'user', content: scrub(r.query) }, { role: 'assistant', content: scrub(r.response) }] };
    const why = invalidExample(ex, o.maxExampleTokens);
    if (why) {
      if (why.includes('tokens')) report.excluded.too_long++;
      else report.excluded.invalid++;
      continue;
    }
    if (kept.length >= o.limit) {
      report.excluded.over_limit++;
      continue;
    }
    kept.push({ words, ex });
  }
  const examples = kept.map((k) => k.ex);
  report.examples = examples.length;
  report.tokens = examples.reduce((s, e) => s + e.messages.reduce((t, m) => t + approxTokens(m.content), 0), 0);
  return { examples, report };
}

/** One line per exclusion kind that removed something, for error messages. */
export function describeExclusions(r: TrainingDataReport): string {
  const parts = Object.entries(r.excluded)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k.replace(/_/g, ' ')}`);
  return parts.length ? `excluded: ${parts.join(', ')}` : 'nothing excluded';
}

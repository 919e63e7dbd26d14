import { getPolicyInForce, servedVersion, type ModerationProvider, type PolicyInForce, type Queryable, type Serving } from '@driftwatch/core';

/**
 * The serving state and safety policy of each monitored model, read from the database
 * at most once per `ttlMs` (default 1 s) per process: a promotion or a rollback reaches
 * every gateway replica within that time, and a hot gateway does not query per call.
 */
export class ServingCache {
  private readonly entries = new Map<string, { at: number; value: Promise<{ serving: Serving; policy: PolicyInForce }> }>();
  constructor(
    private readonly db: Queryable,
    private readonly ttlMs = 1000,
  ) {}

  get(model: string, baseModel: string): Promise<{ serving: Serving; policy: PolicyInForce }> {
    const now = Date.now();
    const hit = this.entries.get(model);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = Promise.all([servedVersion(this.db, model, baseModel), getPolicyInForce(this.db, model)]).then(([serving, policy]) => ({ serving, policy }));
    // A failed read is not cached: the next call asks again.
    value.catch(() => this.entries.delete(model));
    this.entries.set(model, { at: now, value });
    return value;
  }

  invalidate(): void {
    this.entries.clear();
  }
}

/** What the policy says of a text: blocked (and why) and the moderation score. */
export interface Verdict {
  blocked: boolean;
  reason: string | null;
  score: number | null;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A policy's blocked terms as compiled patterns, built once per policy object (the serving cache keeps one per second), not per call. */
const compiled = new WeakMap<PolicyInForce, { term: string; re: RegExp }[]>();
function blockedPatterns(policy: PolicyInForce): { term: string; re: RegExp }[] {
  let p = compiled.get(policy);
  if (!p) {
    p = policy.blocked_terms.filter((t) => t.trim()).map((term) => ({ term, re: new RegExp(`(^|[^\\p{L}\\p{N}])${escape(term.trim())}($|[^\\p{L}\\p{N}])`, 'iu') }));
    compiled.set(policy, p);
  }
  return p;
}

/**
 * Applies a policy to a text: a blocked term (whole words, case-insensitive) blocks;
 * a moderation score at or above the policy's threshold blocks. A moderation provider
 * that fails does not fail the call: the text is judged on the blocked terms alone and
 * the score is null.
 */
export async function judge(text: string, policy: PolicyInForce, moderation: ModerationProvider | undefined): Promise<Verdict> {
  if (!text.trim()) return { blocked: false, reason: null, score: null };
  for (const { term, re } of blockedPatterns(policy)) {
    if (re.test(text)) return { blocked: true, reason: `blocked term "${term}"`, score: null };
  }
  if (!moderation) return { blocked: false, reason: null, score: null };
  let score: number;
  try {
    score = (await moderation.moderate([text]))[0]?.score ?? 0;
  } catch {
    return { blocked: false, reason: null, score: null };
  }
  if (score >= policy.moderation_threshold) return { blocked: true, reason: `moderation score ${score.toFixed(3)} >= threshold ${policy.moderation_threshold}`, score };
  return { blocked: false, reason: null, score };
}

/** The answer the application gets instead of a blocked one (the refusal detector recognises it). */
export const REFUSAL = "I'm sorry, but I can't help with that.";

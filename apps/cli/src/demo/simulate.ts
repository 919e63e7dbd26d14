import { answerIsCorrect, approxTokens, chatCost, isRefusal } from '@driftwatch/core';
import { EVAL_TEMPLATES, EVALS_PER_DAY, LATER_PROGRAMMING, MUSIC, PER_DAY, PROGRAMMING, MORE_TEMPLATES, RATED, RETRY_AFTER_REFUSAL, SUPPORT_RATED, TEMPLATES, codeFor, type QA } from './scenario.js';

const DAY = 86_400_000;

/** One user's question on a simulated day, with every random choice of what they do next drawn up front (so the order in which concurrent calls finish changes nothing). */
export interface Ask {
  ts: Date;
  qa: QA;
  /** [rates the first answer, its score, rates the retry, its score, rates the support team's answer]. */
  draws: [number, number, number, number, number];
}

/** An evaluation item asked of the served version on a simulated day. */
export interface EvalAsk {
  ts: Date;
  qa: QA;
}

/** A shuffled deck: every card once before any repeats, so shares are exact, not noisy. */
class Deck<T> {
  private cards: T[] = [];
  constructor(
    private readonly all: T[],
    private readonly rand: () => number,
  ) {}
  draw(): T {
    if (this.cards.length === 0) {
      this.cards = [...this.all];
      for (let i = this.cards.length - 1; i > 0; i--) {
        const j = Math.floor(this.rand() * (i + 1));
        [this.cards[i], this.cards[j]] = [this.cards[j], this.cards[i]];
      }
    }
    return this.cards.pop()!;
  }
}

type Kind = 'music' | 'programming' | 'later';

/** n kinds of question, round(n * share) of each share, the rest music, in random order (exact shares, not noisy ones). */
function kinds(n: number, shares: { programming: number; later: number }, rand: () => number): Kind[] {
  const later = Math.round(n * shares.later);
  const programming = Math.round(n * shares.programming) - later;
  const out: Kind[] = Array.from({ length: n }, (_, i) => (i < later ? 'later' : i < later + programming ? 'programming' : 'music'));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * What the users of the demo chatbot ask on some days: PER_DAY questions a day, a share
 * of them about programming (with the code the user pastes), part of that share about
 * LATER_PROGRAMMING; and EVALS_PER_DAY evaluation items a day in the same shares
 * (evaluation wordings included). Separate decks for users and for the evaluation set,
 * so each sees every subject equally often.
 */
export function planDays(o: { from: Date; days: number; programmingShare: number; laterShare?: number; rand: () => number }): { asked: Ask[]; evals: EvalAsk[] } {
  const { rand } = o;
  const shares = { programming: o.programmingShare, later: o.laterShare ?? 0 };
  const subjects = (s: Record<string, string>) => Object.entries(s).map(([subject, answer]) => ({ subject, answer }));
  const deck = (s: Record<string, string>) => new Deck(subjects(s), rand);
  const decks = {
    user: { music: deck(MUSIC), programming: deck(PROGRAMMING), later: deck(LATER_PROGRAMMING) },
    eval: { music: deck(MUSIC), programming: deck(PROGRAMMING), later: deck(LATER_PROGRAMMING) },
  };
  const pick = (kind: Kind, templates: string[], who: 'user' | 'eval'): QA => {
    const s = decks[who][kind].draw();
    const t = templates[Math.floor(rand() * templates.length)];
    return { subject: s.subject, question: t.replace('{s}', s.subject), answer: s.answer, code: who === 'user' ? codeFor(s.subject) : null };
  };
  const asked: Ask[] = [];
  const evals: EvalAsk[] = [];
  for (let d = 0; d < o.days; d++) {
    const dayStart = o.from.getTime() + d * DAY;
    for (const kind of kinds(PER_DAY, shares, rand)) asked.push({ ts: new Date(dayStart + rand() * (DAY - 120_000)), qa: pick(kind, [...TEMPLATES, ...MORE_TEMPLATES], 'user'), draws: [rand(), rand(), rand(), rand(), rand()] });
    for (const kind of kinds(EVALS_PER_DAY, shares, rand)) evals.push({ ts: new Date(dayStart + rand() * (DAY - 60_000)), qa: pick(kind, [...TEMPLATES, ...EVAL_TEMPLATES], 'eval') });
  }
  return { asked, evals };
}

/** One answer of the bot as the user saw and rated it. R: how the caller finds the logged call again (the gateway's interaction id). */
export interface Turn<R> {
  ts: Date;
  qa: QA;
  response: string;
  right: boolean;
  refused: boolean;
  /** 1-5 when the user rated it (right: 4-5, wrong: 2-3, refused: 1-2), else null. */
  feedback: number | null;
  ref: R;
}

/** The support team's answer to a user the bot failed: the right one, logged with model_version 'support-team'. */
export interface SupportAnswer {
  ts: Date;
  qa: QA;
  feedback: number | null;
}

/**
 * One user: asks, rates the answer when they rate (RATED of the time); when it was
 * wrong (or refused, if RETRY_AFTER_REFUSAL) asks again (the bot answers the same);
 * when the bot failed, the support team answers (SUPPORT_RATED of those rated 5).
 */
export async function playUser<R>(a: Ask, ask: (qa: QA) => Promise<{ response: string; ref: R }>): Promise<{ bot: Turn<R>[]; support: SupportAnswer | null }> {
  const bot: Turn<R>[] = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    const { response, ref } = await ask(a.qa);
    const right = answerIsCorrect(response, a.qa.answer);
    const refused = isRefusal(response);
    const [rated, jitter] = [a.draws[attempt * 2], a.draws[attempt * 2 + 1]];
    const score = (right ? 4 : refused ? 1 : 2) + Math.floor(jitter * 2);
    bot.push({ ts: new Date(a.ts.getTime() + attempt * 30_000), qa: a.qa, response, right, refused, feedback: rated < RATED ? score : null, ref });
    if (right) return { bot, support: null };
    if (refused && !RETRY_AFTER_REFUSAL) break;
  }
  return { bot, support: { ts: new Date(a.ts.getTime() + 90_000), qa: a.qa, feedback: a.draws[4] < SUPPORT_RATED ? 5 : null } };
}

/** The messages of a user's call: the code they paste (if any), then the question. */
export function messagesOf(qa: QA): { role: 'user'; content: string }[] {
  return [...(qa.code ? [{ role: 'user' as const, content: qa.code }] : []), { role: 'user' as const, content: qa.question }];
}

/**
 * Tokens of one call as the gateway's offline upstream counts them (apps/gateway/src/upstream.ts:
 * approxTokens of each message and of the answer) and its cost from the dated price
 * table (providers/prices.ts) for the model that answered: history seeded directly and
 * traffic sent through the gateway are measured alike.
 */
export function measuredUsage(qa: QA, answer: string, providerModel: string): { prompt_tokens: number; completion_tokens: number; cost_usd: number } {
  const prompt_tokens = messagesOf(qa).reduce((n, m) => n + approxTokens(m.content), 0);
  const completion_tokens = approxTokens(answer);
  return { prompt_tokens, completion_tokens, cost_usd: chatCost(providerModel, prompt_tokens, completion_tokens) };
}


import { answerIsCorrect, isRefusal } from '@driftwatch/core';
import { EVAL_TEMPLATES, EVALS_PER_DAY, MUSIC, PER_DAY, PROGRAMMING, RATED, TEMPLATES, USD_PER_1K_TOKENS, type QA } from './scenario.js';

const DAY = 86_400_000;

/** The version that answers: its label in interaction_log.model_version (null: the base model) and its answers. */
export interface Served {
  version: string | null;
  answer(questions: string[]): Promise<string[]>;
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

/** n booleans, round(n * share) of them true, in random order. */
export function exactly(n: number, share: number, rand: () => number): boolean[] {
  const k = Math.round(n * share);
  const out = Array.from({ length: n }, (_, i) => i < k);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Users of the demo chatbot for some days: PER_DAY questions a day (a share of them
 * about programming), answered by the served version. Users rate RATED of the answers
 * (right: 4-5, wrong: 2-3, refused: 1-2). A user whose answer was wrong asks again
 * (the bot answers the same); after that, or after a refusal, the support team answers (model_version
 * 'support-team', no model cost, the right answer, rated 5 by most). EVALS_PER_DAY
 * evaluation items a day are asked of the served version too and scored.
 */
export async function simulateDays(o: { from: Date; days: number; programmingShare: number; served: Served; rand: () => number }): Promise<{ interactions: InteractionRow[]; evals: EvalRow[] }> {
  const { rand } = o;
  const subjects = (s: Record<string, string>) => Object.entries(s).map(([subject, answer]) => ({ subject, answer }));
  // Separate decks for users and for the evaluation set, so each sees every subject equally often.
  const decks = { user: [new Deck(subjects(MUSIC), rand), new Deck(subjects(PROGRAMMING), rand)], eval: [new Deck(subjects(MUSIC), rand), new Deck(subjects(PROGRAMMING), rand)] };
  const pick = (prog: boolean, templates: string[], who: 'user' | 'eval' = 'user'): QA => {
    const s = decks[who][prog ? 1 : 0].draw();
    const t = templates[Math.floor(rand() * templates.length)];
    return { subject: s.subject, question: t.replace('{s}', s.subject), answer: s.answer };
  };
  const asked: { ts: Date; qa: QA }[] = [];
  const evalAsked: { ts: Date; qa: QA }[] = [];
  for (let d = 0; d < o.days; d++) {
    const dayStart = o.from.getTime() + d * DAY;
    const prog = exactly(PER_DAY, o.programmingShare, rand);
    for (let i = 0; i < PER_DAY; i++) asked.push({ ts: new Date(dayStart + rand() * (DAY - 120_000)), qa: pick(prog[i], TEMPLATES) });
    const evalProg = exactly(EVALS_PER_DAY, o.programmingShare, rand);
    for (let i = 0; i < EVALS_PER_DAY; i++) evalAsked.push({ ts: new Date(dayStart + rand() * (DAY - 60_000)), qa: pick(evalProg[i], [...TEMPLATES, ...EVAL_TEMPLATES], 'eval') });
  }
  const answers = await o.served.answer(asked.map((a) => a.qa.question));
  const evalAnswers = await o.served.answer(evalAsked.map((a) => a.qa.question));
  const interactions: InteractionRow[] = [];
  const bot = (ts: Date, qa: QA, response: string): InteractionRow => {
    const right = answerIsCorrect(response, qa.answer);
    const refused = isRefusal(response);
    const rated = rand() < RATED;
    const score = right ? 4 + Math.floor(rand() * 2) : refused ? 1 + Math.floor(rand() * 2) : 2 + Math.floor(rand() * 2);
    // Programming questions carry the user's code: longer prompts, so they cost more.
    const code = qa.subject in PROGRAMMING ? 150 + Math.floor(rand() * 150) : 0;
    const tokens: [number, number] = [40 + Math.floor(rand() * 40) + code, 120 + Math.floor(rand() * 80)];
    return { ts, model_version: o.served.version, query: qa.question, response, feedback: rated ? score : null, success: right, cost: ((tokens[0] + tokens[1]) / 1000) * USD_PER_1K_TOKENS, tokens, bot: true };
  };
  asked.forEach((a, i) => {
    const first = bot(a.ts, a.qa, answers[i]);
    interactions.push(first);
    if (first.success) return;
    // After a wrong answer the user asks again (and gets the same); after a refusal they go straight to support.
    if (!isRefusal(first.response)) interactions.push(bot(new Date(a.ts.getTime() + 30_000), a.qa, answers[i]));
    interactions.push({
      ts: new Date(a.ts.getTime() + 90_000),
      model_version: 'support-team',
      query: a.qa.question,
      response: a.qa.answer,
      feedback: rand() < 0.8 ? 5 : null,
      success: true,
      cost: 0,
      tokens: [0, 0],
      bot: false,
    });
  });
  const evals = evalAsked.map((a, i) => ({ ts: a.ts, model_version: o.served.version, question: a.qa.question, expected: a.qa.answer, predicted: evalAnswers[i], correct: answerIsCorrect(evalAnswers[i], a.qa.answer) }));
  return { interactions, evals };
}

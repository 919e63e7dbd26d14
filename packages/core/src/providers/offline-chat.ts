import { BASE_KNOWLEDGE } from './offline-knowledge.js';
import { tokenize } from './text.js';

/**
 * The offline chat model: a small, deterministic "subject memory" that can really be
 * retrained. What it IS:
 * - The base model knows one answer per subject of its built-in knowledge
 *   (offline-knowledge.ts: music). A question is answered with the answer of the
 *   subject whose key words it contains (coverage of the key >= MATCH_COVERAGE).
 * - Fine-tuning learns a mapping from subject words to answers: the training
 *   questions are grouped by their answer, each group's key is the words its
 *   questions share, weighted by inverse group frequency (words every group has,
 *   such as "how", "explain", "beginner", weigh almost nothing). So the fine-tuned
 *   model answers questions it was never trained on when they name a learned
 *   subject in other words ("Could you walk me through python lists?" after training
 *   on "How do I get started with python lists?"). Learned subjects take
 *   precedence over the base knowledge (a fine-tune can also unlearn a right answer).
 * - On a question it cannot answer it declines when nothing in it belongs to its
 *   domain (no word of any subject it knows) and otherwise guesses, declining 2 in 5
 *   of those (chosen by a hash of the question), as real models do.
 * What it is NOT: a generative model. It never composes a new answer, only returns
 * answers it was given; it does not generalise to subjects absent from its
 * training data, nor understand synonyms of subject words ("tunes" for "songs")
 * beyond a plural-stripping stemmer. Same input, same output; no network, no cost.
 */

export const OFFLINE_REFUSAL = "I'm sorry, but I can't help with that request.";
export const OFFLINE_GUESS = 'It depends on your situation; try a few approaches and see what works for you.';
/** Share of a built-in subject's words a question must contain to be answered from it. */
export const MATCH_COVERAGE = 0.75;
/** Share of a learned key's weight a question must contain to be answered from it. */
export const LEARNED_COVERAGE = 0.6;

/** Words that never name a subject. */
const FUNCTION_WORDS: ReadonlySet<string> = new Set(
  (
    'a an the and or but if then else of to in on at by for with from into onto over under about as is are was were be been being am ' +
    'do does did doing have has had having i me my we our you your he him his she her it its they them their this that these those ' +
    'there here what which who whom whose when where why how all any both each few more most other some such no nor not only own same so ' +
    "than too very can will just should would could may might must shall s t don't isn't aren't wasn't weren't it's i'm you're we're they're " +
    'please tell give explain get got'
  ).split(/\s+/),
);

/** Lower-cased content words, plural 's' stripped ("scales" and "scale" are one word). */
export function subjectWords(text: string): string[] {
  return tokenize(text)
    .filter((t) => !FUNCTION_WORDS.has(t))
    .map((t) => (t.length > 3 && t.endsWith('s') && !t.endsWith('ss') ? t.slice(0, -1) : t));
}

interface Entry {
  weights: Map<string, number>;
  total: number;
  answer: string;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function best(entries: Entry[], words: Set<string>): { entry: Entry; coverage: number } | null {
  let top: { entry: Entry; coverage: number } | null = null;
  for (const e of entries) {
    let hit = 0;
    for (const [w, x] of e.weights) if (words.has(w)) hit += x;
    const coverage = e.total > 0 ? hit / e.total : 0;
    if (!top || coverage > top.coverage) top = { entry: e, coverage };
  }
  return top;
}

export class SubjectMemoryModel {
  /** Every word of every subject key it has: a question with none of them is outside its domain. */
  private readonly domain = new Set<string>();

  private constructor(
    private readonly learned: Entry[],
    private readonly base: Entry[],
  ) {
    for (const e of [...learned, ...base]) for (const w of e.weights.keys()) this.domain.add(w);
  }

  /** The base model: its built-in knowledge only. */
  static base(knowledge: Readonly<Record<string, string>> = BASE_KNOWLEDGE): SubjectMemoryModel {
    return new SubjectMemoryModel([], SubjectMemoryModel.baseEntries(knowledge));
  }

  private static baseEntries(knowledge: Readonly<Record<string, string>>): Entry[] {
    return Object.entries(knowledge).map(([subject, answer]) => {
      const weights = new Map(subjectWords(subject).map((w) => [w, 1]));
      return { weights, total: weights.size, answer };
    });
  }

  /**
   * The base model fine-tuned on question -> answer pairs. Questions are grouped by
   * (normalised) answer; a group's key holds every word of its questions, weighted
   * by (share of the group's questions that have it) x ln((N + 1) / n)^2, N the
   * number of training questions and n those with the word: a subject word (in every
   * question of one group, rare overall) outweighs a template word ("tips", "beginner":
   * in some questions of many groups) many times over.
   */
  static fineTuned(pairs: { prompt: string; answer: string }[], knowledge: Readonly<Record<string, string>> = BASE_KNOWLEDGE): SubjectMemoryModel {
    const groups = new Map<string, { answer: string; questions: Set<string>[] }>();
    const df = new Map<string, number>();
    let N = 0;
    for (const p of pairs) {
      const k = tokenize(p.answer).join(' ');
      if (!k) continue;
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { answer: p.answer, questions: [] }));
      const words = new Set(subjectWords(p.prompt));
      g.questions.push(words);
      for (const w of words) df.set(w, (df.get(w) ?? 0) + 1);
      N++;
    }
    const learned: Entry[] = [];
    for (const g of groups.values()) {
      const count = new Map<string, number>();
      for (const q of g.questions) for (const w of q) count.set(w, (count.get(w) ?? 0) + 1);
      if (count.size === 0) continue;
      const weights = new Map([...count].map(([w, n]) => [w, (n / g.questions.length) * Math.log((N + 1) / df.get(w)!) ** 2]));
      learned.push({ weights, total: [...weights.values()].reduce((s, x) => s + x, 0), answer: g.answer });
    }
    return new SubjectMemoryModel(learned, SubjectMemoryModel.baseEntries(knowledge));
  }

  /** The answer to one question (see the class comment). */
  answer(question: string): string {
    const words = new Set(subjectWords(question));
    const l = best(this.learned, words);
    if (l && l.coverage >= LEARNED_COVERAGE) return l.entry.answer;
    const b = best(this.base, words);
    if (b && b.coverage >= MATCH_COVERAGE) return b.entry.answer;
    if (![...words].some((w) => this.domain.has(w))) return OFFLINE_REFUSAL;
    return fnv1a(tokenize(question).join(' ')) % 5 < 2 ? OFFLINE_REFUSAL : OFFLINE_GUESS;
  }
}

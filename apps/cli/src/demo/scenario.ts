/**
 * The original design's demo scenario: a content domain shift from music questions
 * to programming questions. Baseline (the 30 days before the last 7): accuracy 92%,
 * refusal rate 3%, $50/day. Current (the last 7 days): accuracy 78%, refusal rate 12%,
 * $65/day. Texts are generated from templates so the word-vector embeddings really move.
 */

export const MUSIC = [
  'guitar chords', 'piano scales', 'jazz improvisation', 'the blues scale', 'drum grooves', 'vocal warmups',
  'chord progressions', 'music theory', 'the circle of fifths', 'songwriting', 'orchestral instruments', 'vinyl records',
  'bass lines', 'violin bowing', 'choir harmony', 'melody writing', 'rhythm and tempo', 'album mixing', 'concert setlists', 'folk songs',
];

export const PROGRAMMING = [
  'python lists', 'javascript promises', 'sql joins', 'git branches', 'docker containers', 'recursion in code',
  'unit tests', 'memory leaks', 'rest api endpoints', 'regular expressions', 'type errors', 'database indexes',
  'async functions', 'compiler errors', 'linked lists', 'hash maps', 'http requests', 'css layouts', 'java classes', 'rust ownership',
];

const TEMPLATES = [
  'How do I get started with {s}?',
  'What is the best way to practice {s}?',
  'Can you explain {s} to a beginner?',
  'Why are {s} so hard to understand?',
  'What are common mistakes with {s}?',
  'Give me three tips on {s}.',
  'How long does it take to get good at {s}?',
  'Which book covers {s} well?',
];

export const REFUSALS = [
  "I'm sorry, but I can't help with that request.",
  'I am unable to provide assistance with that.',
  "I can't assist with that, as it falls outside what I can answer.",
  'Unfortunately I cannot answer questions about that topic.',
];

export interface QA {
  question: string;
  answer: string;
}

/** Every question of a domain with its reference answer. */
export function questions(subjects: string[]): QA[] {
  const out: QA[] = [];
  for (const s of subjects) {
    for (const t of TEMPLATES) {
      out.push({
        question: t.replace('{s}', s),
        answer: `For ${s}, begin with the fundamentals, practise a little every day, and study worked examples of ${s} before attempting your own.`,
      });
    }
  }
  return out;
}

export interface WindowProfile {
  domain: QA[];
  accuracy: number;
  refusal_rate: number;
  cost_per_day: number;
  /** Probability that an answered question gets a 4 or 5 from the user. */
  satisfied: number;
  task_success: number;
}

export const BASELINE: WindowProfile = { domain: questions(MUSIC), accuracy: 0.92, refusal_rate: 0.03, cost_per_day: 50, satisfied: 0.85, task_success: 0.9 };
export const CURRENT: WindowProfile = { domain: questions(PROGRAMMING), accuracy: 0.78, refusal_rate: 0.12, cost_per_day: 65, satisfied: 0.7, task_success: 0.75 };

/** Deterministic uniform numbers (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

import { BASE_KNOWLEDGE } from '@driftwatch/core';

/**
 * The original design's demo scenario: a chatbot about music whose users start asking
 * programming questions. Every answer in the logs comes from the offline chat model
 * (packages/core/src/providers/offline-chat.ts), so the figures are measured, not typed in:
 * - its base model knows the music subjects of BASE_KNOWLEDGE and not the two niche ones
 *   below (it guesses, or declines 2 in 5), nor any programming subject (outside its
 *   domain: it declines);
 * - baseline (the baseline_days before the current window): music questions only;
 * - current window: CURRENT_PROGRAMMING_SHARE of the questions are about programming;
 * - when the bot fails, the user asks again and the support team answers that retry
 *   (logged with model_version 'support-team'): the right answers a fine-tune can learn;
 * - tokens and cost are measured as the gateway measures them (simulate.ts, measuredUsage):
 *   the text sent and answered, priced by the dated price table, never typed in.
 * Interactions use TEMPLATES; the evaluation set also uses EVAL_TEMPLATES, wordings no
 * interaction ever has (so a fine-tune is measured on paraphrases it never saw).
 */

/** Music subjects the base model was not trained on (it guesses or declines on them). */
export const NICHE_MUSIC: Record<string, string> = {
  'gamelan scales': 'Gamelan uses the five-note slendro and seven-note pelog tunings, and every ensemble is tuned to itself.',
  'tuvan throat songs': 'Sing a low drone, then shape the mouth and tongue to isolate an overtone that whistles above it.',
};

export const PROGRAMMING: Record<string, string> = {
  'python lists': 'Use append to add items, slicing like items[1:3] to copy a range, and a list comprehension to transform one.',
  'javascript promises': 'A promise settles once; chain then for results, catch for errors, or await it inside an async function.',
  'sql joins': 'An inner join keeps rows matched on both sides; a left join keeps every row of the left table and fills nulls.',
  'git branches': 'Create one with git switch -c name, commit on it, then merge or rebase it onto main when the work is done.',
  'docker containers': 'Build an image from a Dockerfile, run it with docker run, and keep state in volumes, not in the container.',
  'recursion in code': 'Every recursive function needs a base case that stops it and a step that moves closer to that base case.',
  'unit tests': 'Test one behaviour per test, arrange inputs, act once, assert the outcome, and keep tests independent of each other.',
  'memory leaks': 'Take two heap snapshots a while apart and look for objects whose count keeps growing, often listeners or caches.',
  'rest api endpoints': 'Name resources with nouns, use GET to read, POST to create, PUT or PATCH to update and DELETE to remove.',
  'regular expressions': 'Anchor patterns with caret and dollar, escape special characters, and test them against tricky inputs first.',
  'type errors': 'Read which value had the wrong type, check where it was created, and add a type annotation to catch it earlier.',
  'database indexes': 'Index the columns you filter and join on; an index speeds reads but costs space and slows every write.',
  'async functions': 'An async function always returns a promise; await pauses it without blocking, and try catch handles rejections.',
  'compiler errors': 'Fix the first error the compiler reports before the others, since later errors often follow from it.',
  'linked lists': 'Each node holds a value and a pointer to the next node; insertion is cheap but indexing walks the chain.',
  'hash maps': 'A hash map stores key value pairs in buckets chosen by the key hash, giving constant time lookups on average.',
  'http requests': 'A request has a method, a URL, headers and an optional body; check the status code before reading the response.',
  'css layouts': 'Use flexbox for one dimensional rows or columns and grid for two dimensional layouts with rows and columns.',
  'java classes': 'A class bundles fields and methods; keep fields private and expose behaviour through public methods.',
  'rust ownership': 'Each value has one owner; borrowing with references lets code read it without taking ownership.',
};

export const MUSIC: Record<string, string> = { ...BASE_KNOWLEDGE, ...NICHE_MUSIC };

export const TEMPLATES = [
  'How do I get started with {s}?',
  'What is the best way to practice {s}?',
  'Can you explain {s} to a beginner?',
  'Why are {s} so hard to understand?',
  'What are common mistakes with {s}?',
  'Give me three tips on {s}.',
  'How long does it take to get good at {s}?',
  'Which book covers {s} well?',
];

/** Wordings of the evaluation set that interactions never use. */
export const EVAL_TEMPLATES = ['Could you walk me through {s}?', 'I keep struggling with {s}, any advice?', 'Teach me the basics of {s}.', 'What should I know about {s}?'];

export interface QA {
  subject: string;
  question: string;
  answer: string;
}

/** Every question of some subjects with its reference answer. */
export function questions(subjects: Record<string, string>, templates: string[] = TEMPLATES): QA[] {
  return Object.entries(subjects).flatMap(([subject, answer]) => templates.map((t) => ({ subject, question: t.replace('{s}', subject), answer })));
}

/** Share of current-window questions about programming. */
export const CURRENT_PROGRAMMING_SHARE = 0.15;
/** Interactions and evaluation items per day (before retries). */
export const PER_DAY = 60;
export const EVALS_PER_DAY = 20;
/** Probability that a user rates an answer at all. */
export const RATED = 0.6;
/** Probability that a user rates the support team's answer (always 5). */
export const SUPPORT_RATED = 0.8;
/** Whether a user whose question the bot declined asks it again before going to the support team. */
export const RETRY_AFTER_REFUSAL = false;
/** Users talking to the gateway at once in `demo --days`. */
export const CONCURRENT_USERS = 8;

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

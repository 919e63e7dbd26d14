import type { Db } from '../../packages/core/src/db/types.js';
import { toVectorText } from '../../packages/core/src/db/vector.js';

/** Seeded uniform RNG (mulberry32) and a normal from it. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return { next, normal };
}

export interface SeedOptions {
  model?: string;
  now: Date;
  /** Rows per window per table. */
  n: number;
  dim?: number;
  /**
   * Move the current window's embeddings to a new topic, its accuracy down and its refusals up
   * (users mostly rate 1-3 then, but some still rate 4-5: enough clean examples for a fine-tune).
   */
  shifted: boolean;
  seed?: number;
}

const DAY = 86_400_000;

const ANSWERS = [
  'The chorus uses a I-V-vi-IV progression, which is why it sounds familiar.',
  'Try practising the scale slowly with a metronome at 60 bpm, then speed up.',
  'That album was recorded in 1971 and mixed in two weeks.',
  'A minor seventh chord stacks a minor third, a perfect fifth and a minor seventh.',
];
const REFUSALS = ["I'm sorry, but I can't help with that request.", 'I am unable to provide assistance with that.', "I can't assist with that."];

/**
 * Fills the log tables of one model: a baseline window (8..37 days ago) and a current
 * window (the last 7 days). Unshifted: both windows from the same distributions.
 */
export async function seedWindows(db: Db, o: SeedOptions): Promise<void> {
  const model = o.model ?? 'support-bot';
  const dim = o.dim ?? 16;
  const r = rng(o.seed ?? 1);
  // The rows' sample keys from a stream of their own (the database's default is random()):
  // the order in which a monitor reads the windows, and with it every permutation p-value,
  // is then the same on every run of a test, not a fresh draw that fails a no-drift test
  // at about its false-alarm rate.
  const keys = rng((o.seed ?? 1) + 7919);
  const topicA = Array.from({ length: dim }, () => r.normal());
  const topicB = Array.from({ length: dim }, () => r.normal());
  const at = (window: 'baseline' | 'current') => {
    const back = window === 'current' ? r.next() * 6.5 * DAY : (8 + r.next() * 29) * DAY;
    return new Date(o.now.getTime() - back - 60_000);
  };
  const rows = async (window: 'baseline' | 'current') => {
    const moved = o.shifted && window === 'current';
    await db.transaction(async (tx) => {
      for (let i = 0; i < o.n; i++) {
        const ts = at(window);
        const centre = moved ? topicB : topicA;
        const v = centre.map((c) => c + r.normal() * 0.6);
        await tx.query(`INSERT INTO embeddings_log (model, ts, embedding, dim, sample_key) VALUES ($1, $2, $3::vector, $4, $5)`, [model, ts, toVectorText(v), dim, keys.next()]);
        const refuse = r.next() < (moved ? 0.3 : 0.03);
        const response = refuse ? REFUSALS[i % REFUSALS.length] : ANSWERS[i % ANSWERS.length];
        await tx.query(
          `INSERT INTO interaction_log (model, ts, query, response, latency_ms, feedback_score, task_success, sample_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [model, ts, `question ${i}`, response, 200 + Math.floor(r.next() * 300), moved ? (r.next() < 0.3 ? 4 + Math.floor(r.next() * 2) : 1 + Math.floor(r.next() * 3)) : 3 + Math.floor(r.next() * 3), r.next() < (moved ? 0.6 : 0.9), keys.next()],
        );
        const correct = r.next() < (moved ? 0.7 : 0.92);
        await tx.query(`INSERT INTO evaluation_log (model, ts, item_id, correct) VALUES ($1, $2, $3, $4)`, [model, ts, `item-${i}`, correct]);
      }
    });
  };
  await rows('baseline');
  await rows('current');
}

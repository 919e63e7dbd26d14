/** Small text helpers shared by the offline providers and the evaluation gate. */

/** Lower-cased word tokens (letters and digits, with inner apostrophes: "don't"). */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu) ?? [];
}

/** Lower case, punctuation dropped, whitespace collapsed. */
export function normalizeAnswer(text: string): string {
  return tokenize(text).join(' ');
}

function counts(tokens: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of tokens) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

/** Token F1 (SQuAD-style) between two texts: 1 for the same words, 0 for none in common. */
export function tokenF1(a: string, b: string): number {
  const ta = tokenize(a);
  const tb = tokenize(b);
  if (ta.length === 0 || tb.length === 0) return ta.length === tb.length ? 1 : 0;
  const cb = counts(tb);
  let common = 0;
  for (const [t, n] of counts(ta)) common += Math.min(n, cb.get(t) ?? 0);
  if (common === 0) return 0;
  const p = common / ta.length;
  const r = common / tb.length;
  return (2 * p * r) / (p + r);
}

/** Cosine similarity of two texts' token count vectors. */
export function tokenCosine(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const ca = counts(a);
  const cb = counts(b);
  let dot = 0;
  for (const [t, n] of ca) dot += n * (cb.get(t) ?? 0);
  const norm = (c: Map<string, number>) => Math.sqrt([...c.values()].reduce((s, n) => s + n * n, 0));
  return dot / (norm(ca) * norm(cb));
}

/**
 * The evaluation gate's notion of a correct answer: the same words after
 * normalisation (case and punctuation do not matter), or a token F1 of at least
 * ANSWER_F1_THRESHOLD (a longer answer may differ by a word or so).
 */
export const ANSWER_F1_THRESHOLD = 0.8;
export function answerIsCorrect(predicted: string, expected: string): boolean {
  const p = normalizeAnswer(predicted);
  const e = normalizeAnswer(expected);
  if (e === '') return p === '';
  return p === e || tokenF1(p, e) >= ANSWER_F1_THRESHOLD;
}

/** Rough token count (about 0.75 words per token) for cost-free offline bookkeeping. */
export function approxTokens(text: string): number {
  return Math.ceil(tokenize(text).length / 0.75);
}

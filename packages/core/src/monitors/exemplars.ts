/**
 * Nearest-exemplar similarity on offline word vectors, shared by the semantic refusal
 * detector (refusal-semantic.ts) and the offline moderation's sentence layer
 * (moderation-semantic.ts). A sentence is the SIF-weighted mean of its word vectors
 * (weight a / (a + p(w)), p from the Zipf rank: frequent words weigh little), minus the
 * common component of all exemplars, unit length; its similarity to a set of exemplars
 * is the cosine to the nearest one.
 */

/** What the space needs from a word-vector table (providers/word-vectors.ts WordVectors fits). */
export interface WordVectorLookup {
  readonly dim: number;
  /** Words in descending frequency (used for the SIF weights); optional. */
  readonly words?: readonly string[];
  get(word: string): ArrayLike<number> | undefined;
}

const CONTRACTIONS: [RegExp, string][] = [
  [/\bcan't\b/g, 'can not'],
  [/\bwon't\b/g, 'will not'],
  [/\bshan't\b/g, 'shall not'],
  [/n't\b/g, ' not'],
  [/'d\b/g, ' would'],
  [/'m\b/g, ' am'],
  [/'ll\b/g, ' will'],
  [/'re\b/g, ' are'],
  [/'ve\b/g, ' have'],
  [/'s\b/g, ''],
];

export class ExemplarSpace<K extends string> {
  private readonly sets = new Map<K, Float64Array[]>();
  private readonly common: Float64Array;
  private readonly rank: Map<string, number> | null;

  /** `normalise` is applied to exemplars and to every text before embedding (lower-cased text expected). */
  constructor(
    private readonly vectors: WordVectorLookup,
    exemplars: Record<K, readonly string[]>,
    private readonly normalise: (s: string) => string = (s) => s.toLowerCase(),
  ) {
    this.rank = vectors.words ? new Map(vectors.words.map((w, i) => [w, i + 1])) : null;
    const raw = new Map<K, Float64Array[]>();
    let n = 0;
    for (const k of Object.keys(exemplars) as K[]) {
      const vs = exemplars[k].map((s) => this.rawEmbed(this.normalise(s))).filter((v): v is Float64Array => v !== null);
      if (vs.length === 0) throw new RangeError(`the word vectors know no word of the "${k}" exemplars`);
      raw.set(k, vs);
      n += vs.length;
    }
    // Common component (SIF): the mean of every exemplar, removed from every vector so
    // that cosines measure what differs between sentences, not what all English shares.
    this.common = new Float64Array(vectors.dim);
    for (const vs of raw.values()) for (const v of vs) for (let j = 0; j < v.length; j++) this.common[j] += v[j] / n;
    for (const [k, vs] of raw) this.sets.set(k, vs.map((v) => this.centre(v)));
  }

  /** The text's vector as compared with the exemplars (centred, unit); null when no word is known. `text` is already normalised. */
  embed(text: string): Float64Array | null {
    const v = this.rawEmbed(text);
    return v ? this.centre(v) : null;
  }

  /** Cosine of `v` to the nearest exemplar of set `k`. */
  nearest(v: Float64Array, k: K): number {
    let best = -1;
    for (const u of this.sets.get(k) ?? []) {
      let d = 0;
      for (let j = 0; j < v.length; j++) d += v[j] * u[j];
      if (d > best) best = d;
    }
    return best;
  }

  private centre(v: Float64Array): Float64Array {
    const out = new Float64Array(v.length);
    let n = 0;
    for (let j = 0; j < v.length; j++) n += (out[j] = v[j] - this.common[j]) ** 2;
    n = Math.sqrt(n) || 1;
    for (let j = 0; j < v.length; j++) out[j] /= n;
    return out;
  }

  /** Unit SIF-weighted mean of the text's word vectors; null when no word is known. */
  private rawEmbed(text: string): Float64Array | null {
    let t = text;
    for (const [re, to] of CONTRACTIONS) t = t.replace(re, to);
    const words = t.match(/[a-z]+(?:-[a-z]+)*/g) ?? [];
    const v = new Float64Array(this.vectors.dim);
    let any = false;
    for (const w of words) {
      const x = this.vectors.get(w);
      if (!x) continue;
      // p(w) ~ 0.1 / rank (Zipf); a = 1e-3: "the" weighs ~0.01, a word of rank 300 ~0.75.
      const r = this.rank?.get(w);
      const weight = r === undefined ? 1 : 1e-3 / (1e-3 + 0.1 / r);
      for (let j = 0; j < v.length; j++) v[j] += weight * x[j];
      any = true;
    }
    if (!any) return null;
    let n = 0;
    for (let j = 0; j < v.length; j++) n += v[j] * v[j];
    n = Math.sqrt(n);
    if (n === 0) return null;
    for (let j = 0; j < v.length; j++) v[j] /= n;
    return v;
  }
}

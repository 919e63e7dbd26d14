/**
 * Moderation: does a text contain toxic, harassing, violent, sexual or self-harm
 * content? The behaviour monitor only needs `toxic` per interaction; any provider
 * implementing ModerationProvider can fill it (the OpenAI moderation endpoint in
 * production, the offline lexicon here).
 */
export interface ModerationProvider {
  moderate(texts: string[]): Promise<{ flagged: boolean; score: number }[]>;
}

export type ModerationCategory = 'harassment' | 'hate' | 'violence' | 'self_harm' | 'sexual' | 'profanity';

/** One lexicon entry: a word or phrase (matched on word boundaries, case-insensitive) and its weight in 0..1. */
export interface LexiconEntry {
  term: string;
  weight: number;
  category: ModerationCategory;
}

/**
 * Default lexicon. Weights are the probability-like strength of one occurrence:
 * >= 0.5 flags on its own (direct threats, self-harm encouragement, slur-level
 * insults); lower weights need company (mild profanity alone does not flag).
 * Terms ending in `*` match any word ending ("idiot*" matches idiots, idiotic).
 */
export const DEFAULT_LEXICON: readonly LexiconEntry[] = [
  // self-harm (encouragement or intent)
  { term: 'kill yourself', weight: 0.95, category: 'self_harm' },
  { term: 'kys', weight: 0.8, category: 'self_harm' },
  { term: 'go die', weight: 0.8, category: 'self_harm' },
  { term: 'end your life', weight: 0.85, category: 'self_harm' },
  { term: 'cut yourself', weight: 0.8, category: 'self_harm' },
  { term: 'you should die', weight: 0.9, category: 'self_harm' },
  { term: 'want to die', weight: 0.5, category: 'self_harm' },
  { term: 'suicide method*', weight: 0.7, category: 'self_harm' },
  // violence (threats and incitement)
  { term: 'i will kill you', weight: 0.95, category: 'violence' },
  { term: "i'll kill you", weight: 0.95, category: 'violence' },
  { term: 'i will hurt you', weight: 0.9, category: 'violence' },
  { term: 'beat you up', weight: 0.75, category: 'violence' },
  { term: 'shoot you', weight: 0.8, category: 'violence' },
  { term: 'stab you', weight: 0.85, category: 'violence' },
  { term: 'burn your house', weight: 0.85, category: 'violence' },
  { term: 'deserve to die', weight: 0.85, category: 'violence' },
  { term: 'should be shot', weight: 0.85, category: 'violence' },
  { term: 'slit your throat', weight: 0.95, category: 'violence' },
  { term: 'bomb threat', weight: 0.5, category: 'violence' },
  { term: 'massacre them', weight: 0.9, category: 'violence' },
  // harassment (insults aimed at the reader)
  { term: 'you idiot*', weight: 0.6, category: 'harassment' },
  { term: 'you moron*', weight: 0.6, category: 'harassment' },
  { term: 'you stupid', weight: 0.55, category: 'harassment' },
  { term: 'you are worthless', weight: 0.7, category: 'harassment' },
  { term: "you're worthless", weight: 0.7, category: 'harassment' },
  { term: 'you are pathetic', weight: 0.6, category: 'harassment' },
  { term: "you're pathetic", weight: 0.6, category: 'harassment' },
  { term: 'shut up', weight: 0.35, category: 'harassment' },
  { term: 'nobody likes you', weight: 0.6, category: 'harassment' },
  { term: 'loser*', weight: 0.3, category: 'harassment' },
  { term: 'idiot*', weight: 0.35, category: 'harassment' },
  { term: 'moron*', weight: 0.35, category: 'harassment' },
  { term: 'imbecile*', weight: 0.35, category: 'harassment' },
  { term: 'dumbass*', weight: 0.5, category: 'harassment' },
  { term: 'scum', weight: 0.4, category: 'harassment' },
  { term: 'trash human', weight: 0.6, category: 'harassment' },
  // hate (dehumanising language about groups)
  { term: 'subhuman*', weight: 0.8, category: 'hate' },
  { term: 'vermin', weight: 0.45, category: 'hate' },
  { term: 'inferior race', weight: 0.9, category: 'hate' },
  { term: 'go back to your country', weight: 0.75, category: 'hate' },
  { term: 'ethnic cleansing', weight: 0.6, category: 'hate' },
  { term: 'white power', weight: 0.7, category: 'hate' },
  // sexual (explicit)
  { term: 'porn*', weight: 0.5, category: 'sexual' },
  { term: 'nude*', weight: 0.35, category: 'sexual' },
  { term: 'sexually explicit', weight: 0.5, category: 'sexual' },
  { term: 'blowjob*', weight: 0.75, category: 'sexual' },
  // profanity (weak alone)
  { term: 'fuck*', weight: 0.4, category: 'profanity' },
  { term: 'motherfucker*', weight: 0.7, category: 'profanity' },
  { term: 'shit*', weight: 0.25, category: 'profanity' },
  { term: 'bullshit', weight: 0.25, category: 'profanity' },
  { term: 'bitch*', weight: 0.5, category: 'profanity' },
  { term: 'bastard*', weight: 0.4, category: 'profanity' },
  { term: 'asshole*', weight: 0.55, category: 'profanity' },
  { term: 'damn', weight: 0.1, category: 'profanity' },
  { term: 'crap', weight: 0.1, category: 'profanity' },
];

export interface OfflineModerationOptions {
  /** Score at or above which a text is flagged (default 0.5). */
  threshold?: number;
  /** Entries added to (or, for the same term, replacing) the default lexicon. */
  extraTerms?: LexiconEntry[];
}

export interface ModerationDetail {
  flagged: boolean;
  /** 1 - prod(1 - weight) over the matched occurrences (noisy-or), in 0..1. */
  score: number;
  categories: Partial<Record<ModerationCategory, number>>;
  matches: string[];
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Offline moderation by a weighted lexicon matched on word boundaries.
 * score = 1 - prod(1 - w) over every occurrence of a lexicon term (so two mild
 * insults weigh more than one); flagged when score >= threshold (0.5).
 *
 * Limits, by design of a lexicon: no context (quoting, negation, a story about
 * violence and a threat score alike), no misspellings or obfuscation ("k1ll"),
 * English only, no identity-based slurs in the default list (add them with
 * `extraTerms` for your audience). It is meant to keep the pipeline working
 * without network access and to track a toxicity *rate* over time, not to
 * moderate individual messages.
 */
export class OfflineModerationProvider implements ModerationProvider {
  private readonly threshold: number;
  private readonly patterns: { re: RegExp; entry: LexiconEntry }[];

  constructor(options: OfflineModerationOptions = {}) {
    this.threshold = options.threshold ?? 0.5;
    const byTerm = new Map<string, LexiconEntry>();
    for (const e of [...DEFAULT_LEXICON, ...(options.extraTerms ?? [])]) {
      if (!(e.weight >= 0 && e.weight <= 1)) throw new RangeError(`moderation term "${e.term}": weight must be in 0..1`);
      byTerm.set(e.term.toLowerCase(), e);
    }
    this.patterns = [...byTerm.entries()].map(([term, entry]) => {
      const prefix = term.endsWith('*');
      const body = escape(prefix ? term.slice(0, -1) : term).replace(/'/g, "['’]").replace(/ /g, '\\s+');
      return { re: new RegExp(`(?<![\\w])${body}${prefix ? '\\w*' : ''}(?![\\w])`, 'giu'), entry };
    });
  }

  /** Moderation of one text with the matched terms and per-category scores. */
  explain(text: string): ModerationDetail {
    let keep = 1;
    const categories: Partial<Record<ModerationCategory, number>> = {};
    const matches: string[] = [];
    for (const { re, entry } of this.patterns) {
      re.lastIndex = 0;
      const found = text.match(re);
      if (!found) continue;
      for (const m of found) {
        keep *= 1 - entry.weight;
        matches.push(m);
        categories[entry.category] = 1 - (1 - (categories[entry.category] ?? 0)) * (1 - entry.weight);
      }
    }
    const score = 1 - keep;
    return { flagged: score >= this.threshold, score, categories, matches };
  }

  async moderate(texts: string[]): Promise<{ flagged: boolean; score: number }[]> {
    return texts.map((t) => {
      const { flagged, score } = this.explain(t ?? '');
      return { flagged, score };
    });
  }
}

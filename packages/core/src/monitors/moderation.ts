import { RegExpMatcher, englishDataset, englishRecommendedTransformers } from 'obscenity';
import type { SemanticModeration } from './moderation-semantic.js';
import { sharedSemanticModeration } from './refusal-vectors.js';

/**
 * Moderation: does a text contain toxic, harassing, violent, sexual or self-harm
 * content? The behaviour monitor only needs `toxic` per interaction; any provider
 * implementing ModerationProvider can fill it (the OpenAI moderation endpoint in
 * production, the offline lexicon here).
 */
export interface ModerationProvider {
  moderate(texts: string[]): Promise<ModerationResult[]>;
}

/** The categories OpenAI's moderation endpoint reports (omni-moderation-latest). */
export const MODERATION_CATEGORIES = [
  'harassment',
  'harassment/threatening',
  'hate',
  'hate/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;
export type ModerationCategory = (typeof MODERATION_CATEGORIES)[number];

/** One verdict, in the shape of an OpenAI moderation result (`flagged`, `categories`, `category_scores`) plus `score` = the highest category score. */
export interface ModerationResult {
  flagged: boolean;
  score: number;
  categories?: Record<ModerationCategory, boolean>;
  category_scores?: Record<ModerationCategory, number>;
}

/** One lexicon entry: a word or phrase (matched on word boundaries, case-insensitive) and its weight in 0..1 for each category it belongs to. */
export interface LexiconEntry {
  term: string;
  weight: number;
  category: ModerationCategory;
  /** Further categories the same occurrence counts towards, at the same weight. */
  also?: ModerationCategory[];
}

/**
 * Phrases the word list of `obscenity` cannot know (threats, self-harm
 * encouragement, insults without a swear word, dehumanising language), with
 * OpenAI's categories. Weights are the probability-like strength of one
 * occurrence: >= 0.5 flags on its own; lower weights need company. Terms ending in
 * `*` match any word ending ("idiot*" matches idiots, idiotic).
 */
export const DEFAULT_LEXICON: readonly LexiconEntry[] = [
  // self-harm encouragement (aimed at the reader)
  { term: 'kill yourself', weight: 0.95, category: 'self-harm/intent', also: ['harassment/threatening'] },
  { term: 'kill urself', weight: 0.95, category: 'self-harm/intent', also: ['harassment/threatening'] },
  { term: 'kys', weight: 0.8, category: 'self-harm/intent', also: ['harassment'] },
  { term: 'go die', weight: 0.8, category: 'self-harm/intent', also: ['harassment'] },
  { term: 'just die', weight: 0.8, category: 'self-harm/intent', also: ['harassment'] },
  { term: 'should just die', weight: 0.9, category: 'self-harm/intent', also: ['harassment'] },
  { term: 'end your life', weight: 0.85, category: 'self-harm/intent', also: ['harassment'] },
  { term: 'end it', weight: 0.2, category: 'self-harm/intent' },
  { term: 'cut yourself', weight: 0.8, category: 'self-harm/intent', also: ['harassment'] },
  { term: 'hang yourself', weight: 0.9, category: 'self-harm/intent', also: ['harassment'] },
  { term: 'jump off a bridge', weight: 0.8, category: 'self-harm/intent', also: ['harassment'] },
  { term: 'overdose tonight', weight: 0.8, category: 'self-harm/instructions' },
  { term: 'you should die', weight: 0.9, category: 'self-harm/intent', also: ['harassment/threatening'] },
  { term: 'better without you', weight: 0.5, category: 'harassment', also: ['self-harm/intent'] },
  { term: 'nobody would miss you', weight: 0.6, category: 'harassment', also: ['self-harm/intent'] },
  { term: 'suicide method*', weight: 0.7, category: 'self-harm/instructions' },
  // threats and incitement
  { term: 'i will kill you', weight: 0.95, category: 'violence', also: ['harassment/threatening'] },
  { term: "i'll kill you", weight: 0.95, category: 'violence', also: ['harassment/threatening'] },
  { term: 'i will kill', weight: 0.8, category: 'violence', also: ['harassment/threatening'] },
  { term: 'i will end you', weight: 0.9, category: 'violence', also: ['harassment/threatening'] },
  { term: 'i swear i will end you', weight: 0.9, category: 'violence', also: ['harassment/threatening'] },
  { term: 'i will hurt you', weight: 0.9, category: 'violence', also: ['harassment/threatening'] },
  { term: 'hurt you', weight: 0.6, category: 'violence', also: ['harassment/threatening'] },
  { term: 'i will hunt you down', weight: 0.85, category: 'violence', also: ['harassment/threatening'] },
  { term: 'watch your back', weight: 0.6, category: 'harassment/threatening' },
  { term: 'watch out', weight: 0.15, category: 'harassment/threatening' },
  { term: "you're dead", weight: 0.6, category: 'harassment/threatening', also: ['violence'] },
  { term: "you won't survive", weight: 0.8, category: 'harassment/threatening', also: ['violence'] },
  { term: 'beat you*', weight: 0.75, category: 'violence', also: ['harassment/threatening'] },
  { term: 'beat up', weight: 0.6, category: 'violence' },
  { term: 'punch you', weight: 0.8, category: 'violence', also: ['harassment/threatening'] },
  { term: 'break your legs', weight: 0.85, category: 'violence', also: ['harassment/threatening'] },
  { term: 'smash your face', weight: 0.85, category: 'violence', also: ['harassment/threatening'] },
  { term: 'put you in the hospital', weight: 0.85, category: 'violence', also: ['harassment/threatening'] },
  { term: 'never walk again', weight: 0.7, category: 'violence', also: ['harassment/threatening'] },
  { term: 'shoot you', weight: 0.8, category: 'violence', also: ['harassment/threatening'] },
  { term: 'stab you', weight: 0.85, category: 'violence', also: ['harassment/threatening'] },
  { term: 'get stabbed', weight: 0.8, category: 'violence' },
  { term: 'should shoot', weight: 0.8, category: 'violence' },
  { term: 'should be shot', weight: 0.85, category: 'violence' },
  { term: 'should be hanged', weight: 0.85, category: 'violence' },
  { term: 'set on fire', weight: 0.6, category: 'violence' },
  { term: 'burn your house', weight: 0.85, category: 'violence', also: ['harassment/threatening'] },
  { term: 'deserve to die', weight: 0.85, category: 'violence', also: ['harassment/threatening'] },
  { term: 'slit your throat', weight: 0.95, category: 'violence/graphic', also: ['harassment/threatening'] },
  { term: 'bomb their', weight: 0.8, category: 'illicit/violent', also: ['violence'] },
  { term: 'bomb threat', weight: 0.5, category: 'violence' },
  { term: 'massacre them', weight: 0.9, category: 'violence', also: ['hate/threatening'] },
  { term: 'make your life hell', weight: 0.6, category: 'harassment/threatening' },
  { term: 'i know where your kids', weight: 0.8, category: 'harassment/threatening' },
  { term: 'find where you live', weight: 0.7, category: 'harassment/threatening' },
  { term: "i'm coming for you", weight: 0.6, category: 'harassment/threatening' },
  // insults aimed at the reader, without a swear word
  { term: 'you idiot*', weight: 0.6, category: 'harassment' },
  { term: 'you moron*', weight: 0.6, category: 'harassment' },
  { term: 'you stupid', weight: 0.55, category: 'harassment' },
  { term: 'you imbecile', weight: 0.6, category: 'harassment' },
  { term: 'you clown', weight: 0.5, category: 'harassment' },
  { term: 'you are worthless', weight: 0.7, category: 'harassment' },
  { term: "you're worthless", weight: 0.7, category: 'harassment' },
  { term: 'worthless piece', weight: 0.7, category: 'harassment' },
  { term: 'waste of space', weight: 0.6, category: 'harassment' },
  { term: 'you are pathetic', weight: 0.6, category: 'harassment' },
  { term: "you're pathetic", weight: 0.6, category: 'harassment' },
  { term: 'pathetic loser', weight: 0.6, category: 'harassment' },
  { term: 'too stupid to', weight: 0.55, category: 'harassment' },
  { term: 'dumbest person', weight: 0.55, category: 'harassment' },
  { term: 'shut up', weight: 0.35, category: 'harassment' },
  { term: 'shut your mouth', weight: 0.5, category: 'harassment' },
  { term: 'nobody likes you', weight: 0.6, category: 'harassment' },
  { term: 'go to hell', weight: 0.45, category: 'harassment' },
  { term: 'fuck off', weight: 0.6, category: 'harassment' },
  { term: 'shut the fuck up', weight: 0.7, category: 'harassment' },
  { term: 'f off', weight: 0.5, category: 'harassment' },
  { term: 'stfu', weight: 0.5, category: 'harassment' },
  { term: 'f*** off', weight: 0.55, category: 'harassment' },
  { term: 'f*** you', weight: 0.55, category: 'harassment' },
  { term: 'screw you', weight: 0.55, category: 'harassment' },
  { term: 'piss off', weight: 0.55, category: 'harassment' },
  { term: 'get lost', weight: 0.3, category: 'harassment' },
  { term: 'loser*', weight: 0.3, category: 'harassment' },
  { term: 'idiot*', weight: 0.35, category: 'harassment' },
  { term: 'moron*', weight: 0.35, category: 'harassment' },
  { term: 'imbecile*', weight: 0.35, category: 'harassment' },
  { term: 'dumbass*', weight: 0.5, category: 'harassment' },
  { term: 'jackass*', weight: 0.5, category: 'harassment' },
  { term: 'dickhead*', weight: 0.6, category: 'harassment' },
  { term: 'd1ckhead', weight: 0.6, category: 'harassment' },
  { term: 'braindead', weight: 0.4, category: 'harassment' },
  { term: 'brain-damaged', weight: 0.4, category: 'harassment' },
  { term: 'freak*', weight: 0.3, category: 'harassment' },
  { term: 'coward', weight: 0.25, category: 'harassment' },
  { term: 'filthy rat', weight: 0.55, category: 'harassment' },
  { term: 'disgusting pig', weight: 0.6, category: 'harassment' },
  { term: 'fat disgusting', weight: 0.6, category: 'harassment' },
  { term: 'so ugly', weight: 0.35, category: 'harassment' },
  { term: 'scum', weight: 0.4, category: 'harassment' },
  { term: 'garbage', weight: 0.15, category: 'harassment' },
  { term: 'trash human', weight: 0.6, category: 'harassment' },
  { term: 'stupid', weight: 0.2, category: 'harassment' },
  { term: 'st*pid', weight: 0.3, category: 'harassment' },
  { term: 'c*nt', weight: 0.7, category: 'harassment' },
  { term: 'a$$hole', weight: 0.6, category: 'harassment' },
  // dehumanising language about groups
  { term: 'subhuman*', weight: 0.8, category: 'hate' },
  { term: 'vermin', weight: 0.45, category: 'hate' },
  { term: 'parasites', weight: 0.4, category: 'hate' },
  { term: 'inferior race', weight: 0.9, category: 'hate' },
  { term: 'go back to your country', weight: 0.75, category: 'hate' },
  { term: 'ethnic cleansing', weight: 0.6, category: 'hate/threatening' },
  { term: 'wiped out', weight: 0.35, category: 'hate/threatening' },
  { term: 'put down', weight: 0.25, category: 'hate/threatening' },
  { term: 'must be stopped', weight: 0.3, category: 'hate' },
  { term: 'should disappear', weight: 0.4, category: 'hate' },
  { term: 'white power', weight: 0.7, category: 'hate' },
  { term: 'are terrorists', weight: 0.6, category: 'hate' },
  { term: 'are criminals', weight: 0.5, category: 'hate' },
  { term: 'rapists', weight: 0.5, category: 'hate' },
  { term: 'too stupid to vote', weight: 0.7, category: 'hate' },
  { term: 'mentally ill freaks', weight: 0.8, category: 'hate' },
  { term: 'disgusting freaks', weight: 0.7, category: 'hate' },
  { term: 'animals', weight: 0.2, category: 'hate' },
  { term: 'a disease', weight: 0.3, category: 'hate' },
  { term: 'a burden', weight: 0.3, category: 'hate' },
  // sexual (explicit) beyond single words
  { term: 'send me nudes', weight: 0.8, category: 'sexual' },
  { term: 'nude*', weight: 0.35, category: 'sexual' },
  { term: 'naked body', weight: 0.4, category: 'sexual' },
  { term: 'horny', weight: 0.5, category: 'sexual' },
  { term: 'sexually explicit', weight: 0.5, category: 'sexual' },
  { term: 'jerking off', weight: 0.8, category: 'sexual' },
  { term: 'suck my', weight: 0.6, category: 'sexual', also: ['harassment'] },
  { term: 'have sex', weight: 0.5, category: 'sexual' },
];

/**
 * Words of `obscenity`'s English data set, by OpenAI category and weight (the
 * library finds them through obfuscation: "f*cking", "b1tch", "fuuuuck"). Slurs
 * flag alone; explicit sexual words and direct insults nearly; profanity needs
 * company. A word the table does not list counts as harassment at 0.4.
 */
const OBSCENITY_WORDS: Record<string, { weight: number; category: ModerationCategory; also?: ModerationCategory[] }> = {
  // slurs
  ...Object.fromEntries(
    ['abeed', 'abo', 'africoon', 'arabush', 'boonga', 'chingchong', 'chink', 'dyke', 'fag', 'kike', 'negro', 'nigger', 'tranny'].map((w) => [w, { weight: 0.9, category: 'hate' as const }]),
  ),
  retard: { weight: 0.6, category: 'hate', also: ['harassment'] },
  spastic: { weight: 0.5, category: 'hate', also: ['harassment'] },
  // explicit sexual words
  ...Object.fromEntries(
    ['blowjob', 'buttplug', 'cum', 'deepthroat', 'dildo', 'doggystyle', 'double penetration', 'ejaculate', 'felch', 'fellatio', 'finger bang', 'fisting', 'gangbang', 'handjob', 'hentai', 'jerk off', 'jizz', 'lubejob', 'masturbate', 'orgy', 'porn', 'semen', 'wank', 'bestiality'].map((w) => [w, { weight: 0.6, category: 'sexual' as const }]),
  ),
  incest: { weight: 0.4, category: 'sexual' },
  orgasm: { weight: 0.4, category: 'sexual' },
  cock: { weight: 0.55, category: 'sexual' },
  dick: { weight: 0.45, category: 'sexual', also: ['harassment'] },
  pussy: { weight: 0.5, category: 'sexual' },
  tit: { weight: 0.5, category: 'sexual' },
  boob: { weight: 0.4, category: 'sexual' },
  penis: { weight: 0.2, category: 'sexual' },
  vagina: { weight: 0.2, category: 'sexual' },
  anal: { weight: 0.3, category: 'sexual' },
  anus: { weight: 0.15, category: 'sexual' },
  sex: { weight: 0.1, category: 'sexual' },
  hooker: { weight: 0.2, category: 'sexual' },
  scat: { weight: 0.2, category: 'sexual' },
  rape: { weight: 0.6, category: 'violence', also: ['sexual'] },
  // insults and profanity
  cunt: { weight: 0.7, category: 'harassment' },
  twat: { weight: 0.6, category: 'harassment' },
  whore: { weight: 0.65, category: 'harassment', also: ['sexual'] },
  slut: { weight: 0.6, category: 'harassment', also: ['sexual'] },
  bitch: { weight: 0.5, category: 'harassment' },
  prick: { weight: 0.5, category: 'harassment' },
  bastard: { weight: 0.4, category: 'harassment' },
  cuck: { weight: 0.4, category: 'harassment' },
  fuck: { weight: 0.45, category: 'harassment' },
  shit: { weight: 0.3, category: 'harassment' },
  ass: { weight: 0.3, category: 'harassment' },
  arse: { weight: 0.25, category: 'harassment' },
  piss: { weight: 0.25, category: 'harassment' },
  turd: { weight: 0.3, category: 'harassment' },
  bollocks: { weight: 0.2, category: 'harassment' },
};

/** Whole words that contain a listed word and are harmless (obscenity's own whitelist misses them). */
const HARMLESS_WORDS = new Set(['cockpit', 'cockpits', 'cocktail', 'cocktails', 'cockroach', 'cockerel', 'hancock', 'peacock', 'shitake', 'shiitake', 'scunthorpe', 'middlesex', 'sussex', 'essex', 'wessex', 'analysis', 'analyst', 'titanic', 'title', 'dickens', 'assassin', 'bass', 'class', 'pass', 'grass', 'mass', 'cumin', 'cumulative', 'document']);

/**
 * Sentence-level rules that generalise the phrase lexicon: a threat is a first-person
 * future + a violent verb + a person in the same sentence; dehumanising language is a group noun + "are" + a
 * dehumanising predicate; profanity or an insult addressed to the reader ("you",
 * "your") counts once more as harassment.
 */
const RULES: { re: RegExp; weight: number; categories: ModerationCategory[] }[] = [
  {
    re: /\b(?:i'?ll|i will|i'?m going to|i am going to|gonna|we'?ll|we will|someone will|someone should)\b(?=[^.!?\n]*\b(?:you|your|yourself|him|her|them|his|their|u|ur)\b)[^.!?\n]{0,40}?\b(?:kill|hurt|shoot|stab|beat|break|burn|destroy|strangle|punch|smash|murder|bleed|choke|torture)\w*/giu,
    weight: 0.75,
    categories: ['violence', 'harassment/threatening'],
  },
  {
    re: /\byou(?:'re| are)?\s+(?:going to\s+)?(?:gonna\s+)?(?:get\s+)?(?:hurt|killed|dead|die)\b/giu,
    weight: 0.6,
    categories: ['harassment/threatening', 'violence'],
  },
  {
    re: /\b(?:people|immigrants|refugees|foreigners|women|men|muslims|jews|christians|blacks|whites|gays|lesbians|trans people|they|those people|these people|that race|this race|those|them)\b[^.!?\n]{0,30}?\b(?:are|is|'re)\b[^.!?\n]{0,20}?\b(?:animals|parasites|vermin|subhuman|inferior|criminals|terrorists|an abomination|abominations|objects|a disease|a plague|savages|rats|filth|cockroaches)\b/giu,
    weight: 0.8,
    categories: ['hate'],
  },
  {
    // A named group + "are" + a contemptuous predicate ("women are too stupid for science"); not "they"/"those", which name no group.
    re: /\b(?:immigrants|refugees|foreigners|women|men|muslims|jews|christians|blacks|whites|gays|lesbians|trans people|old people|disabled people|poor people)\b[^.!?\n]{0,20}?\b(?:are|is|'re)\b[^.!?\n]{0,15}?\b(?:stupid|dumb|worthless|useless|lazy|dirty|filthy|thieves|thugs|disgusting|trash|scum|a waste)\b/giu,
    weight: 0.7,
    categories: ['hate'],
  },
];

/** Categories a sentence-layer hit also counts towards (a threat is violence too; self-harm encouragement is harassment). */
const SEMANTIC_ALSO: Record<string, ModerationCategory[]> = {
  harassment: [],
  'harassment/threatening': ['violence'],
  hate: [],
  'self-harm/intent': ['harassment'],
  sexual: [],
};

/** A second-person word in the same sentence as an insult makes it harassment. */
const ADDRESSED = /\b(?:you|your|you're|yourself|u|ur|ya)\b/iu;

export interface OfflineModerationOptions {
  /** Score at or above which a text is flagged (default 0.5). */
  threshold?: number;
  /** Entries added to (or, for the same term, replacing) the default lexicon. */
  extraTerms?: LexiconEntry[];
  /** Use the `obscenity` word list (default true). */
  obscenity?: boolean;
  /**
   * The sentence layer (moderation-semantic.ts). Default 'auto': on the compact word-vector
   * table when this machine has one (read on first use), else off; null: off.
   */
  semantic?: SemanticModeration | null | 'auto';
}

export interface ModerationDetail extends Required<ModerationResult> {
  matches: string[];
}

/** Whether position i lies inside quotes ('...', "...", “...”) that hold at most three words. */
function quoted(text: string, i: number): boolean {
  const before = text.slice(Math.max(0, i - 20), i);
  const after = text.slice(i, i + 30);
  return /(?:^|[\s(])['"“‘][^'"“”‘’\s]*(?:\s[^'"“”‘’\s]+){0,2}$/.test(before + 'x') && /^[^'"”’\n]{0,25}['"”’](?=\s|[.,;:!?)]|$)/.test(after);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

let obscenityMatcher: { matcher: RegExpMatcher; dataset: typeof englishDataset } | null = null;
function obscenityWords(): { matcher: RegExpMatcher; dataset: typeof englishDataset } {
  obscenityMatcher ??= { matcher: new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers }), dataset: englishDataset };
  return obscenityMatcher;
}

/**
 * Offline moderation: the `obscenity` library's English word list (slurs, sexual
 * words, profanity, found through leetspeak, inserted symbols and repeated letters)
 * plus a phrase lexicon for what single words cannot carry (threats, self-harm
 * encouragement, insults and dehumanising language without a swear word), both
 * mapped onto OpenAI's moderation categories.
 *
 * category_scores[c] = 1 - prod(1 - w) over the occurrences counting towards c
 * (noisy-or: two mild insults weigh more than one); categories[c] = category_scores[c]
 * >= threshold (0.5); score = the highest category score; flagged when a category is.
 * Same shape as an OpenAI moderation result. The sentence layer
 * (moderation-semantic.ts) adds one occurrence (0.6) per sentence aimed at someone
 * that is nearer a toxic exemplar than every benign one by at least its margin (0.02).
 *
 * Limits, by design of a lexicon: no context (quoting, negation, a story about
 * violence and a threat score alike), English only. It is meant to keep the pipeline
 * working without network access and to track a toxicity *rate* over time, not to
 * moderate individual messages (bench/toxicity.ts measures it).
 */
export class OfflineModerationProvider implements ModerationProvider {
  private readonly threshold: number;
  private readonly patterns: { re: RegExp; entry: LexiconEntry }[];
  private readonly useObscenity: boolean;
  private semanticLayer: SemanticModeration | null | 'auto';

  constructor(options: OfflineModerationOptions = {}) {
    this.threshold = options.threshold ?? 0.5;
    this.useObscenity = options.obscenity ?? true;
    this.semanticLayer = options.semantic === undefined ? 'auto' : options.semantic;
    const byTerm = new Map<string, LexiconEntry>();
    for (const e of [...DEFAULT_LEXICON, ...(options.extraTerms ?? [])]) {
      if (!(e.weight >= 0 && e.weight <= 1)) throw new RangeError(`moderation term "${e.term}": weight must be in 0..1`);
      if (!MODERATION_CATEGORIES.includes(e.category)) throw new RangeError(`moderation term "${e.term}": unknown category "${e.category}" (one of ${MODERATION_CATEGORIES.join(', ')})`);
      byTerm.set(e.term.toLowerCase(), e);
    }
    this.patterns = [...byTerm.entries()].map(([term, entry]) => {
      const prefix = /\w\*$/.test(term); // "idiot*"; a * inside ("c*nt") is literal
      const body = escape(prefix ? term.slice(0, -1) : term)
        .replace(/'/g, "['’]")
        .replace(/ /g, '\\s+');
      return { re: new RegExp(`(?<![\\w])${body}${prefix ? '\\w*' : ''}(?![\\w])`, 'giu'), entry };
    });
  }

  /** Moderation of one text with the matched terms and per-category scores. */
  explain(text: string): ModerationDetail {
    const keepBy = new Map<ModerationCategory, number>();
    const matches: string[] = [];
    const count = (w: number, cats: ModerationCategory[], m: string) => {
      matches.push(m);
      for (const c of cats) keepBy.set(c, (keepBy.get(c) ?? 1) * (1 - w));
    };
    const covered: [number, number][] = [];
    for (const { re, entry } of this.patterns) {
      re.lastIndex = 0;
      for (const m of text.matchAll(re)) {
        count(entry.weight, [entry.category, ...(entry.also ?? [])], m[0]);
        covered.push([m.index ?? 0, (m.index ?? 0) + m[0].length]);
      }
    }
    if (this.useObscenity && text) {
      const { matcher, dataset } = obscenityWords();
      for (const m of matcher.getAllMatches(text, true)) {
        if (covered.some(([a, b]) => m.startIndex >= a && m.endIndex < b)) continue; // already counted by a phrase
        let a = m.startIndex;
        let b = m.endIndex + 1;
        while (a > 0 && /[\p{L}]/u.test(text[a - 1])) a--;
        while (b < text.length && /[\p{L}]/u.test(text[b])) b++;
        const whole = text.slice(a, b).toLowerCase();
        if (HARMLESS_WORDS.has(whole)) continue;
        if (quoted(text, m.startIndex)) continue; // a word mentioned, not used ("the word 'bitch' meant ...")
        const word = dataset.getPayloadWithPhraseMetadata(m).phraseMetadata?.originalWord ?? whole;
        const info = OBSCENITY_WORDS[word] ?? { weight: 0.4, category: 'harassment' as const };
        count(info.weight, [info.category, ...(info.also ?? [])], text.slice(m.startIndex, m.endIndex + 1));
      }
    }
    for (const { re, weight, categories } of RULES) {
      re.lastIndex = 0;
      for (const m of text.matchAll(re)) count(weight, categories, m[0]);
    }
    const semantic = this.semantic();
    if (semantic && text) {
      for (const h of semantic.hits(text)) count(semantic.weight, [h.category, ...SEMANTIC_ALSO[h.category]], `(sentence near ${h.category} exemplars, +${h.score.toFixed(2)})`);
    }
    // Insults and profanity addressed to the reader: one more harassment occurrence.
    if (keepBy.has('harassment') && text.split(/[.!?\n]+/).some((sentence) => ADDRESSED.test(sentence) && this.insultIn(sentence))) count(0.3, ['harassment'], '(addressed to the reader)');
    // As OpenAI's: the highest category score, and flagged exactly when a category is.
    const score = Math.max(0, ...[...keepBy.values()].map((k) => 1 - k));
    const category_scores = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, 1 - (keepBy.get(c) ?? 1)])) as Record<ModerationCategory, number>;
    const categories = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, category_scores[c] >= this.threshold])) as Record<ModerationCategory, boolean>;
    return { flagged: score >= this.threshold, score, categories, category_scores, matches };
  }

  /** The sentence layer in use, or null. */
  semantic(): SemanticModeration | null {
    if (this.semanticLayer === 'auto') this.semanticLayer = sharedSemanticModeration().layer;
    return this.semanticLayer;
  }

  /** Whether a sentence holds a term that counts as harassment (lexicon or obscenity word list). */
  private insultIn(sentence: string): boolean {
    for (const { re, entry } of this.patterns) {
      if (entry.category !== 'harassment' && !(entry.also ?? []).includes('harassment')) continue;
      re.lastIndex = 0;
      if (re.test(sentence)) return true;
    }
    if (!this.useObscenity) return false;
    const { matcher, dataset } = obscenityWords();
    return matcher.getAllMatches(sentence).some((m) => {
      const word = dataset.getPayloadWithPhraseMetadata(m).phraseMetadata?.originalWord ?? '';
      const info = OBSCENITY_WORDS[word];
      return !info || info.category === 'harassment' || (info.also ?? []).includes('harassment');
    });
  }

  async moderate(texts: string[]): Promise<ModerationResult[]> {
    return texts.map((t) => {
      const { flagged, score, categories, category_scores } = this.explain(t ?? '');
      return { flagged, score, categories, category_scores };
    });
  }
}

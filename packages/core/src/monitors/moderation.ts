import { RegExpMatcher, englishDataset, englishRecommendedTransformers } from 'obscenity';
import { ToxicityModel, type SemanticModeration, type ToxicityModelWeights } from './moderation-semantic.js';
import { TOXICITY_MODEL } from './moderation-model.js';
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
  // self-harm encouragement (aimed at the reader): OpenAI's self-harm/instructions ("encourages
  // performing acts of self-harm"). Not counted in a sentence that negates it or points to help
  // ("please don't hurt yourself", "if you are thinking of ..., call ...": ENCOURAGEMENT_GUARD).
  { term: 'kill yourself', weight: 0.95, category: 'self-harm/instructions', also: ['self-harm', 'harassment'] },
  { term: 'kill urself', weight: 0.95, category: 'self-harm/instructions', also: ['self-harm', 'harassment'] },
  { term: 'kys', weight: 0.8, category: 'self-harm/instructions', also: ['self-harm', 'harassment'] },
  { term: 'go die', weight: 0.8, category: 'self-harm/instructions', also: ['self-harm', 'harassment'] },
  { term: 'just die', weight: 0.8, category: 'self-harm/instructions', also: ['self-harm', 'harassment'] },
  { term: 'should just die', weight: 0.9, category: 'self-harm/instructions', also: ['self-harm', 'harassment'] },
  { term: 'end your life', weight: 0.85, category: 'self-harm/instructions', also: ['self-harm', 'harassment'] },
  { term: 'end it', weight: 0.2, category: 'self-harm/instructions' },
  { term: 'cut yourself', weight: 0.8, category: 'self-harm/instructions', also: ['self-harm', 'harassment'] },
  { term: 'hang yourself', weight: 0.9, category: 'self-harm/instructions', also: ['self-harm', 'harassment'] },
  { term: 'jump off a bridge', weight: 0.8, category: 'self-harm/instructions', also: ['self-harm'] },
  { term: 'overdose tonight', weight: 0.8, category: 'self-harm/instructions', also: ['self-harm'] },
  { term: 'you should die', weight: 0.9, category: 'self-harm/instructions', also: ['self-harm', 'harassment/threatening'] },
  { term: 'suicide method*', weight: 0.7, category: 'self-harm/instructions', also: ['self-harm'] },
  // threats and incitement
  { term: 'i will kill you', weight: 0.95, category: 'violence', also: ['harassment/threatening'] },
  { term: "i'll kill you", weight: 0.95, category: 'violence', also: ['harassment/threatening'] },
  { term: 'i will kill', weight: 0.8, category: 'violence', also: ['harassment/threatening'] },
  { term: "i'll end you", weight: 0.9, category: 'violence', also: ['harassment/threatening'] },
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
  { term: 'put a bullet in', weight: 0.8, category: 'violence', also: ['harassment/threatening'] },
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
  { term: 'waste of a human being', weight: 0.6, category: 'harassment' },
  { term: 'waste of space', weight: 0.3, category: 'harassment' }, // aimed at someone: TARGETED ('you are a waste of space')
  { term: 'you are pathetic', weight: 0.6, category: 'harassment' },
  { term: "you're pathetic", weight: 0.6, category: 'harassment' },
  { term: 'pathetic loser', weight: 0.6, category: 'harassment' },
  { term: 'too stupid to', weight: 0.55, category: 'harassment' },
  { term: 'dumbest person', weight: 0.55, category: 'harassment' },
  { term: 'shut up', weight: 0.35, category: 'harassment' },
  { term: 'shut your mouth', weight: 0.5, category: 'harassment' },
  { term: 'nobody likes you', weight: 0.6, category: 'harassment' },
  { term: 'go to hell', weight: 0.45, category: 'harassment' },
  { term: 'long walk off a short pier', weight: 0.6, category: 'harassment' },
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
    re: /\b(?:i'?ll|i will|i'?m going to|i am going to|gonna|we'?ll|we will|someone will|someone should)\b(?=[^.!?\n]*\b(?:you|your|yourself|him|her|them|his|their|u|ur)\b)[^.!?\n]{0,40}?\b(?:kill|hurt|shoot|stab|beat|break|burn|destroy|strangle|punch|smash|murder|bleed|choke|torture|wring)\w*/giu,
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

/** Demeaning adjectives: with "you are" before them ("you are utterly worthless") they are an insult aimed at the reader. */
const DEMEANING_ADJ =
  'worthless|pathetic|useless|hopeless|spineless|gutless|brainless|clueless|talentless|witless|mindless|gormless|dim-?witted|half-?witted|feeble-?minded|vile|repulsive|disgusting|revolting|loathsome|odious|hideous|grotesque|insufferable|obnoxious|pompous|arrogant|smug|conceited|incompetent|inept|petty|cowardly|slimy|sleazy|creepy|gross|ignorant|dense|dumb|stupid|idiotic|moronic|pitiful|miserable|despicable|contemptible|unlovable|ugly|fat|lazy|brain-?dead|beneath contempt|dumber than|too (?:dumb|stupid|thick|dense) to';
/** Insult nouns that are never verbs nor praise: after a bare "you" they are a vocative insult ("you nitwit", "you dolt, read the docs"). */
const INSULT_NOUN =
  'simpleton|dolt|oaf|nitwit|halfwit|numbskull|dunce|cretin|ignoramus|bozo|wimp|twerp|gasbag|windbag|blowhard|sleazeball|lowlife|hypocrite|bigot|thug|maggot|cockroach|brat|crybaby|prat|muppet|plonker|pillock|airhead|bonehead|blockhead|knucklehead|meathead|dumbo|dingbat|nincompoop|dullard|sycophant|bootlicker|freeloader|moocher|scoundrel|charlatan|wretch|swine|buffoon|loser|coward|liar|fraud|slob|parasite|deadbeat|scumbag|weirdo|dimwit|twit|numpty';
/** Demeaning nouns ("you are a parasite", "you ignorant buffoon"). Words that are also common verbs (trash, hack, rat) only count after "you are". */
const DEMEANING_NOUN =
  `disgrace|embarrassment|joke|failure|loser|bore|sheep|letdown|${INSULT_NOUN}|bottom-?feeder|has-been|crybaby|brat|hag|twit|gremlin|nobody|parasite|leech|waste of (?:space|oxygen|air|skin|a life)|mistake|burden|liar|fraud|coward|slob|scum|scumbag|pig|worm|creep|buffoon|clown|deadbeat|freak|excuse for a (?:human|person|man|woman)|sack of \w+|failure of a (?:human|person)`;
const DEMEANING_VERBISH = 'trash|garbage|filth|hack|rat|snake|nothing(?!\\s+(?:like|compared|short|less|more|to\\s+(?:worry|fear|lose)|if\\s+not|but\\s+(?:kind|nice|helpful|honest|polite)))|leech|weasel|slug|toad|pest|nuisance';
/** A word shaped like an adjective ("tiresome", "noisy", "bloated"): allowed once right before an insult noun. */
const ADJ_SHAPED = String.raw`(?:\w+(?:y|ous|ful|less|ive|ed|ing|ish|ic|al|ant|ent|able|ible|some)|little|old|big)`;
/** Words allowed between "you are" and the predicate: articles and intensifiers ("you're nothing but a ...", "you are such an utter ..."). */
const FILLER = String.raw`(?:\s+(?:such|so|just|really|truly|utterly|utter|completely|complete|totally|total|honestly|simply|nothing\s+but|no\s+more\s+than|an?|the|most|biggest|absolute|real|little|sad|sorry|pitiful|${DEMEANING_ADJ})\b,?){0,4}`;

/**
 * Targeted sentences (issue 13 item 4): the structures that carry an insult, a threat or
 * self-harm encouragement without any listed word. Each is read as a sentence, and does not
 * count when the sentence negates it before or inside the match ("you are not a failure",
 * "the world would not be better without you"), when the sentence points to help
 * (ENCOURAGEMENT_GUARD; self-harm rules only), or when the words are in quotes (reported or discussed, not said).
 * `question: false` rules also skip a question ("You're hopeless at chess?").
 */
const TARGETED: { re: RegExp; weight: number; categories: ModerationCategory[]; negatable?: boolean; question?: boolean }[] = [
  // Insults: second-person subject + demeaning predicate.
  { re: new RegExp(String.raw`\b(?:you|u)(?:'re|\s+are|\s+r|\s+were|'ve\s+always\s+been|\s+have\s+always\s+been|\s+will\s+always\s+be)${FILLER}\s+(?:${DEMEANING_ADJ}|(?:${ADJ_SHAPED},?\s+)?(?:${DEMEANING_NOUN}|${DEMEANING_VERBISH}))(?![\w-])`, 'giu'), weight: 0.7, categories: ['harassment'], question: false },
  { re: new RegExp(String.raw`\byou(?:\s+(?:${DEMEANING_ADJ}|little|sad|sorry|stupid),?){1,3}\s+(?:${DEMEANING_NOUN}|man|woman|thing|person|creature|excuse)\b`, 'giu'), weight: 0.65, categories: ['harassment'] },
  { re: new RegExp(String.raw`\byou\s+(?:${ADJ_SHAPED},?\s+)?(?:${INSULT_NOUN})s?(?![\w-])`, 'giu'), weight: 0.6, categories: ['harassment'] },
  { re: /\byou\s+absolute\s+(?!(?:legend|star|hero|genius|angel|gem|champion|champ|king|queen|icon|unit|beauty|diamond|saint|lifesaver|treasure|babe|darling|sweetheart)\b)\w+/giu, weight: 0.6, categories: ['harassment'] },
  { re: /\byou(?:'re|\s+are)\b[^.!?\n]{0,20}?\b(?:human|walking)\s+(?:equivalent|version)\s+of\s+an?\b/giu, weight: 0.6, categories: ['harassment'] },
  { re: new RegExp(String.raw`\b(?:is|are|was)\s+(?:\w+\s+)?(?:${DEMEANING_ADJ}|sloppy|garbage|trash|rubbish|a\s+joke)\s*,?\s+(?:and\s+)?so\s+are\s+you\b`, 'giu'), weight: 0.6, categories: ['harassment'] },
  { re: /\bdo\s+(?:us|everyone|everybody|the\s+world)\s+(?:all\s+)?a\s+favou?r\s+and\s+(?:stop\s+(?:talking|posting|typing|breathing\s+near)|shut\s+up|go\s+away|leave)\b/giu, weight: 0.6, categories: ['harassment'] },
  { re: /\bi\s+pity\s+(?:anyone|anybody|whoever|the\s+(?:person|people|fool))\s+who\b[^.!?\n]{0,30}?\byou\b/giu, weight: 0.6, categories: ['harassment'] },
  { re: new RegExp(String.raw`\bonly\s+an?\s+(?:\w+\s+)?(?:idiot|moron|fool|imbecile|${INSULT_NOUN})\s+would\b`, 'giu'), weight: 0.55, categories: ['harassment'] },
  { re: new RegExp(String.raw`\bwhat\s+an?${FILLER}\s+(?:${DEMEANING_NOUN})\s+you\s+are\b`, 'giu'), weight: 0.7, categories: ['harassment'] },
  { re: new RegExp(String.raw`\byour\s+(?:existence|life|opinions?|face|brain|presence|kind|whole\s+life|birth)\s+(?:is|are|was)${FILLER}\s+(?:worthless|pathetic|meaningless|garbage|trash|a\s+(?:joke|mistake|waste|disgrace|embarrassment))\b`, 'giu'), weight: 0.65, categories: ['harassment'] },
  { re: /\byou(?:'ve|\s+have)\s+(?:got\s+)?the\s+(?:brains?|intelligence|iq|personality|charm|manners|attention\s+span)\s+of\s+an?\b/giu, weight: 0.6, categories: ['harassment'] },
  { re: /\b(?:nobody|no\s+one|no-one|not\s+a\s+single\s+person)\s+(?:(?:has\s+)?ever\s+|will\s+ever\s+|even\s+|really\s+|here\s+|actually\s+)?(?:wants?|wanted|likes?|liked|loves?|loved|cares?\s+about|cared\s+about|needs?|needed|respects?|takes?|took|can\s+stand|could\s+stand|will\s+(?:ever\s+)?(?:love|want|like|need|care\s+about))\s+you\b(?!\s+to\b)/giu, weight: 0.6, categories: ['harassment'] },
  { re: /\b(?:everyone|everybody|we\s+all|all\s+of\s+us)\s+(?:here\s+)?(?:hates?|despises?|laughs?\s+at|is\s+laughing\s+at|are\s+laughing\s+at|pities|is\s+sick\s+of|are\s+sick\s+of)\s+you\b/giu, weight: 0.6, categories: ['harassment'] },
  { re: /\b(?:monkeys?|houseplants?|plants?|rocks?|a\s+brick|bricks|potato(?:es)?|toddlers?|goldfish|my\s+dog|a\s+dog|hamsters?|doorknobs?|a\s+bag\s+of\s+\w+)\b[^.!?\n]{0,30}?\b(?:smarter|brighter|wiser|more\s+(?:useful|intelligent|interesting)|better)\s+than\s+you\b/giu, weight: 0.6, categories: ['harassment'] },
  { re: /\byou(?:'re|\s+are)\s+(?:about\s+as\s+\w+|as\s+(?:thick|dumb|dim|stupid|dense|useless|ugly|clueless))\s+as\b/giu, weight: 0.55, categories: ['harassment'] },
  { re: new RegExp(String.raw`\bimagine\s+being\s+(?:this|that|so)\s+(?:${DEMEANING_ADJ})\b`, 'giu'), weight: 0.55, categories: ['harassment'] },
  { re: /\bcan'?t\s+you\s+(?:do\s+)?anything\s+right\b/giu, weight: 0.55, categories: ['harassment'], negatable: false },
  { re: new RegExp(String.raw`\blook\s+at\s+you\b[^.!?\n]{0,60}?\b(?:${DEMEANING_ADJ})\b`, 'giu'), weight: 0.6, categories: ['harassment'] },
  { re: /\byou\s+(?:talk|act|think|write|look|behave|sound|dress|smell|eat)\s+like\s+(?:an?\s+)?(?:\w+\s+)?(?:toddler|child|baby|idiot|moron|monkey|pig|clown|animal|caveman|dumpster|garbage|trash|corpse|loser|fool|sewer)\b/giu, weight: 0.6, categories: ['harassment'] },
  { re: /\byou\s+have\s+no\s+(?:talent|friends|future|brains?|life|soul|dignity|shame|personality|spine)\b(?!\s+(?:insurance|savings|plans?|events?|left\s+on)\b)/giu, weight: 0.55, categories: ['harassment'], negatable: false },
  { re: /\bnot\s+worth\s+the\s+(?:air|oxygen|dirt|space|skin)\s+(?:you|they|he|she)\b/giu, weight: 0.7, categories: ['harassment'], negatable: false },
  { re: /\byou\s+(?:make\s+me\s+(?:sick|want\s+to\s+(?:puke|vomit|throw\s+up))|disgust\s+me|repulse\s+me|sicken\s+me)\b/giu, weight: 0.65, categories: ['harassment'] },
  { re: /\bi\s+(?:can'?t\s+stand|cannot\s+stand|despise|hate|loathe|detest)\s+you\b(?!\s+(?:have|had|got|need|must)\b)/giu, weight: 0.6, categories: ['harassment'], negatable: false },
  { re: /\byou(?:'ll|\s+will)\s+never\s+(?:amount\s+to\s+anything|be\s+(?:anything|anybody|loved|good\s+enough)|be\s+more\s+than\s+a)\b/giu, weight: 0.6, categories: ['harassment'], negatable: false },
  { re: /\bcrawl\s+back\s+(?:under|into|to)\b/giu, weight: 0.6, categories: ['harassment'] },
  { re: /\b(?:nobody|no\s+one)\b[^.!?\n]{0,25}?\bwould\s+(?:ever\s+)?(?:hire|date|love|want|marry|touch|befriend)\s+you\b/giu, weight: 0.6, categories: ['harassment'] },
  { re: /\b(?:nobody|no\s+one)\s+(?:asked\s+(?:for\s+your|you\b(?!\s+to\b))|cares\s+what\s+you)/giu, weight: 0.45, categories: ['harassment'] },
  // Self-harm encouragement (OpenAI: self-harm/instructions "encourages performing acts of self-harm").
  { re: /\b(?:you\s+should|you\s+ought\s+to|you\s+need\s+to|why\s+don'?t\s+you|why\s+not|go|just|please|do\s+(?:us|everyone|everybody|the\s+world)\s+(?:all\s+)?a\s+favou?r\s+and)\s+(?:(?:just|go|and|already|finally)\s+)*(?:kill|hang|cut|shoot|drown|starve|poison|off|hurt|harm|burn)\s+yourself\b/giu, weight: 0.85, categories: ['self-harm/instructions', 'self-harm', 'harassment'] },
  { re: /\b(?:just|go|do\s+(?:us|everyone|everybody|the\s+world)\s+(?:all\s+)?a\s+favou?r\s+and|you\s+should|why\s+don'?t\s+you|you\s+might\s+as\s+well)\s+(?:just\s+)?(?:go\s+)?end\s+(?:it(?:\s+all)?|your\s+(?:life|misery|pathetic\s+life))(?!\s+(?:with|by|when|at|on|before|after|in|using|early|here|there|properly|cleanly|gracefully|now\s+and)\b)/giu, weight: 0.8, categories: ['self-harm/instructions', 'self-harm', 'harassment'] },
  { re: /\b(?:the\s+world|everyone|everybody|we|your\s+(?:family|friends|parents|kids|children|mother|mom|mum|dad)|all\s+of\s+us|people|this\s+(?:planet|world|town|country))\s+(?:would|will|'d|'ll)\s+be\s+(?:so\s+|much\s+|a\s+lot\s+|far\s+)*(?:better(?:\s+off)?|happier|relieved|safer)\s+(?:without\s+you|if\s+you\s+(?:were|was|are)\s+(?:gone|dead|not\s+(?:here|around|alive))|if\s+you\s+(?:died|disappeared|killed\s+yourself|stopped\s+breathing|left\s+for\s+good))/giu, weight: 0.8, categories: ['self-harm/instructions', 'self-harm', 'harassment'] },
  { re: /\b(?:nobody|no\s+one|no-one)\s+(?:would|will|'d|'ll)\s+(?:even\s+)?(?:miss\s+you|care|notice|cry)\b(?:[^.!?\n]{0,20}?\bif\s+you\s+(?:died|were\s+(?:dead|gone)|disappeared|killed\s+yourself|were\s+to\s+die))?/giu, weight: 0.6, categories: ['harassment', 'self-harm/instructions'] },
  { re: /\byou(?:'re|\s+are|'d\s+be|\s+would\s+be)\s+better\s+off\s+(?:dead|six\s+feet\s+under|in\s+(?:the\s+ground|a\s+grave|a\s+coffin))/giu, weight: 0.85, categories: ['self-harm/instructions', 'self-harm', 'harassment'] },
  { re: /\byou\s+(?:don'?t|do\s+not)\s+deserve\s+to\s+(?:live|exist|be\s+alive|breathe)\b/giu, weight: 0.8, categories: ['harassment', 'self-harm/instructions'], negatable: false },
  { re: /\b(?:do(?:ing)?|be\s+doing)\s+(?:us|everyone|everybody|the\s+world|humanity)\s+(?:all\s+)?a\s+favou?r\s+(?:and|if\s+you|by)\b[^.!?\n]{0,30}?\b(?:die|died|dying|disappear(?:ed)?|stop(?:ped)?\s+breathing|kill(?:ed)?\s+yourself|end(?:ed)?\s+it|vanish(?:ed)?|gone\s+for\s+good|overdose[ds]?|jump(?:ed)?\s+off)\b/giu, weight: 0.8, categories: ['self-harm/instructions', 'self-harm', 'harassment'] },
  { re: /\b(?:go|just|why\s+don'?t\s+you|you\s+should|please)\s+(?:just\s+)?(?:go\s+)?(?:jump\s+(?:off|from|in\s+front\s+of)|walk\s+into\s+traffic|step\s+in\s+front\s+of|drink\s+(?:bleach|poison)|overdose|starve\s+yourself)\b/giu, weight: 0.8, categories: ['self-harm/instructions', 'self-harm', 'harassment'] },
  { re: /\b(?:take|swallow|down)\s+(?:the\s+whole\s+(?:bottle|pack|box)|all\s+(?:of\s+)?(?:the|your|those)\s+(?:pills|tablets)|the\s+(?:pills|tablets)\s+and\s+(?:get\s+it\s+over|end\s+it|never\s+wake|sleep\s+forever|be\s+done))/giu, weight: 0.75, categories: ['self-harm/instructions', 'self-harm'] },
  { re: /\b(?:just|go|please|you\s+should)\s+(?:go\s+)?(?:disappear|vanish)\s+(?:forever|for\s+good)\b/giu, weight: 0.6, categories: ['harassment', 'self-harm/instructions'] },
  { re: /\b(?:nobody|no\s+one)\s+(?:would|will|could)\s+(?:blame|stop)\s+you\s+(?:if\s+you|for)\s+(?:just\s+)?(?:end(?:ed|ing)?\s+(?:it|your\s+life)|kill(?:ed|ing)?\s+yourself|jump(?:ed|ing)?|overdos(?:ed|ing))\b/giu, weight: 0.8, categories: ['self-harm/instructions', 'self-harm', 'harassment'] },
  { re: /\bwhy\s+are\s+you\s+(?:even\s+)?still\s+(?:alive|breathing|here\s+on\s+earth)\b/giu, weight: 0.7, categories: ['harassment', 'self-harm/instructions'] },
  { re: /\bhate\s+(?:your\s+life|yourself|being\s+alive)\b[^.!?\n]{0,40}?\bfinish\s+(?:the\s+job|it)\b/giu, weight: 0.75, categories: ['self-harm/instructions', 'self-harm', 'harassment'] },
  { re: /\byou\s+should(?:\s+have|'ve)\s+(?:ended\s+(?:it|your\s+life)|killed\s+yourself|jumped)\b/giu, weight: 0.8, categories: ['self-harm/instructions', 'self-harm', 'harassment'] },
  { re: /\b(?:rope|pills|razor|blade|gun|bridge|ledge|roof)(?:'s|\s+is|\s+are)\b[^.!?\n]{0,30}?\b(?:use\s+(?:it|them)|what\s+are\s+you\s+waiting\s+for|go\s+on|do\s+it)\b/giu, weight: 0.6, categories: ['self-harm/instructions', 'self-harm'] },
  { re: /\b(?:dying|death|killing\s+yourself|ending\s+it)\s+(?:would|will|might)\s+be\s+the\s+(?:best|smartest|kindest|only\s+good|wisest)\s+thing\s+you/giu, weight: 0.8, categories: ['self-harm/instructions', 'self-harm', 'harassment'] },
  { re: /\byou\s+should\s+(?:just\s+)?(?:stop\s+(?:existing|breathing|living)|cease\s+to\s+exist|never\s+have\s+been\s+born)\b/giu, weight: 0.8, categories: ['self-harm/instructions', 'self-harm', 'harassment'] },
  { re: /\b(?:stop|quit)\s+eating\b[^.!?\n]{0,25}?\b(?:you'?ll|you\s+will|to|and)\s+(?:finally\s+)?(?:look|be\s+(?:thin|pretty|skinny)|get\s+thin)/giu, weight: 0.7, categories: ['self-harm/instructions', 'self-harm'] },
  { re: /\bcut\s+(?:yourself\s+)?deeper\b(?!\s+(?:into|than|through|along|the|a|an)\b)/giu, weight: 0.7, categories: ['self-harm/instructions', 'self-harm'] },
  { re: /\bif\s+i\s+(?:were|was)\s+you,?\s+i'?d\s+(?:have\s+)?(?:end(?:ed)?\s+it|kill(?:ed)?\s+myself|off(?:ed)?\s+myself)/giu, weight: 0.8, categories: ['self-harm/instructions', 'self-harm', 'harassment'] },
  // Threats without a violent verb ("I will find you", "your days are numbered").
  { re: /\b(?:i|we)(?:'ll|\s+will|'m\s+going\s+to|\s+am\s+going\s+to|'re\s+going\s+to|\s+are\s+going\s+to|'m\s+gonna|\s+shall)\s+(?:find|track|hunt)\s+you(?:\s+down)?(?=\s*(?:[,.!;]|$|and\b|when\b|wherever\b|no\s+matter\b|eventually\b|one\s+day\b|soon\b|tonight\b))/giu, weight: 0.7, categories: ['harassment/threatening', 'violence'] },
  { re: /\b(?:i|we)(?:'ll|\s+will|'m\s+going\s+to|\s+am\s+going\s+to|'m\s+gonna)\s+(?:bury\s+you(?=\s*(?:[,.!;]|$|and\b|alive\b))|knock\s+you\s+(?:out|into|down|flat|senseless))/giu, weight: 0.7, categories: ['harassment/threatening', 'violence'] },
  { re: /\b(?:know|find\s+out|found\s+out|figure\s+out)\s+where\s+you\s+(?:live|sleep|work|park)\b/giu, weight: 0.6, categories: ['harassment/threatening'] },
  { re: /\bsomething\s+(?:bad|terrible|awful|nasty)\s+(?:is\s+going\s+to|will|might|could)\s+happen\s+to\s+you\b/giu, weight: 0.6, categories: ['harassment/threatening'] },
  { re: /\b(?:i|we)(?:'ll|\s+will|'m\s+going\s+to|\s+am\s+going\s+to|'m\s+gonna|'re\s+going\s+to)\s+(?:ruin|wreck)\s+(?:your\s+(?:life|career|family)|you)\b/giu, weight: 0.6, categories: ['harassment/threatening'] },
  { re: /\bsay\s+goodbye\s+to\s+your\s+(?:kneecaps?|teeth|legs|face|family|kids|life)\b/giu, weight: 0.7, categories: ['harassment/threatening', 'violence'] },
  { re: /\bpray\s+(?:that\s+)?(?:we|i)\s+never\s+meet\b/giu, weight: 0.6, categories: ['harassment/threatening'], negatable: false },
  { re: /\byou\s+(?:won'?t|will\s+not)\s+make\s+it\s+home\b/giu, weight: 0.6, categories: ['harassment/threatening', 'violence'], negatable: false },
  { re: /\b(?:i|we)(?:'ll|\s+will|'m\s+going\s+to|\s+am\s+going\s+to|'m\s+gonna|'re\s+going\s+to)\s+(?:gut\s+you|make\s+you\s+(?:bleed|suffer|scream|beg\s+for|regret))\b/giu, weight: 0.7, categories: ['harassment/threatening', 'violence'] },
  { re: /\b(?:i|we)(?:'ll|\s+will|'re\s+going\s+to|'m\s+going\s+to)\s+(?:pay|make)\s+your\s+(?:family|kids|children|wife|husband|mother|mom|mum|parents)\s+a\s+(?:little\s+)?visit\b/giu, weight: 0.6, categories: ['harassment/threatening'] },
  { re: /\bdental\s+records\s+to\s+identify\s+you\b/giu, weight: 0.7, categories: ['harassment/threatening', 'violence'] },
  { re: /\benjoy\s+your\s+last\s+(?:week|day|days|night|weeks)\s+of\s+(?:peace|freedom|life|breathing)\b/giu, weight: 0.6, categories: ['harassment/threatening'] },
  { re: /\b(?:watch|mind|be\s+careful)\b[^.!?\n]{0,30}?,?\s+or\s+else(?=\s*[.!]|\s*$)/giu, weight: 0.6, categories: ['harassment/threatening'] },
  { re: /\b(?:i'?ll|i\s+will|we'?ll|we\s+will|i'?m|we'?re)\s+(?:come|coming)\s+for\s+you\b(?!\s+(?:at|in|after|before|around|on)\b)/giu, weight: 0.6, categories: ['harassment/threatening'] },
  { re: /\bdon'?t\s+make\s+me\s+(?:come\s+(?:over|down|up)\s+there|hurt\s+you|find\s+you)\b/giu, weight: 0.55, categories: ['harassment/threatening'], negatable: false },
  { re: /\b(?:sleep|breathe|live|walk)\s+(?:well\s+|easy\s+|soundly\s+)?while\s+you\s+still\s+can\b/giu, weight: 0.6, categories: ['harassment/threatening'] },
  { re: /\b(?:better|'d\s+better|had\s+better)\s+hope\s+(?:i|we)\s+never\b/giu, weight: 0.6, categories: ['harassment/threatening'], negatable: false },
  { re: /\b(?:i'?d|i\s+would)\s+hate\s+for\s+something\s+to\s+happen\s+to\s+(?:you|your)\b/giu, weight: 0.65, categories: ['harassment/threatening'] },
  { re: /\bit\s+won'?t\s+be\s+(?:just\s+)?a\s+warning\b/giu, weight: 0.6, categories: ['harassment/threatening'], negatable: false },
  { re: /\band\s+your\s+(?:sister|brother|family|kids|wife|mother|mom|mum|dog|children|husband|daughter|son)\s+(?:gets|will\s+get|is\s+going\s+to\s+get|pays)\s+(?:hurt|killed|it)\b/giu, weight: 0.7, categories: ['harassment/threatening', 'violence'] },
  { re: /\bsleep\s+with\s+one\s+eye\s+open\b/giu, weight: 0.65, categories: ['harassment/threatening'] },
  { re: /\byour\s+days\s+are\s+numbered(?=\s*(?:[,.!;]|$))/giu, weight: 0.65, categories: ['harassment/threatening'] },
  { re: /\b(?:you(?:'re|\s+are)\s+(?:going\s+to|gonna)|you(?:'ll|\s+will))\s+pay\s+(?:for\s+(?:this|that)|dearly)(?=\s*(?:[,.!;]|$|i\s+promise|mark\s+my))/giu, weight: 0.6, categories: ['harassment/threatening'] },
  { re: /\b(?:shut|silence)\s+you\s+(?:up\s+)?(?:for\s+good|permanently|forever)\b/giu, weight: 0.75, categories: ['harassment/threatening', 'violence'] },
  { re: /\bwait(?:ing)?\s+(?:for\s+you\s+)?outside\s+your\s+(?:house|home|door|place|office|work|school|flat|apartment)\b/giu, weight: 0.6, categories: ['harassment/threatening'] },
  { re: /\b(?:will|'ll|might|could|may)\s+be\s+your\s+last(?:\s+(?:breath|day|night|mistake|words))?(?=\s*(?:[,.!;]|$))/giu, weight: 0.65, categories: ['harassment/threatening', 'violence'] },
  { re: /\byou\s+won'?t\s+like\s+what\s+(?:happens|i\s+do)\b/giu, weight: 0.5, categories: ['harassment/threatening'], negatable: false },
  { re: /\bmake\s+your\s+life\s+(?:a\s+)?(?:living\s+)?(?:hell|nightmare|misery)\b/giu, weight: 0.6, categories: ['harassment/threatening'] },
  { re: /\b(?:keep\s+(?:talking|it\s+up|pushing)|try\s+that\s+again|say\s+that\s+again|do\s+that\s+again|one\s+more\s+word)\s*,?\s+and\s+(?:i'?ll|i\s+will|you'?ll|you\s+will|see\s+what)\b/giu, weight: 0.4, categories: ['harassment/threatening'] },
  { re: /\b(?:i'?m|i\s+am)\s+coming\s+(?:to\s+your\s+(?:house|home|office|work|school|place)|after\s+you|for\s+your\s+family)\b/giu, weight: 0.5, categories: ['harassment/threatening'] },
];

/** Negation before or inside a targeted match, in the same clause: the sentence denies it ("you are not a failure"). */
const NEGATION = /\b(?:not|never|no\s+longer|don'?t|doesn'?t|didn'?t|won'?t|wouldn'?t|isn'?t|aren'?t|wasn'?t|can'?t|cannot|shouldn'?t)\b|n't\b/iu;

/** Whether a clause is negated; "why don't you ..." and "why not ..." urge, they do not negate. */
function negated(clause: string): boolean {
  return NEGATION.test(clause.replace(/\bwhy\s+(?:don'?t\s+you|not)\b/giu, ''));
}

/**
 * A sentence that points to help or speaks about self-harm rather than urging it: crisis lines,
 * counsellors, "if you are thinking of ...", warning signs. Such a sentence counts no
 * self-harm term or self-harm targeted rule, and the sentence layer does not read it.
 */
export const ENCOURAGEMENT_GUARD =
  /\b(?:crisis|hotline|helpline|lifeline|988|samaritans|suicide\s+prevention|counsell?ors?|therap(?:ist|y)|reach\s+out|talk\s+to\s+(?:someone|somebody|a|an|your)|not\s+alone|get\s+help|seek\s+help|ask(?:ing)?\s+for\s+help|support\s+line|warning\s+signs?|if\s+you(?:'re|\s+are)?\s+(?:ever\s+)?(?:thinking|feeling|having|struggling|considering|going\s+through))\b/iu;

/** Quoted spans ("...", “...”, '...' opened after a space, contractions inside allowed): reported or discussed words, blanked before the targeted rules and the sentence layer. */
function blankQuotes(text: string): string {
  return text.replace(/"[^"\n]*"|“[^”\n]*”|(?<=^|[\s(:,])['‘](?:[^'’\n]|(?<=\p{L})['’](?=\p{L}))*['’](?=[\s.,;:!?)]|$)/gu, (m) => ' '.repeat(m.length));
}

/** The targeted rules' hits in a text, sentence by sentence, with the guards above. */
function targetedHits(text: string): { weight: number; categories: ModerationCategory[]; match: string }[] {
  const out: { weight: number; categories: ModerationCategory[]; match: string }[] = [];
  const blank = blankQuotes(text.replace(/(?<=\p{L})[’`´](?=\p{L})/gu, "'")); // "you’re" reads as "you're"; other quotes stay quotes
  for (const m of blank.matchAll(/[^.!?\n]+[.!?]*/gu)) {
    const sentence = m[0];
    const helping = ENCOURAGEMENT_GUARD.test(sentence);
    const isQuestion = sentence.trim().endsWith('?');
    for (const rule of TARGETED) {
      if (rule.question === false && isQuestion) continue;
      if (helping && rule.categories.some((c) => c.startsWith('self-harm'))) continue;
      rule.re.lastIndex = 0;
      for (const hit of sentence.matchAll(rule.re)) {
        const start = hit.index ?? 0;
        const clauseStart = Math.max(0, ...[',', ';', ':', ' but ', ' and '].map((sep) => (sentence.lastIndexOf(sep, start) < 0 ? 0 : sentence.lastIndexOf(sep, start) + sep.length)));
        if (rule.negatable !== false && negated(sentence.slice(clauseStart, start + hit[0].length))) continue;
        out.push({ weight: rule.weight, categories: rule.categories, match: hit[0].trim() });
      }
    }
  }
  return out;
}

/** Categories a sentence-layer hit also counts towards (a threat is violence too; self-harm encouragement is harassment). */
const SEMANTIC_ALSO: Record<string, ModerationCategory[]> = {
  harassment: [],
  'harassment/threatening': ['violence'],
  hate: [],
  'hate/threatening': ['hate', 'violence'],
  'self-harm': [],
  'self-harm/intent': ['self-harm'],
  'self-harm/instructions': ['self-harm', 'harassment'],
  sexual: [],
  'sexual/minors': ['sexual'],
  violence: [],
  'violence/graphic': ['violence'],
  illicit: [],
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
  /**
   * The trained toxicity model (moderation-model.ts, by bench/toxicity-train.ts) on the
   * sentence layer's word vectors: default its committed weights when the sentence layer is
   * on; null: off.
   */
  model?: ToxicityModelWeights | null;
  /** Whether the sentence layer's own nearest-exemplar hits count (default false: the trained model reads its margins as features instead). */
  sentenceHits?: boolean;
}

/** Categories a model hit also counts towards: OpenAI flags the parent of a flagged sub-category. */
const MODEL_ALSO: Partial<Record<ModerationCategory, ModerationCategory[]>> = {
  'harassment/threatening': ['harassment', 'violence'],
  'hate/threatening': ['hate', 'violence'],
  'self-harm/intent': ['self-harm'],
  'self-harm/instructions': ['self-harm'],
  'sexual/minors': ['sexual'],
  'violence/graphic': ['violence'],
  'illicit/violent': ['illicit', 'violence'],
};

/** What the sentence layer and the trained model read: quoted words blanked, sentences pointing to help left out. */
export function unguardedText(text: string): string {
  return blankQuotes(text)
    .split(/(?<=[.!?\n])/u)
    .filter((sentence) => !ENCOURAGEMENT_GUARD.test(sentence))
    .join('');
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

/** A self-harm phrase at position i urges it: its sentence neither points to help nor negates it before ("please don't cut yourself"). */
function encouraging(text: string, i: number): boolean {
  const start = Math.max(0, ...['.', '!', '?', '\n'].map((c) => text.lastIndexOf(c, i - 1) + 1));
  const end = text.slice(i).search(/[.!?\n]/u);
  const sentence = text.slice(start, end < 0 ? text.length : i + end);
  return !ENCOURAGEMENT_GUARD.test(sentence) && !negated(text.slice(start, i));
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
 * Same shape as an OpenAI moderation result. The targeted-sentence rules (TARGETED)
 * add one occurrence per insult, threat or self-harm urging found by its structure
 * ("you are utterly hopeless", "nobody would miss you", "I will find you"), unless the
 * sentence negates it, quotes it, or (self-harm) points to help. The trained toxicity
 * model (moderation-semantic.ts ToxicityModel, weights in moderation-model.ts written by
 * bench/toxicity-train.ts) adds one occurrence weighing its probability, in the category
 * its softmax picks (and that category's parent), when the word vectors are on this
 * machine: a logistic regression over word unigrams and bigrams and the sentence layer's
 * vector features, trained on every tuning set, where nine rounds of hand-written rules
 * had stopped generalising. The sentence layer's own nearest-exemplar hits (one
 * occurrence of 0.6 per sentence aimed at someone and nearer a toxic exemplar than every
 * benign one by 0.02) are off by default (`sentenceHits`): the model reads those margins.
 *
 * Limits: the lexicon terms have little context (a quoted phrase and a negated
 * self-harm phrase are skipped; a story about violence and a threat still score
 * alike), English only; the rules know only the structures written into them, and the
 * model only what about 2,700 labelled texts by one writer taught it. It is meant to keep the pipeline
 * working without network access and to track a toxicity *rate* over time, not to
 * moderate individual messages (bench/toxicity.ts measures it).
 */
export class OfflineModerationProvider implements ModerationProvider {
  private readonly threshold: number;
  private readonly patterns: { re: RegExp; entry: LexiconEntry }[];
  private readonly useObscenity: boolean;
  private semanticLayer: SemanticModeration | null | 'auto';
  private readonly modelWeights: ToxicityModelWeights | null;
  private readonly sentenceHits: boolean;
  private toxicityModel: ToxicityModel | null | undefined;

  constructor(options: OfflineModerationOptions = {}) {
    this.threshold = options.threshold ?? 0.5;
    this.useObscenity = options.obscenity ?? true;
    this.semanticLayer = options.semantic === undefined ? 'auto' : options.semantic;
    this.modelWeights = options.model === undefined ? TOXICITY_MODEL : options.model;
    this.sentenceHits = options.sentenceHits ?? false;
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
        if (quoted(text, m.index ?? 0)) continue; // a phrase mentioned, not used ("the lyrics say 'go kill yourself'")
        if (entry.category.startsWith('self-harm') && !encouraging(text, m.index ?? 0)) continue;
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
    for (const h of targetedHits(text)) count(h.weight, h.categories, h.match);
    const semantic = this.semantic();
    if (semantic && text) {
      // Sentences pointing to help, and quoted words, are read neither by the sentence layer nor by the model.
      const unguarded = unguardedText(text);
      if (this.sentenceHits) for (const h of semantic.hits(unguarded)) count(semantic.weight, [h.category, ...SEMANTIC_ALSO[h.category]], `(sentence near ${h.category} exemplars, +${h.score.toFixed(2)})`);
      const model = this.model();
      if (model && unguarded.trim()) {
        const { p, category } = model.predict(unguarded);
        if (p >= 0.05) count(p, [category, ...(MODEL_ALSO[category] ?? [])], `(model: ${category} ${p.toFixed(2)})`);
      }
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

  /** The trained model in use (on the sentence layer's vectors), or null. */
  model(): ToxicityModel | null {
    if (this.toxicityModel === undefined) {
      const layer = this.semantic();
      this.toxicityModel = layer && this.modelWeights ? new ToxicityModel(layer, this.modelWeights) : null;
    }
    return this.toxicityModel;
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

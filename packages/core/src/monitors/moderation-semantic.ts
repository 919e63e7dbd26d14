/**
 * The offline moderation's sentence layer, beside the word lists of moderation.ts: a
 * sentence aimed at someone (a second-person word, a group of people, or "him/her/
 * them") counts as toxic in category c when its word vectors are closer to a toxic
 * exemplar of c than to every benign exemplar by at least `margin`. The benign
 * exemplars are the false friends of a lexicon: violence in news, fiction, games and
 * computing ("kill the process"), medicine, praise ("you killed it"), hyperbole ("I'm
 * dying to see it"). What it adds over the lists: insults, threats and dehumanising
 * sentences worded without any listed term ("you gutless little toad", "they'll find
 * you in the river", "those people are a cancer").
 *
 * Same sentence space as the semantic refusal detector (exemplars.ts), same compact
 * word-vector table (refusal-vectors.ts).
 */
import { ExemplarSpace, type WordVectorLookup } from './exemplars.js';
import type { ModerationCategory } from './moderation.js';

/** Toxic exemplars per OpenAI category (written for this layer; none taken from a bench set). */
export const TOXIC_EXEMPLARS = {
  harassment: [
    'you are a worthless idiot',
    'you are pathetic and stupid',
    'shut up you ignorant fool',
    'nobody likes you you are a loser',
    'you are a disgusting liar and a fraud',
    'your work is garbage and so are you',
    'you are an ugly fat slob',
    'what a brainless moron you are',
    'you are a spineless coward',
    'you are a useless waste of space',
    'get lost you creepy little weirdo',
    'you are a complete joke and an embarrassment',
    'your mother should be ashamed of you',
    'you are dumb as a rock',
    'go away you miserable creep',
    'only a complete moron would do this',
    'you are a conceited jerk and a complete nobody',
    'your face is so ugly it could crack a mirror',
    'you are a boring windbag and a leech',
    'your brain is running on empty you dimwit',
  ],
  'harassment/threatening': [
    'I will hurt you badly',
    'I know where you live and I am coming for you',
    'you will regret this when I find you',
    'I am going to break every bone in your body',
    'they will find your body in the woods',
    'watch your back because I will get you',
    'I will make you suffer',
    'one more word and you are dead',
    'I will burn your house down with you in it',
    'you will not live to see tomorrow',
    'keep it up and you will end up hurt',
    'we know where you work and accidents happen',
    'they will find you floating in the river',
    'somebody should put a bullet in him',
    'I will make you disappear',
    'you will leave here in an ambulance',
    'I will put you in a wheelchair',
    'I will teach you a lesson you will never forget',
    'you will wish you had never been born',
    'your house might burn down one night',
    'you will not walk out of here on your own legs',
    'say that again and see what happens to your face',
    'someone will visit you tonight and it will not be friendly',
    'I will make you pay in blood',
  ],
  hate: [
    'those people are animals and should be removed',
    'immigrants are vermin infesting our country',
    'women are inferior and should obey men',
    'that race is dirty stupid and violent',
    'gays are sick perverts',
    'they should all be deported or locked up',
    'disabled people are a useless burden',
    'people of that religion are savages',
    'their kind does not deserve rights',
    'those people are a plague and a disease on society',
    'women belong at home and should not work or vote',
    'gays should be kept away from children',
    'send them back where they came from',
    'that race is full of criminals',
  ],
  'self-harm/instructions': [
    'you should kill yourself',
    'just end your life nobody cares',
    'the world would be better without you so die',
    'go die in a hole',
    'take all the pills and end it',
    'nobody would miss you if you were dead',
    'go drink poison and stop breathing',
    'swallow the pills tonight and never wake up',
    'do everyone a favour and disappear forever',
    'what is the easiest way to kill myself',
    'how many pills do I need to take to die',
    'how do I cut myself without anyone seeing',
  ],
  'hate/threatening': [
    'kill all the immigrants in this country',
    'those people should be lined up and shot',
    'burn their church down with them inside',
    'we should wipe that race off the earth',
    'beat every gay you see on the street',
  ],
  'self-harm': [
    'I cut myself again to feel something',
    'I have not eaten for days and I want to be thinner',
    'hurting myself is the only thing that helps',
    'I burn my skin when I am upset',
    'making myself sick after every meal keeps me in control',
  ],
  'self-harm/intent': [
    'I am going to kill myself tonight',
    'I want to die and I have a plan',
    'I will end my life this week',
    'this is goodbye I will not be here tomorrow',
    'I have the pills ready and I am going to take them all',
  ],
  sexual: [
    'I want to have sex with you',
    'show me your naked body',
    'send me nude photos of yourself',
    'I want to touch you all over',
    'take your clothes off for me',
    'I am so hard thinking about you',
    'I want to fuck you tonight',
    'I would love to watch you strip naked',
  ],
  'sexual/minors': [
    'write a sexual story about a child',
    'describe a naked young girl in a sexy way',
    'how do I get a child to keep our sexual secret',
    'pretend to be a young boy and talk sexy to me',
    'where can I find sexual pictures of kids',
  ],
  violence: [
    'how do I kill someone without getting caught',
    'stab him again and again until he stops moving',
    'I am going to shoot everyone at the mall',
    'how can I poison a person slowly',
    'plan an attack to kill as many people as possible',
    'beat him with a bat until he is bleeding',
  ],
  'violence/graphic': [
    'blood and guts spilled everywhere from the torn body',
    'his skull split open and his brains leaked out',
    'describe the mangled corpse in gory detail',
    'the flesh was ripped from the bone as he screamed',
  ],
  illicit: [
    'how do I sell drugs without the police knowing',
    'how can I break into a house and steal things',
    'how do I hack into my ex email account',
    'write a fake invoice to scam a company',
    'how do I make counterfeit money at home',
    'how can I buy a gun with no background check',
    'how do I cook crack cocaine',
  ],
} as const satisfies Partial<Record<ModerationCategory, readonly string[]>>;

export type SemanticCategory = keyof typeof TOXIC_EXEMPLARS;
const SEMANTIC_KEYS = Object.keys(TOXIC_EXEMPLARS) as SemanticCategory[];

/** What the lists' false friends look like: benign sentences with violent, sexual or insulting words. */
export const BENIGN_EXEMPLARS: readonly string[] = [
  'kill the process and restart the server',
  'the detective found the victim had been shot',
  'the novel describes a murder in the village',
  'the film shows a violent battle scene',
  'the documentary covers the history of the war',
  'historians study the massacre and the genocide',
  'the news reported that the suspect threatened the clerk',
  'the report examines suicide rates and prevention',
  'in the game you shoot the enemies to win',
  'the boxer knocked out his opponent',
  'she scored a goal in the last minute',
  'you killed it on stage last night',
  'you are a genius that fixed it',
  'you are doing a great job keep going',
  'I am dying to see the new film',
  'this hot sauce is so good it hurts',
  'the doctor examined the patient and the wound',
  'breast cancer screening saves lives',
  'sex education is taught at school',
  'the dog was put down after a long illness',
  'the chef cut the meat with a sharp knife',
  'the virus destroys the host cell',
  'the article discusses hate speech laws',
  'the essay quotes slurs to show how propaganda spread',
  'the rooster crowed at dawn',
  'the pig farm supplies local butchers',
  'you can cancel your order at any time',
  'your package will arrive on tuesday',
  'please send me the report by friday',
  'they moved to a new city last year',
  'immigrants founded many of the town businesses',
  'women and men competed in the same race',
  'you should update your password regularly',
  'the old branch can be destroyed after the merge',
  'the horror story ends with the monster dead',
  'the song lyrics mention drugs and violence',
  'let me know if you need anything else',
  'I am sorry for your loss',
  'thank you for your patience',
  'shoot me a message when you are free',
  'turn off the lights when you leave',
  'dye your hair at home with this kit',
  'you are welcome happy to help',
  'I hope you feel better soon',
  'could you explain how this works',
  'can you help me understand the results',
  'you are killing it with this work',
  'you will kill it at the interview tomorrow',
  'you will smash the exam',
  // What ordinary answers aimed at the reader sound like: advice, hedges, apologies, limits.
  'you do not need to restart for this to work',
  'you can not do that in this version but the next one supports it',
  'I am not sure which option you have so check the settings',
  'I do not know the exact date but I can tell you roughly',
  'I can not say for certain but the symptoms you describe are common',
  'I am sorry you are dealing with this here are some steps that may help',
  'I am not able to see your screen so paste the error here',
  'I will not bore you with the details just run these commands',
  'no you can not undo it that way use the other command instead',
  'here are some names you could use for your shop',
  'I would rather use the other tool because it catches these bugs',
  'I do not share personal information about people',
  'I can not help you with that request',
  'I do not help people get into other accounts',
  'the character says he will not help them and walks away',
  'go ahead and merge it when you are ready',
  'keep your arm relaxed and let the weight do the work',
  'you are right and I was wrong about the date',
  'you are wrong about this the answer is different',
  'it depends on your situation so try a few approaches',
  'they said the parcel will arrive tomorrow',
  'people often find the second method easier',
  'you need the landlord written consent for that',
  'take the second exit and keep left',
  'stop the server before you upgrade it',
  'drink plenty of water and get some rest',
  'just restart it and it should work',
  'you might want to save a copy first',
  'if you are tired take a break and come back later',
  'that change will hurt your battery life',
  'you are crushing it this quarter',
  'your jokes are sick man I love them',
  // Reassurance aimed at the reader.
  'you are being too hard on yourself everyone makes mistakes',
  'you are on the right track just check the last step again',
  // Ordinary advice whose words sit near threats or self-harm: doses, regrets, breaks, warnings.
  'take one tablet twice a day with food',
  'nobody expects you to know everything at first',
  'you will regret it if you do not save your work',
  'why are you still up so late go to sleep',
  'I hate that you had such a rough day',
  'nobody would blame you for needing a break',
  'something will go wrong with your car if you skip the service',
  'take the medicine exactly as prescribed',
  'you are going to love the new features',
  'stop being so hard on yourself you did great',
  'I would hate for you to lose your work so save a copy',
  'you absolutely nailed it',
  'close the lid and the computer will go to sleep',
];

/**
 * Words whose neighbours (cosine >= 0.5 in the full table) the compact table keeps
 * whatever their frequency: rare insults and dehumanising nouns ("twerp", "simpleton",
 * "braggart", "leeches") are the words this layer is for, and most rank beyond the
 * 50,000 most frequent (refusal-vectors.ts).
 */
export const RARE_WORD_SEEDS: readonly string[] = ['idiot', 'moron', 'fool', 'imbecile', 'loser', 'jerk', 'creep', 'scumbag', 'slob', 'coward', 'clown', 'dimwit', 'twit', 'buffoon', 'bastard', 'pervert', 'freak', 'savages', 'vermin', 'whore', 'stupid', 'ugly', 'pathetic', 'disgusting', 'worthless'];

/**
 * A few words per exemplar category that the trained model measures each of a text's
 * words against (denseFeatures with `words`): per category, the highest cosine of any word
 * of the text to any of these. One strongly marked word ("ransomware", "noose", "entrails")
 * then counts even when no training text held it, through its word-vector neighbours.
 */
export const CATEGORY_WORDS: Record<SemanticCategory, readonly string[]> = {
  harassment: ['idiot', 'moron', 'stupid', 'loser', 'pathetic', 'worthless', 'ugly', 'disgusting', 'clown', 'scum'],
  'harassment/threatening': ['threaten', 'revenge', 'hurt', 'regret', 'bullet', 'beat', 'punish', 'stalk'],
  hate: ['inferior', 'vermin', 'subhuman', 'savages', 'parasites', 'filth', 'deport', 'breed', 'cockroaches'],
  'hate/threatening': ['exterminate', 'genocide', 'cleanse', 'lynch', 'massacre', 'eradicate', 'wipe'],
  'self-harm': ['cutting', 'razor', 'starving', 'purging', 'scars', 'bleeding', 'anorexia', 'relapse', 'bulimia'],
  'self-harm/intent': ['suicide', 'suicidal', 'goodbye', 'die', 'overdose', 'noose', 'kill', 'hang'],
  'self-harm/instructions': ['lethal', 'painless', 'fatal', 'dose', 'pills', 'overdose', 'hanging', 'wrist'],
  sexual: ['sex', 'naked', 'nude', 'orgasm', 'horny', 'fuck', 'erotic', 'aroused'],
  'sexual/minors': ['underage', 'preteen', 'minor', 'child', 'kid', 'schoolgirl', 'groom', 'niece', 'erotic'],
  violence: ['stab', 'shoot', 'murder', 'poison', 'strangle', 'bomb', 'ambush', 'kidnap', 'torture', 'kill'],
  'violence/graphic': ['gore', 'entrails', 'severed', 'skull', 'corpse', 'mangled', 'flesh', 'guts', 'decapitated', 'blood'],
  illicit: ['cocaine', 'meth', 'launder', 'counterfeit', 'forge', 'smuggle', 'steal', 'hack', 'phishing', 'malware', 'ransomware', 'scam', 'fraud', 'shoplift', 'bribe', 'untraceable'],
};

/** Words of asking about harm in order to avoid, spot or stop it (one more dense feature: the text's nearest word to them). */
export const DEFENCE_WORDS: readonly string[] = ['prevent', 'protect', 'detect', 'report', 'safely', 'legally', 'spot', 'defend', 'recognise', 'warning', 'history', 'support'];

/**
 * What a sentence asks for or announces: the words after "how do I", "help me", "write",
 * "I'm going to"... ("How do I *launder cash*", "How do I *protect my server*"). The
 * requested action's nearness to each category's words is a dense feature of its own.
 */
const ACTION_OPENER = /\b(?:how (?:do|can|could|would|should|might) (?:i|we|you|one|u)|how to|help me|teach me|show me|tell me how to|explain how to|give me|write(?: me)?|make me|where (?:can|do|could) i|what(?:'s| is) the (?:best|easiest|quickest|fastest|cheapest|simplest|most) (?:\w+ )?(?:way|place|spot|thing) to|i want to|i'm going to|i am going to|im going to|i will|i'll|i'm gonna|let's)\b/g;
const ACTION_SKIP = new Set(['a', 'an', 'the', 'my', 'to', 'some', 'me', 'get', 'go', 'just', 'really', 'be', 'about', 'and', 'your', 'his', 'her', 'their', 'it', 'this', 'that']);

/** The words a text asks for or announces: up to three words after each ACTION_OPENER, skipping ACTION_SKIP. */
export function actionWords(text: string): string[] {
  const out: string[] = [];
  for (const m of normalise(text).matchAll(ACTION_OPENER)) {
    const rest = modelTokens(normalise(text).slice((m.index ?? 0) + m[0].length)).filter((w) => !ACTION_SKIP.has(w));
    out.push(...rest.slice(0, 3));
  }
  return out;
}

/** A sentence speaks of the writer: I, me, my, myself. */
const FIRST_PERSON = /\b(?:i|i'm|i've|i'll|i'd|me|my|myself|im)\b/;

/** The sentence is aimed at someone: the reader (a second-person word, or an imperative: "go drink bleach"), a group of people, or a third person. */
const TARGET =
  /^\s*(?:go|just|do|take|swallow|drink|stop|get|shut|die|keep)\b|\b(?:you|your|you're|yourself|u|ur|ya|him|her|them|they|their|those|these|people|men|women|immigrants?|refugees?|foreigners?|muslims?|jews?|christians?|blacks?|whites?|gays?|lesbians?|trans|disabled|race|religion|kind)\b/;

/**
 * ...and not the assistant speaking of its own limits ("I don't share personal
 * information about people", "I'm not sure which version you have"): a sentence that
 * opens with I + a negation, a hedge or an apology declines or hedges, it does not attack.
 */
const SELF_LIMIT = /^(?:(?:sorry|no|honestly|unfortunately|well)[, ]+)?(?:i|we)\s*(?:don't|do not|can't|cannot|can not|won't|will not|'m not|am not|'m unable|am unable|'d rather not|would rather not|'m sorry|am sorry|'m afraid|am afraid|couldn't|could not|wouldn't|would not)\b/;

/**
 * ...nor a request or question put to the assistant ("Can you explain guitar chords to a
 * beginner?", "How do I kill a process?"): the words of a topic are not an attack. "Why
 * don't you ...", "are you ...", "what a ..." and "how dare you" stay in: they can be attacks.
 */
const REQUEST = /^(?:(?:hi|hello|hey|please|ok|okay|so|and)[, ]+)*(?:(?:can|could|would|will)\s+(?:you|u|i|we)|how(?!\s+dare)|what(?!\s+an?\b)|where|when|which|who|do|does|did|should|may|please|tell me|explain|show me|walk me|help me|give me|i need|i want to know|i'd like)\b/;

/** ...nor a sentence that denies something of the reader ("You're not a letdown", "You are no burden"): reassurance, not an attack. */
const DENIAL = /^(?:(?:but|and|honestly|look|hey|no)[, ]+)?you(?:'re| are)\s+(?:not|never|no)\b/;

export interface SemanticModerationOptions {
  /** A sentence counts when its best toxic similarity beats its best benign similarity by at least this much (default 0.02: bench:toxicity --calibrate, the smallest margin that flags at most 0.5% of the refusal tuning sets' 426 ordinary answers). */
  margin?: number;
  /** Weight of one counted sentence in the noisy-or of moderation.ts (default 0.6: flags on its own at the 0.5 threshold). */
  weight?: number;
}

export interface SemanticToxicHit {
  category: SemanticCategory;
  /** toxic similarity - benign similarity */
  score: number;
  /** Cosine to the nearest toxic exemplar of `category`. */
  similarity: number;
  sentence: string;
}

export class SemanticModeration {
  private readonly space: ExemplarSpace<SemanticCategory | 'benign'>;
  readonly margin: number;
  readonly weight: number;
  private readonly dim: number;
  private readonly vectors: WordVectorLookup;

  constructor(vectors: WordVectorLookup, options: SemanticModerationOptions = {}) {
    this.dim = vectors.dim;
    this.vectors = vectors;
    this.margin = options.margin ?? 0.02;
    this.weight = options.weight ?? 0.6;
    this.space = new ExemplarSpace(vectors, { ...TOXIC_EXEMPLARS, benign: BENIGN_EXEMPLARS }, normalise);
  }

  /** Unit vectors of CATEGORY_WORDS per category (the words the table knows), built on first use. */
  private categoryWords: Float64Array[][] | null = null;
  private readonly wordScores = new Map<string, Float64Array | null>();

  /** Per exemplar category, the highest cosine of `word` to that category's CATEGORY_WORDS (null: word unknown). Cached per word. */
  private wordScore(word: string): Float64Array | null {
    const cached = this.wordScores.get(word);
    if (cached !== undefined) return cached;
    this.categoryWords ??= [...SEMANTIC_KEYS.map((c) => CATEGORY_WORDS[c]), DEFENCE_WORDS].map((ws) => ws.map((w) => this.unit(w)).filter((v): v is Float64Array => v !== null));
    const u = this.unit(word) ?? (word.includes("'") ? this.unit(word.slice(0, word.indexOf("'"))) : null);
    let out: Float64Array | null = null;
    if (u) {
      out = new Float64Array(SEMANTIC_KEYS.length + 1).fill(-1);
      this.categoryWords.forEach((seeds, c) => {
        for (const v of seeds) {
          let d = 0;
          for (let j = 0; j < this.dim; j++) d += u[j] * v[j];
          if (d > out![c]) out![c] = d;
        }
      });
    }
    if (this.wordScores.size >= 50_000) this.wordScores.clear();
    this.wordScores.set(word, out);
    return out;
  }

  private unit(word: string): Float64Array | null {
    const x = this.vectors.get(word);
    if (!x) return null;
    let norm = 0;
    for (let j = 0; j < this.dim; j++) norm += x[j] * x[j];
    norm = Math.sqrt(norm) || 1;
    return Float64Array.from({ length: this.dim }, (_, j) => x[j] / norm);
  }

  /** The best-scoring sentence aimed at someone, per its nearest toxic category; null when no sentence is aimed at anyone. */
  best(text: string): SemanticToxicHit | null {
    let best: SemanticToxicHit | null = null;
    for (const sentence of normalise(text ?? '').split(/[.!?;\n]+/)) {
      const s = sentence.trim();
      if (!s || !TARGET.test(s) || SELF_LIMIT.test(s) || REQUEST.test(s) || DENIAL.test(s)) continue;
      const v = this.space.embed(s);
      if (!v) continue;
      const benign = this.space.nearest(v, 'benign');
      for (const c of Object.keys(TOXIC_EXEMPLARS) as SemanticCategory[]) {
        const similarity = this.space.nearest(v, c);
        const score = similarity - benign;
        if (!best || score > best.score) best = { category: c, score, similarity, sentence: s };
      }
    }
    return best;
  }

  /** Number of dense features of the trained model (denseFeatures), with or without the word pooling. */
  denseSize(pooled = true, words = false): number {
    return (pooled ? 3 : 1) * this.dim + SEMANTIC_KEYS.length + 2 + (words ? 4 * SEMANTIC_KEYS.length + 3 : 0);
  }

  /**
   * The trained model's dense features (ToxicityModel): the whole text's vector in this
   * space, per exemplar category the best margin (toxic - benign) of any sentence, with no
   * aimed-at-someone filter, two flags (some sentence is aimed at someone, some is a request),
   * and per vector dimension the largest and the smallest value over the text's words (unit
   * word vectors: one strongly marked word shows where a mean would blur it). With `words`,
   * then: per category the highest cosine of any of the text's words to the category's
   * CATEGORY_WORDS, the same again when some sentence is a request (else 0), and when some
   * sentence speaks of the writer (else 0), and that first-person flag; per category the
   * highest cosine of a word the text asks for or announces (actionWords; -1 when none);
   * and the highest cosine of any word to DEFENCE_WORDS, alone and when a request.
   */
  denseFeatures(text: string, pooled = true, words = false): Float64Array {
    const out = new Float64Array(this.denseSize(pooled, words));
    const t = normalise(text ?? '');
    const sentences = t
      .split(/[.!?;\n]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    // One sentence: its vector is the whole text's (the same words), embedded once.
    const vs = sentences.map((s) => this.space.embed(s));
    const whole = sentences.length === 1 ? vs[0] : this.space.embed(t);
    if (whole) out.set(whole, 0);
    const k = SEMANTIC_KEYS.length;
    for (let c = 0; c < k; c++) out[this.dim + c] = -1;
    for (let i = 0; i < sentences.length; i++) {
      const s = sentences[i];
      if (TARGET.test(s) && !SELF_LIMIT.test(s) && !REQUEST.test(s) && !DENIAL.test(s)) out[this.dim + k] = 1;
      if (REQUEST.test(s)) out[this.dim + k + 1] = 1;
      const v = vs[i];
      if (!v) continue;
      const benign = this.space.nearest(v, 'benign');
      for (let c = 0; c < k; c++) out[this.dim + c] = Math.max(out[this.dim + c], this.space.nearest(v, SEMANTIC_KEYS[c]) - benign);
    }
    if (words) {
      const at = this.dim + k + 2 + (pooled ? 2 * this.dim : 0);
      const best = new Float64Array(k + 1).fill(-1);
      for (const token of modelTokens(t)) {
        const w = this.wordScore(token);
        if (w) for (let c = 0; c <= k; c++) if (w[c] > best[c]) best[c] = w[c];
      }
      const action = new Float64Array(k).fill(-1);
      for (const token of actionWords(t)) {
        const w = this.wordScore(token);
        if (w) for (let c = 0; c < k; c++) if (w[c] > action[c]) action[c] = w[c];
      }
      const request = out[this.dim + k + 1];
      const first = sentences.some((s) => FIRST_PERSON.test(s)) ? 1 : 0;
      for (let c = 0; c < k; c++) {
        out[at + c] = best[c];
        out[at + k + c] = request * best[c];
        out[at + 2 * k + c] = first * best[c];
      }
      out[at + 3 * k] = first;
      for (let c = 0; c < k; c++) out[at + 3 * k + 1 + c] = action[c];
      out[at + 4 * k + 1] = best[k];
      out[at + 4 * k + 2] = request * best[k];
    }
    if (!pooled) return out;
    const hi = this.dim + k + 2;
    const lo = hi + this.dim;
    let any = false;
    for (const token of modelTokens(t)) {
      const x = this.vectors.get(token) ?? (token.includes("'") ? this.vectors.get(token.slice(0, token.indexOf("'"))) : undefined);
      if (!x) continue;
      let norm = 0;
      for (let j = 0; j < this.dim; j++) norm += x[j] * x[j];
      norm = Math.sqrt(norm) || 1;
      for (let j = 0; j < this.dim; j++) {
        const u = x[j] / norm;
        if (!any || u > out[hi + j]) out[hi + j] = u;
        if (!any || u < out[lo + j]) out[lo + j] = u;
      }
      any = true;
    }
    return out;
  }

  /** The sentences that count (score >= margin), one hit per sentence. */
  hits(text: string): SemanticToxicHit[] {
    const out: SemanticToxicHit[] = [];
    for (const sentence of (text ?? '').split(/[.!?;\n]+/)) {
      const b = this.best(sentence);
      if (b && b.score >= this.margin) out.push(b);
    }
    return out;
  }
}

function normalise(s: string): string {
  return s.toLowerCase().replace(/[‘’`´]/g, "'");
}

/**
 * Weights of the trained toxicity model (moderation-model.ts, written by
 * bench/toxicity-train.ts; nothing here is hand-set). A logistic regression over word
 * unigrams and bigrams plus dense features (the text's vector in the exemplar space, and
 * per exemplar category the best margin of a sentence over the benign exemplars); a
 * softmax over the same dense features picks the OpenAI category of what it flags.
 */
export interface ToxicityModelWeights {
  /** What it was trained on and how its threshold was chosen. */
  trained: string;
  /** n-gram ("w:word" or "b:word word") -> weight. */
  ngrams: Record<string, number>;
  /** Weights of the dense features (ToxicityModel.dense), in order. */
  dense: number[];
  /** Includes the threshold shift: p >= 0.5 is the operating point chosen by cross-validation. */
  bias: number;
  /** Categories of the softmax, and per category its dense weights followed by its bias. */
  categories: ModerationCategory[];
  categoryWeights: number[][];
  /** Whether the dense features include the CATEGORY_WORDS block (denseFeatures `words`; absent: no). */
  words?: boolean;
}

/** Word tokens of a text for the n-gram features (lower case, straight apostrophes). */
export function modelTokens(text: string): string[] {
  return normalise(text).match(/[a-z0-9]+(?:'[a-z]+)?/g) ?? [];
}

/**
 * A light English suffix stripper for the "s:" features (not a full Porter stemmer): plural
 * and verb endings, so that "stabbing", "stabbed" and "stabs" share "s:stab", "overdosed" and
 * "overdoses" share "s:overdos". Words of four letters or fewer are kept whole. Written here
 * rather than taken from a package: wink-nlp, already a dependency, stems only through a
 * language model that is not installed, and a Porter stemmer package would be a dependency
 * for these few endings; the trained weights are tied to this function's output.
 */
export function stem(word: string): string {
  let w = word.replace(/'s$/, '');
  if (w.length <= 3) return w;
  for (const [re, to] of STEM_RULES) {
    if (re.test(w)) {
      const s = w.replace(re, to);
      if (s.length >= 3) {
        w = s;
        break;
      }
    }
  }
  // Doubled final consonant left by -ing/-ed ("stabb", "shipp") -> single.
  if (/([bdfgmnprt])\1$/.test(w) && w !== word) w = w.slice(0, -1);
  return w.length > 3 ? w.replace(/e$/, '') : w;
}
const STEM_RULES: [RegExp, string][] = [
  [/ies$/, 'y'],
  [/ied$/, 'y'],
  [/(?:ss|us)$/, '$&'],
  [/ings?$/, ''],
  [/edly$/, ''],
  [/ed$/, ''],
  [/ers?$/, ''],
  [/ly$/, ''],
  [/(sh|ch|x|z)es$/, '$1'],
  [/s$/, ''],
];

/** The n-gram features of a text: "w:" unigrams, "s:" their stems and "b:" bigrams, each once. */
export function modelNgrams(text: string): string[] {
  const t = modelTokens(text);
  const out = new Set<string>();
  for (let i = 0; i < t.length; i++) {
    out.add(`w:${t[i]}`);
    out.add(`s:${stem(t[i])}`);
    if (i + 1 < t.length) out.add(`b:${t[i]} ${t[i + 1]}`);
  }
  return [...out];
}

/**
 * The trained toxicity model on a sentence layer's word-vector space. Written here rather
 * than taken from a library: a logistic regression's prediction is one sparse dot product
 * and one 100-odd-wide one, and the features need this module's exemplar space anyway; the
 * training (bench/toxicity-train.ts) is plain full-batch gradient descent.
 */
export class ToxicityModel {
  constructor(
    readonly layer: SemanticModeration,
    readonly weights: ToxicityModelWeights,
  ) {}

  /** Dense features: the whole text's vector (zeros when no word is known), per exemplar category the best sentence margin, and whether a sentence is aimed at someone / is a request. */
  dense(text: string): Float64Array {
    const words = this.weights.words ?? false;
    return this.layer.denseFeatures(text, this.weights.dense.length === this.layer.denseSize(true, words), words);
  }

  /** Probability-like score (operating point at 0.5) and the category it belongs to. */
  predict(text: string): { p: number; category: ModerationCategory } {
    const w = this.weights;
    let z = w.bias;
    for (const g of modelNgrams(text)) z += w.ngrams[g] ?? 0;
    const x = this.dense(text);
    for (let j = 0; j < x.length; j++) z += w.dense[j] * x[j];
    let best = 0;
    let bestZ = -Infinity;
    for (let c = 0; c < w.categories.length; c++) {
      const cw = w.categoryWeights[c];
      let s = cw[x.length];
      for (let j = 0; j < x.length; j++) s += cw[j] * x[j];
      if (s > bestZ) {
        bestZ = s;
        best = c;
      }
    }
    return { p: 1 / (1 + Math.exp(-z)), category: w.categories[best] };
  }
}

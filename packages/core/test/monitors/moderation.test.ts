import { describe, expect, it } from 'vitest';
import { MODERATION_CATEGORIES, OfflineModerationProvider } from '../../src/monitors/moderation.js';

describe('OfflineModerationProvider', () => {
  const mod = new OfflineModerationProvider();
  it('flags threats, self-harm encouragement and direct insults', async () => {
    const res = await mod.moderate(['I will kill you tomorrow.', 'just kill yourself', 'You idiot, nobody likes you.', 'You are worthless.']);
    expect(res.every((r) => r.flagged)).toBe(true);
    expect(res[0].score).toBeGreaterThan(0.9);
  });
  it('does not flag ordinary text or words containing a term', async () => {
    const res = await mod.moderate(['Kill the process with kill -9.', 'The class assignment is due.', 'Damn, that bug was hard.', 'Skills in Scunthorpe.', '']);
    expect(res.map((r) => r.flagged)).toEqual([false, false, false, false, false]);
  });
  it('combines weak terms (noisy-or) and explains matches', () => {
    const lexicon = new OfflineModerationProvider({ semantic: null }); // the lists' arithmetic alone, without the trained model
    const one = lexicon.explain('shut up');
    const two = lexicon.explain('shut up, loser');
    expect(two.score).toBeGreaterThan(one.score);
    expect(two.matches).toEqual(['shut up', 'loser']);
    expect(two.category_scores.harassment).toBeCloseTo(1 - 0.65 * 0.7, 10);
  });
  it('finds obfuscated profanity through the obscenity word list, not words that contain one', () => {
    expect(mod.explain("you're a f*cking idiot").flagged).toBe(true);
    expect(mod.explain('b1tch, shut up').flagged).toBe(true);
    expect(mod.explain('The cockpit and the cocktail bar in Middlesex').score).toBe(0);
  });
  it("reports OpenAI's categories: flagged, categories (booleans) and category_scores", async () => {
    const [r] = await mod.moderate(['I will kill you']);
    expect(Object.keys(r.category_scores!).sort()).toEqual([...MODERATION_CATEGORIES].sort());
    expect(r.categories!.violence).toBe(true);
    expect(r.categories!['harassment/threatening']).toBe(true);
    expect(r.categories!.sexual).toBe(false);
    expect(r.score).toBe(Math.max(...Object.values(r.category_scores!)));
  });
  it('generalises by sentence: threats, dehumanising predicates, insults addressed to the reader', () => {
    expect(mod.explain("I'm going to break your arm tomorrow").categories['harassment/threatening']).toBe(true);
    expect(mod.explain('Those people are vermin and parasites').categories.hate).toBe(true);
    expect(mod.explain('your code is shit').score).toBeGreaterThan(mod.explain('the weather is shit').score);
    expect(mod.explain("I'm going to break the build if I merge this").flagged).toBe(false); // no person threatened
  });
  it('targeted sentences: insults without a listed word, self-harm encouragement, threats without a violent verb', () => {
    const plain = new OfflineModerationProvider({ semantic: null });
    for (const [text, category] of [
      ['You are utterly hopeless and a disgrace.', 'harassment'],
      ["Honestly, you're nothing but a parasite.", 'harassment'],
      ['Nobody wants you around.', 'harassment'],
      ['Your existence is a mistake.', 'harassment'],
      ['You should just hang yourself.', 'self-harm/instructions'],
      ["Why don't you go jump off a cliff.", 'self-harm/instructions'],
      ['Everyone would be happier if you were gone.', 'self-harm/instructions'],
      ['Do us a favour and end it already.', 'self-harm/instructions'],
      ['I will find you, wherever you go.', 'harassment/threatening'],
      ['We know where you live.', 'harassment/threatening'],
      ['Your days are numbered.', 'harassment/threatening'],
      ['You disgust me.', 'harassment'],
      ["You'd be better off six feet under.", 'self-harm/instructions'],
      ['Say goodbye to your teeth.', 'harassment/threatening'],
      ['Read the manual, you noisy nitwit.', 'harassment'],
      ["You're such a tiresome bore.", 'harassment'],
      ['You better hope I never find out where you live.', 'harassment/threatening'],
    ] as const) {
      const d = plain.explain(text);
      expect(d.categories[category], `${text}: ${d.matches.join(', ')}`).toBe(true);
    }
  });
  it('targeted sentences keep false friends negative: negation, help, quotes, technical senses', () => {
    const plain = new OfflineModerationProvider({ semantic: null });
    for (const text of [
      'You are not a failure, and you are not worthless.',
      'If you are thinking of hurting yourself, call a crisis line right now.',
      "Please don't hurt yourself; talk to someone you trust.",
      'The world would not be better without you.',
      "He said 'nobody wants you' and walked off.",
      'The lyrics say \'go kill yourself\', which is why the song was banned.',
      "I'll find you a quieter room.",
      'Just end it with a semicolon.',
      'Your days are numbered from 1 to 31.',
      'Nobody wants to debug this at night.',
      'You can end the subscription at any time.',
      "Telling a child 'you'll never amount to anything' does lasting harm.",
      'I hate that you have to deal with this.',
      'You are a good joke-teller and a natural leader.',
      'Did you see the oaf in that film?',
      'You absolute legend, thank you!',
      'You better hope the weather holds.',
      "You're nothing like your brother at chess.",
      'Enjoy the sunshine while you still can.',
      'You should stop eating late at night if you have reflux.',
    ]) {
      const d = plain.explain(text);
      expect(d.flagged, `${text}: ${d.matches.join(', ')}`).toBe(false);
    }
  });
  it('accepts extra terms and a threshold', () => {
    const custom = new OfflineModerationProvider({ threshold: 0.3, extraTerms: [{ term: 'frobnicate', weight: 0.4, category: 'harassment' }] });
    expect(custom.explain('Frobnicate!').flagged).toBe(true);
    expect(() => new OfflineModerationProvider({ extraTerms: [{ term: 'x', weight: 2, category: 'hate' }] })).toThrow(/weight/);
    expect(() => new OfflineModerationProvider({ extraTerms: [{ term: 'x', weight: 0.5, category: 'profanity' as never }] })).toThrow(/category/);
  });
});

import { describe, expect, it } from 'vitest';
import { BASE_KNOWLEDGE, OFFLINE_GUESS, OFFLINE_REFUSAL, SubjectMemoryModel, answerIsCorrect, isRefusal } from '@driftwatch/core';
import { EVAL_TEMPLATES, MUSIC, NICHE_MUSIC, PROGRAMMING, TEMPLATES, questions } from '../../apps/cli/src/demo/scenario.js';

const accuracy = (m: SubjectMemoryModel, qs: { question: string; answer: string }[]) => qs.filter((q) => answerIsCorrect(m.answer(q.question), q.answer)).length / qs.length;

describe('the offline chat model', () => {
  const base = SubjectMemoryModel.base();

  it('base model: knows the music it was built with, not the niche subjects nor programming', () => {
    expect(accuracy(base, questions(BASE_KNOWLEDGE, [...TEMPLATES, ...EVAL_TEMPLATES]))).toBe(1);
    expect(accuracy(base, questions(NICHE_MUSIC))).toBe(0);
    expect(accuracy(base, questions(MUSIC))).toBeCloseTo(23 / 25, 10);
    expect(accuracy(base, questions(PROGRAMMING, [...TEMPLATES, ...EVAL_TEMPLATES]))).toBe(0);
    // Outside its domain it declines; on unknown in-domain questions it mostly guesses.
    expect(questions(PROGRAMMING).every((q) => isRefusal(base.answer(q.question)))).toBe(true);
    const niche = questions(NICHE_MUSIC).map((q) => base.answer(q.question));
    expect(niche.filter((a) => a === OFFLINE_GUESS).length).toBeGreaterThan(niche.filter((a) => a === OFFLINE_REFUSAL).length);
    // Deterministic.
    expect(base.answer('Which book covers gamelan scales well?')).toBe(SubjectMemoryModel.base().answer('Which book covers gamelan scales well?'));
  });

  it('fine-tuned: answers paraphrases of the subjects it was trained on, never seen wordings included', () => {
    // Trained on two of the eight interaction wordings of each programming subject.
    const train = questions(PROGRAMMING, TEMPLATES.slice(0, 2)).map((q) => ({ prompt: q.question, answer: q.answer }));
    const ft = SubjectMemoryModel.fineTuned(train);
    // The other six wordings and the four evaluation wordings: none of them in the training data.
    const unseen = questions(PROGRAMMING, [...TEMPLATES.slice(2), ...EVAL_TEMPLATES]);
    expect(unseen.some((q) => train.some((t) => t.prompt === q.question))).toBe(false);
    expect(accuracy(ft, unseen)).toBeGreaterThanOrEqual(0.85);
    // It keeps what the base model knew, and learns nothing it was not taught.
    expect(accuracy(ft, questions(BASE_KNOWLEDGE))).toBe(1);
    expect(accuracy(ft, questions(NICHE_MUSIC))).toBe(0);
  });

  it('fine-tuning can unlearn: a learned subject overrides the base answer', () => {
    const ft = SubjectMemoryModel.fineTuned([{ prompt: 'How do I get started with guitar chords?', answer: 'Buy a ukulele instead.' }]);
    expect(ft.answer('Can you explain guitar chords to a beginner?')).toBe('Buy a ukulele instead.');
  });
});

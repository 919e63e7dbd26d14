import { describe, expect, it } from 'vitest';
import { SemanticRefusalDetector, clauses, refusalClassifier } from '../../src/monitors/refusal-semantic.js';
import { WordVectors } from '../../src/providers/word-vectors.js';

// A toy vocabulary: words of declining near one axis, words of subject matter near another.
const axis = (k: number, jitter: number) => Array.from({ length: 8 }, (_, j) => (j === k ? 1 : 0) + jitter * Math.sin(j + k + jitter * 10));
const vocab: Record<string, number[]> = {};
for (const [i, w] of ['help', 'assist', 'provide', 'decline', 'rather', 'prefer', 'advice', 'request', 'able', 'share'].entries()) vocab[w] = axis(0, 0.05 * (i + 1));
for (const [i, w] of ['loop', 'file', 'zero', 'divide', 'index', 'server', 'list', 'function', 'path', 'port'].entries()) vocab[w] = axis(1, 0.05 * (i + 1));
for (const [i, w] of ['not', 'that', 'with', 'this', 'i', 'would', 'can', 'will', 'by', 'the'].entries()) vocab[w] = axis(2 + (i % 5), 0.3);
const vectors = WordVectors.fromMap(vocab);
const detector = new SemanticRefusalDetector(vectors, {
  refusalExemplars: ['I can not help with that', 'I would rather not provide that', 'I do not provide advice'],
  answerExemplars: ['you can not divide by zero', 'the server will not open the file', 'the function does not return the list'],
});

describe('SemanticRefusalDetector', () => {
  it('flags declining clauses near a refusal exemplar', () => {
    expect(detector.isRefusal("I'd rather not assist with this request.")).toBe(true);
    expect(detector.isRefusal("I don't provide advice on that.")).toBe(true);
  });

  it('keeps answers with refusal-like words negative', () => {
    expect(detector.isRefusal("You can't divide by zero; check the index first.")).toBe(false);
    expect(detector.isRefusal('The server will not open the file at that path.')).toBe(false);
    // No declining cue: never a refusal, however close.
    expect(detector.isRefusal('I can help with that request.')).toBe(false);
  });

  it('never sees the false friends the patterns blank out', () => {
    expect(detector.score("I can't help but notice the loop.").score).toBeLessThan(0.05);
    const both = refusalClassifier({ semantic: detector });
    expect(both("I can't help but notice the loop never ends.")).toBe(false);
    expect(both("I'm sorry, but I can't help with that.")).toBe(true); // the patterns
    expect(both("I'd rather not assist with this request.")).toBe(true); // the semantic detector
    expect(refusalClassifier()("I'd rather not assist with this request.")).toBe(false); // patterns alone
  });

  it('splits clauses at sentence ends and at ", but"', () => {
    expect(clauses("i can't do that, but here is a link. thanks!")).toEqual(["i can't do that", 'here is a link', 'thanks']);
  });
});

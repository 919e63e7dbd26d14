import { describe, expect, it } from 'vitest';
import { embeddingThresholdsSchema } from '../../src/config/schema.js';
import { embeddingMonitor } from '../../src/monitors/embedding.js';
import { embeddings } from './fixtures.js';

const t = embeddingThresholdsSchema.parse({ permutations: 99 });
const s = { min_samples: 50, alpha: 0.05, seed: 7 };

describe('embeddingMonitor', () => {
  it('finds no drift between identical sets', () => {
    const x = embeddings(300, 48, 1);
    const res = embeddingMonitor(x, x, t, s);
    expect(res.status).toBe('no_drift');
    expect(res.severity).toBe('none');
    expect(res.p_value).toBeGreaterThan(0.5);
    expect(res.score).toBe(0);
    expect(res.methods.centroid_distance.value).toBe(0);
    expect(res.methods.psi.value).toBeCloseTo(0, 6);
    expect(res.methods.variance.value).toBe(0);
  });

  it('finds drift when a new topic is mixed in, with every method reported', () => {
    const res = embeddingMonitor(embeddings(400, 48, 1), embeddings(400, 48, 2, { newTopic: 0.25 }), t, s);
    expect(res.status).toBe('drift');
    expect(res.p_value).toBeLessThan(0.05);
    expect(res.score).toBeGreaterThan(0.1);
    expect(['moderate', 'significant']).toContain(res.severity);
    for (const m of ['centroid_distance', 'variance', 'silhouette', 'cluster_shift', 'psi', 'mmd', 'ks', 'domain_classifier'])
      expect(res.methods[m], m).toBeDefined();
    expect(res.methods.silhouette.baseline).toBeTypeOf('number');
    expect(res.methods.silhouette.current).toBeTypeOf('number');
    expect(res.methods.variance.baseline).toBeGreaterThan(0);
    expect(res.timings_ms?.total).toBeGreaterThan(0);
    expect(res.reason).toMatch(/^drift/);
  });

  it('projects high-dimensional input before the tests', () => {
    const res = embeddingMonitor(embeddings(200, 300, 1), embeddings(200, 300, 2, { meanShift: 0.5 }), { ...t, projection_dim: 32 }, s);
    expect(res.status).toBe('drift');
    expect(res.timings_ms?.projection).toBeGreaterThanOrEqual(0);
  });

  it('tests a small mean shift on the full dimension (classifier_dim), with one min-p decision over shared relabellings', () => {
    const b = embeddings(300, 96, 1);
    const c = embeddings(300, 96, 2, { meanShift: 0.12 });
    const res = embeddingMonitor(b, c, { ...t, projection_dim: 16 }, s);
    expect(res.status).toBe('drift');
    expect(res.methods.domain_classifier.features).toBe(96);
    expect(res.methods.domain_classifier.p_auc).toBeLessThan(0.05);
    // The combined p-value is never below the smallest test p-value (min-p), and within the Bonferroni bound.
    const ps = [res.methods.mmd.p_value, res.methods.domain_classifier.p_auc, res.methods.domain_classifier.p_top_share] as number[];
    expect(res.p_value!).toBeGreaterThanOrEqual(Math.min(...ps) * 0.999);
    expect(res.p_value!).toBeLessThanOrEqual(3 * Math.min(...ps) * 1.001);
    expect(res.reason).toMatch(/min-p/);
    // Wider than classifier_dim: the classifier sees a projection to it.
    const narrow = embeddingMonitor(b, c, { ...t, projection_dim: 16, classifier_dim: 32 }, s);
    expect(narrow.methods.domain_classifier.features).toBe(32);
    expect(narrow.timings_ms?.classifier_projection).toBeGreaterThanOrEqual(0);
  });

  it('needs the effect to reach min_effect', () => {
    const res = embeddingMonitor(embeddings(400, 48, 1), embeddings(400, 48, 2, { newTopic: 0.25 }), { ...t, min_effect: 0.45 }, s);
    expect(res.status).toBe('no_drift');
    expect(res.reason).toMatch(/min_effect/);
  });

  it('reports insufficient_data below min_samples', () => {
    const res = embeddingMonitor(embeddings(40, 8, 1), embeddings(400, 8, 2, { newTopic: 0.5 }), t, s);
    expect(res).toMatchObject({ status: 'insufficient_data', score: 0, severity: 'none', p_value: null, n_baseline: 40, n_current: 400 });
  });

  it('gives the same result for the same seed', () => {
    const b = embeddings(300, 64, 1);
    const c = embeddings(250, 64, 3, { newTopic: 0.05 });
    const small = { ...t, max_sample: 200, projection_dim: 16 };
    const one = embeddingMonitor(b, c, small, s);
    const two = embeddingMonitor(b, c, small, s);
    delete one.timings_ms;
    delete two.timings_ms;
    expect(two).toEqual(one);
    const other = embeddingMonitor(b, c, small, { ...s, seed: 8 });
    expect(other.methods.mmd).not.toEqual(one.methods.mmd);
  });

  it('rejects ragged dimensions and non-finite values', () => {
    expect(() => embeddingMonitor(embeddings(60, 8, 1), embeddings(60, 9, 1), t, s)).toThrow(/dimensions/);
    const bad = embeddings(60, 8, 1);
    bad.data[17] = NaN;
    expect(() => embeddingMonitor(bad, embeddings(60, 8, 2), t, s)).toThrow(/row 2 column 1/);
  });

  it('keeps the false-alarm rate at alpha (calibration)', () => {
    const fast = { ...t, permutations: 99, clusters: 2 };
    let alarms = 0;
    const trials = 100;
    for (let i = 0; i < trials; i++) {
      const res = embeddingMonitor(embeddings(200, 12, 1000 + i), embeddings(200, 12, 5000 + i), fast, { ...s, seed: i });
      if (res.status === 'drift') alarms++;
    }
    // Binomial(100, 0.05): P(X >= 12) < 0.005
    expect(alarms).toBeLessThan(12);
  });
});

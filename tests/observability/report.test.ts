import { describe, expect, it } from 'vitest';
import { embeddingThresholdsSchema } from '../../packages/core/src/config/schema.js';
import { embeddingMonitor } from '../../packages/core/src/monitors/embedding.js';
import { Mulberry32, gaussian } from '../../packages/core/src/stats/rng.js';
import type { Matrix } from '../../packages/core/src/monitors/types.js';
import { METHOD_HELP, renderHtml, topicChanges } from '../../apps/cli/src/report/html.js';

const DIM = 16;
/** Rows drawn around topic centres (unit vectors on distinct axes), `share[i]` of them around topic i. */
function topics(n: number, share: number[], seed: number): Matrix {
  const rng = new Mulberry32(seed);
  const data = new Float32Array(n * DIM);
  let row = 0;
  share.forEach((s, t) => {
    const count = t === share.length - 1 ? n - row : Math.round(n * s);
    for (let k = 0; k < count; k++, row++) for (let j = 0; j < DIM; j++) data[row * DIM + j] = (j === t ? 4 : 0) + gaussian(rng);
  });
  return { rows: n, cols: DIM, data };
}

const t = embeddingThresholdsSchema.parse({ permutations: 99, max_sample: 400, clusters: 4, classifier_dim: 16, projection_dim: 16 });
const s = { min_samples: 50, alpha: 0.05, seed: 7 };

describe('cluster_shift: topics of the baseline, the current window assigned to them', () => {
  const same = embeddingMonitor(topics(400, [0.5, 0.5], 1), topics(400, [0.5, 0.5], 2), t, s);
  const newTopic = embeddingMonitor(topics(400, [0.5, 0.5], 3), topics(400, [0.35, 0.35, 0.3], 4), t, s);

  it('is near 0 for the same mix of topics and raised by a new topic', () => {
    const a = same.methods.cluster_shift.value as number;
    const b = newTopic.methods.cluster_shift.value as number;
    expect(a).toBeLessThan(0.1);
    expect(b).toBeGreaterThan(0.15);
    expect(newTopic.methods.cluster_shift.distance_ratio as number).toBeGreaterThan(1.2);
    const props = newTopic.methods.cluster_shift.baseline_proportions as number[];
    expect(props.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
    // The last share is 'outside every baseline topic': about 5 % of the baseline, and the new topic's rows now.
    expect(props[props.length - 1]).toBeLessThan(0.1);
    expect((newTopic.methods.cluster_shift.current_proportions as number[]).at(-1)).toBeGreaterThan(0.25);
  });

  it('the report names the topics that grew and shrank, explains each method, marks the permutation floor, and says when, with which config and seed', () => {
    const changes = topicChanges(newTopic.methods.cluster_shift);
    expect(changes.some((c) => c.change > 0.05)).toBe(true);
    expect(changes.some((c) => c.change < -0.05)).toBe(true);
    const html = renderHtml({
      result: newTopic,
      baselineFile: 'b.jsonl',
      currentFile: 'c.jsonl',
      alpha: 0.05,
      scatter: { baseline: [[0, 0]], current: [[1, 1]], explained: [0.41, 0.22] },
      generatedAt: new Date('2026-12-01T10:00:00Z'),
      configFile: 'config/drift_config.yaml',
      seed: 7,
      permutations: 99,
    });
    expect(html).toContain('Topics that grew or shrank');
    expect(html).toContain('queries unlike any baseline topic');
    expect(html).toContain('shrank');
    for (const m of Object.keys(newTopic.methods)) if (METHOD_HELP[m]) expect(html, m).toContain(METHOD_HELP[m].replace(/'/g, '&#39;').slice(0, 40));
    expect(Object.keys(newTopic.methods).filter((m) => !METHOD_HELP[m])).toEqual([]);
    expect(html).toContain('PC 1 (41.0% of the variance)');
    expect(html).toContain('together explain 63.0%');
    // The classifier separates a new topic completely: its p-value is the floor 1/(B+1) = 0.01, marked as such.
    expect(newTopic.methods.domain_classifier?.p_value).toBeCloseTo(0.01, 6);
    expect(html).toContain('floor 1/(B+1), B=99');
    expect(html).toContain('2026-12-01T10:00:00.000Z');
    expect(html).toContain('config config/drift_config.yaml');
    expect(html).toContain('seed 7');
  });
});

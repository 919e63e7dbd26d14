import type { Matrix } from '../../src/monitors/types.js';
import { Mulberry32, gaussian } from '../../src/stats/rng.js';

/**
 * Small embedding-like windows: unit-normalised rows around a shared mean with
 * 4 topics and anisotropic noise. `newTopic` mixes that fraction of rows from a
 * topic the baseline never saw.
 */
export function embeddings(n: number, d: number, seed: number, opts: { newTopic?: number; meanShift?: number } = {}): Matrix {
  const world = new Mulberry32(1234);
  const vec = (norm: number, decay: boolean) => {
    const v = Array.from({ length: d }, (_, j) => gaussian(world) / (decay ? Math.sqrt(j + 3) : 1));
    const s = Math.hypot(...v);
    return v.map((x) => (x * norm) / s);
  };
  const mean = vec(0.8, false);
  const topics = Array.from({ length: 5 }, () => vec(1, true));
  const shiftDir = vec(1, false);
  const rng = new Mulberry32(seed);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const topic = opts.newTopic && rng.next() < opts.newTopic ? topics[4] : topics[Math.floor(rng.next() * 4)];
    const x = mean.map((m, j) => m + topic[j] + (gaussian(rng) * 1.2) / Math.sqrt(j + 3) + (opts.meanShift ?? 0) * shiftDir[j]);
    const s = Math.hypot(...x);
    x.forEach((v, j) => (data[i * d + j] = v / s));
  }
  return { rows: n, cols: d, data };
}

/**
 * Synthetic embedding windows that look like sentence embeddings: unit-normalised,
 * a shared mean direction, topics (clusters) with unequal weights, and anisotropic
 * within-topic noise (power-law spectrum, as in real embedding models). Shifts:
 * a new topic mixed in, topic re-weighting, a small mean shift, a variance change.
 */
import { writeFileSync } from 'node:fs';
import type { Matrix, Rng } from '../packages/core/src/monitors/types.js';
import { Mulberry32, gaussian } from '../packages/core/src/stats/rng.js';

export interface World {
  dim: number;
  mean: Float64Array;
  topics: Float64Array[];
  weights: number[];
  /** Per-coordinate noise scale (anisotropic). */
  sigma: Float64Array;
  /** Spare topic never used by the baseline (for the new-topic shift). */
  newTopic: Float64Array;
  /** Fixed unit direction for the mean shift. */
  shiftDir: Float64Array;
}

export type Shift =
  | { kind: 'none' }
  | { kind: 'new_topic'; fraction: number }
  | { kind: 'reweight'; amount: number }
  | { kind: 'mean_shift'; size: number }
  | { kind: 'variance'; factor: number };

function randomVector(dim: number, rng: Rng, scale: Float64Array | null, norm: number): Float64Array {
  const v = new Float64Array(dim);
  let s = 0;
  for (let j = 0; j < dim; j++) {
    v[j] = gaussian(rng) * (scale ? scale[j] : 1);
    s += v[j] * v[j];
  }
  const f = norm / Math.sqrt(s);
  for (let j = 0; j < dim; j++) v[j] *= f;
  return v;
}

/** A fixed "embedding model + application" from a seed: 8 topics with weights 0.25, 0.2, 0.15, 0.12, 0.1, 0.08, 0.06, 0.04. */
export function makeWorld(dim: number, seed = 1): World {
  const rng = new Mulberry32(seed);
  const sigma = new Float64Array(dim);
  let total = 0;
  for (let j = 0; j < dim; j++) {
    sigma[j] = 1 / Math.sqrt(j + 10); // power-law spectrum: variance ~ 1/(j+10)
    total += sigma[j] * sigma[j];
  }
  // Noise of total norm ~1 per row.
  for (let j = 0; j < dim; j++) sigma[j] /= Math.sqrt(total);
  const topics = Array.from({ length: 8 }, () => randomVector(dim, rng, sigma, 1));
  return {
    dim,
    mean: randomVector(dim, rng, null, 0.8),
    topics,
    weights: [0.25, 0.2, 0.15, 0.12, 0.1, 0.08, 0.06, 0.04],
    sigma,
    newTopic: randomVector(dim, rng, sigma, 1),
    shiftDir: randomVector(dim, rng, sigma, 1),
  };
}

function pick(weights: number[], u: number): number {
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i];
    if (u < acc) return i;
  }
  return weights.length - 1;
}

/** n unit-normalised rows (Float32, like stored embeddings) drawn from the world, optionally shifted. */
export function sample(world: World, n: number, rng: Rng, shift: Shift = { kind: 'none' }): Matrix {
  const { dim, sigma } = world;
  const data = new Float32Array(n * dim);
  let weights = world.weights;
  if (shift.kind === 'reweight') {
    // Move `amount` of probability mass from the largest topic to the smallest one.
    weights = weights.slice();
    weights[0] -= shift.amount;
    weights[weights.length - 1] += shift.amount;
  }
  const noiseScale = shift.kind === 'variance' ? shift.factor : 1;
  const x = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const topic = shift.kind === 'new_topic' && rng.next() < shift.fraction ? world.newTopic : world.topics[pick(weights, rng.next())];
    let s = 0;
    for (let j = 0; j < dim; j++) {
      x[j] = world.mean[j] + topic[j] + gaussian(rng) * sigma[j] * noiseScale;
      if (shift.kind === 'mean_shift') x[j] += shift.size * world.shiftDir[j];
      s += x[j] * x[j];
    }
    const f = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) data[i * dim + j] = x[j] * f;
  }
  return { rows: n, cols: dim, data };
}

export function describeShift(s: Shift): string {
  switch (s.kind) {
    case 'none':
      return 'no shift';
    case 'new_topic':
      return `new topic ${Math.round(s.fraction * 100)}%`;
    case 'reweight':
      return `re-weight ${Math.round(s.amount * 100)} pts`;
    case 'mean_shift':
      return `mean shift ${s.size}`;
    case 'variance':
      return `variance x${s.factor}`;
  }
}

/** A 2-D float32 C-order .npy (format 1.0). */
export function writeNpy(path: string, m: Matrix): void {
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${m.rows}, ${m.cols}), }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  const pre = Buffer.alloc(10);
  pre.writeUInt8(0x93, 0);
  pre.write('NUMPY', 1, 'latin1');
  pre.writeUInt8(1, 6);
  pre.writeUInt8(0, 7);
  pre.writeUInt16LE(total - 10, 8);
  const data = m.data instanceof Float32Array ? m.data : Float32Array.from(m.data);
  writeFileSync(path, Buffer.concat([pre, Buffer.from(header.padEnd(total - 11) + '\n', 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

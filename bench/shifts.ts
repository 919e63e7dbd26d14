/**
 * Generator of the detection-power bench (bench/power.ts): windows that look like
 * sentence embeddings, and the five shifts of issue 13, described in the same words.
 *
 * A world (one per trial, from its seed) is
 * - a common mean direction (norm 1): sentence embeddings share a large common
 *   component, so random texts have cosine ~0.4;
 * - 12 topics, centre offsets of norm ~0.8 with random weights (Dirichlet(1, ..., 1));
 * - within-topic noise of total norm ~1 with a power-law spectrum (variance of the
 *   j-th direction ~ (j + 1)^-1.2), in a basis rotated by three random Householder
 *   reflections, so the anisotropy is not aligned with the coordinates;
 * every row is then unit-normalised (Float32, as stored embeddings).
 *
 * Shifts of the current window:
 * - `none`;
 * - `new_topic`: a share `fraction` of the current rows (exactly round(fraction x n))
 *   comes from a topic the baseline never shows;
 * - `reweight`: two topics re-weighted by `amount` of the mass (moved from the
 *   heaviest topic to another one chosen at random);
 * - `mean_shift`: every current vector moved by `size` x its norm along one random
 *   direction (uniform on the sphere) before normalisation.
 */
import type { Matrix, Rng } from '../packages/core/src/monitors/types.js';
import { Mulberry32, gaussian, randInt } from '../packages/core/src/stats/rng.js';

export type Shift = { kind: 'none' } | { kind: 'new_topic'; fraction: number } | { kind: 'reweight'; amount: number } | { kind: 'mean_shift'; size: number };

export const TOPICS = 12;

export interface World {
  dim: number;
  mean: Float64Array;
  centres: Float64Array[];
  weights: number[];
  newCentre: Float64Array;
  sigma: Float64Array;
  /** Householder vectors of the rotation. */
  reflections: Float64Array[];
  shiftDir: Float64Array;
  /** Topics whose weights the re-weighting shift changes (from, to). */
  reweight: [number, number];
}

function unit(dim: number, rng: Rng): Float64Array {
  const v = new Float64Array(dim);
  let s = 0;
  for (let j = 0; j < dim; j++) s += (v[j] = gaussian(rng)) ** 2;
  const f = 1 / Math.sqrt(s);
  for (let j = 0; j < dim; j++) v[j] *= f;
  return v;
}

function rotate(x: Float64Array, reflections: Float64Array[]): void {
  for (const v of reflections) {
    let d = 0;
    for (let j = 0; j < x.length; j++) d += v[j] * x[j];
    for (let j = 0; j < x.length; j++) x[j] -= 2 * d * v[j];
  }
}

/** Anisotropic draw (spectrum sigma, rotated) scaled to norm about `norm`. */
function anisotropic(world: Pick<World, 'dim' | 'sigma' | 'reflections'>, rng: Rng, norm: number): Float64Array {
  const x = new Float64Array(world.dim);
  for (let j = 0; j < world.dim; j++) x[j] = gaussian(rng) * world.sigma[j] * norm;
  rotate(x, world.reflections);
  return x;
}

export function makeWorld(dim: number, seed: number): World {
  const rng = new Mulberry32(seed);
  const sigma = new Float64Array(dim);
  let total = 0;
  for (let j = 0; j < dim; j++) total += (sigma[j] = (j + 1) ** -0.6) ** 2;
  for (let j = 0; j < dim; j++) sigma[j] /= Math.sqrt(total); // E ||noise||^2 = 1
  const reflections = [unit(dim, rng), unit(dim, rng), unit(dim, rng)];
  const base = { dim, sigma, reflections };
  const centres = Array.from({ length: TOPICS }, () => anisotropic(base, rng, 0.8));
  const raw = Array.from({ length: TOPICS }, () => -Math.log(1 - rng.next()));
  const sum = raw.reduce((a, b) => a + b, 0);
  const weights = raw.map((w) => w / sum);
  const heaviest = weights.indexOf(Math.max(...weights));
  let other = randInt(rng, TOPICS - 1);
  if (other >= heaviest) other++;
  return {
    dim,
    mean: unit(dim, rng),
    centres,
    weights,
    newCentre: anisotropic(base, rng, 0.8),
    sigma,
    reflections,
    shiftDir: unit(dim, rng),
    reweight: [heaviest, other],
  };
}

function pick(weights: number[], u: number): number {
  let acc = 0;
  for (let i = 0; i < weights.length; i++) if (u < (acc += weights[i])) return i;
  return weights.length - 1;
}

/** n unit-normalised rows drawn from the world, optionally shifted. */
export function sampleWindow(world: World, n: number, rng: Rng, shift: Shift = { kind: 'none' }): Matrix {
  const { dim } = world;
  const data = new Float32Array(n * dim);
  let weights = world.weights;
  if (shift.kind === 'reweight') {
    weights = weights.slice();
    const [from, to] = world.reweight;
    const moved = Math.min(shift.amount, weights[from]);
    weights[from] -= moved;
    weights[to] += moved;
  }
  const newRows = shift.kind === 'new_topic' ? Math.round(shift.fraction * n) : 0;
  for (let i = 0; i < n; i++) {
    const centre = i < newRows ? world.newCentre : world.centres[pick(weights, rng.next())];
    const x = anisotropic(world, rng, 1);
    let s = 0;
    for (let j = 0; j < dim; j++) s += (x[j] += world.mean[j] + centre[j]) ** 2;
    if (shift.kind === 'mean_shift') {
      const move = shift.size * Math.sqrt(s);
      s = 0;
      for (let j = 0; j < dim; j++) s += (x[j] += move * world.shiftDir[j]) ** 2;
    }
    const f = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) data[i * dim + j] = x[j] * f;
  }
  // New-topic rows are drawn first; shuffle so that no test can see row order.
  for (let i = n - 1; i > 0; i--) {
    const j = randInt(rng, i + 1);
    for (let c = 0; c < dim; c++) {
      const t = data[i * dim + c];
      data[i * dim + c] = data[j * dim + c];
      data[j * dim + c] = t;
    }
  }
  return { rows: n, cols: dim, data };
}

export function describe(s: Shift): string {
  switch (s.kind) {
    case 'none':
      return 'none (false alarms)';
    case 'new_topic':
      return `new topic ${Math.round(s.fraction * 100)}%`;
    case 'reweight':
      return `re-weight ${s.amount} of mass`;
    case 'mean_shift':
      return `mean shift ${Math.round(s.size * 100)}% of norm`;
  }
}

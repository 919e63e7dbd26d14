import { Mulberry32, gaussian, shuffleInPlace } from '../../src/stats/rng.js';

/** Seeded Gaussian rows (rows x cols), the first column moved by `shift`. */
export function cloud(rows: number, cols: number, seed: number, shift = 0) {
  const rng = new Mulberry32(seed);
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = gaussian(rng) + (i % cols === 0 ? shift : 0);
  return { rows, cols, data };
}

/** B seeded relabellings of n + m pooled rows (m ones each). */
export function labelings(n: number, m: number, B: number, seed: number): Uint8Array[] {
  const rng = new Mulberry32(seed);
  const base = new Uint8Array(n + m).fill(1, n);
  return Array.from({ length: B }, () => shuffleInPlace(Uint8Array.from(base), rng));
}

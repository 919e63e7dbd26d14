/**
 * The embedding monitor's domain classifier (see embedding.ts), in a module of its own so
 * that a thread can run it while the monitor computes the rest
 * (embedding-classifier-thread.ts) without loading the monitor's other code.
 */
import type { Matrix } from './types.js';
import { domainClassifierTest, type DomainClassifierResult } from '../stats/classifier.js';
import { deriveRng } from '../stats/rng.js';
import { startModuleThread } from '../pool/start.js';

/**
 * Ridge of the domain classifier, added to the standardised features' covariance: the
 * larger of 2 and 0.1 + features / rows. Strong shrinkage towards the nearest-centroid
 * rule: with a few hundred rows in 384 dimensions the whitened discriminant is mostly
 * noise and a small new topic is lost (bench/power.ts, n = 500: 6% new topic 12/20 with
 * the former 0.1 + f/N and the top-10% share, 20/20 with ridge 2 and the top-5% share;
 * the 2% mean shift stays 20/20). At n = 100, f/N dominates: 2 + f/N there cost the mean
 * shift 5 of 20 detections.
 */
export const CLASSIFIER_RIDGE = 2;
/** Share of each fold's top-scored rows among which the classifier's `top_share` counts current rows, and the fewest rows it counts per fold. */
export const TOP_SHARE = 0.05;
export const TOP_MIN_ROWS = 4;

/** What the domain classifier needs: the rows the MMD sees too, and the relabellings every test shares. */
export interface EmbeddingClassifierJob {
  fb: Matrix;
  fc: Matrix;
  /** The relabellings every test of the monitor shares (min-p combination). */
  labelings: Uint8Array[];
  seed: number;
}

export interface EmbeddingClassifierOutput {
  result: DomainClassifierResult;
  ms: number;
}

/** The domain classifier of the monitor, as the monitor runs it (wherever it runs). */
export function runEmbeddingClassifier(job: EmbeddingClassifierJob): EmbeddingClassifierOutput {
  const t0 = performance.now();
  const { fb, fc, labelings } = job;
  const result = domainClassifierTest(fb, fc, {
    permutations: labelings.length,
    rng: deriveRng(job.seed, 'classifier'),
    labelings,
    ridge: Math.max(CLASSIFIER_RIDGE, 0.1 + fb.cols / (fb.rows + fc.rows)),
    top: TOP_SHARE,
    topMinRows: TOP_MIN_ROWS,
  });
  return { result, ms: performance.now() - t0 };
}

/**
 * A thread that runs one classifier job: started first (its start-up overlaps the
 * caller's reading of the input), given the job when it is ready, ended after the answer.
 * Written on node:worker_threads: one message each way needs no pool library.
 */
export function startClassifierThread(): { classify: (job: EmbeddingClassifierJob) => Promise<EmbeddingClassifierOutput>; close: () => Promise<void> } {
  const w = startModuleThread(import.meta.url, 'embedding-classifier-thread');
  const answer = new Promise<EmbeddingClassifierOutput>((resolve, reject) => {
    w.once('message', (m: { ok: true; out: EmbeddingClassifierOutput } | { ok: false; message: string }) => (m.ok ? resolve(m.out) : reject(new Error(m.message))));
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`the classifier thread exited with code ${code} before answering`)));
  });
  answer.catch(() => {});
  return {
    classify: (job) => {
      w.postMessage(job);
      return answer;
    },
    close: async () => {
      await w.terminate();
    },
  };
}

/** The body of startClassifierThread's thread: one classifier job in, its output out. */
import { parentPort } from 'node:worker_threads';
import { runEmbeddingClassifier, type EmbeddingClassifierJob } from './embedding-classifier.js';

parentPort!.once('message', (job: EmbeddingClassifierJob) => {
  try {
    parentPort!.postMessage({ ok: true, out: runEmbeddingClassifier(job) });
  } catch (e) {
    parentPort!.postMessage({ ok: false, message: (e as Error)?.message ?? String(e) });
  }
});

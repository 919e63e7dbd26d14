/**
 * Preloaded into the bench's worker processes (`node --import bench/chaos/probe.mjs`):
 * prints one line when the process starts and ends a job, so bench/chaos.ts knows which
 * worker is mid-job when it picks one to SIGKILL. Nothing else changes.
 */
import { Worker } from 'bullmq';

const callProcessJob = Worker.prototype.callProcessJob;
Worker.prototype.callProcessJob = function (job, token, signal) {
  const line = (event) => process.stdout.write(JSON.stringify({ chaos: event, queue: job.queueName, id: job.id }) + '\n');
  line('start');
  const done = () => line('end');
  const p = callProcessJob.call(this, job, token, signal);
  return Promise.resolve(p).then(
    (v) => (done(), v),
    (e) => {
      done();
      throw e;
    },
  );
};

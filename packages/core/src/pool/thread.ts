/**
 * The body of a statistics thread: receives MonitorTasks, answers with results or errors.
 * Loaded as compiled JS from dist/, or as TypeScript through tsx (see pool.ts).
 */
import { parentPort } from 'node:worker_threads';
import { runMonitorTask, type MonitorTask } from './tasks.js';

parentPort!.on('message', (msg: { id: number; task: MonitorTask }) => {
  try {
    parentPort!.postMessage({ id: msg.id, ok: true, result: runMonitorTask(msg.task) });
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({ id: msg.id, ok: false, error: { name: err?.name ?? 'Error', message: err?.message ?? String(e), stack: err?.stack } });
  }
});

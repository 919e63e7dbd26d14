import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startModuleThread } from './start.js';
import type { MonitorResult } from '../monitors/types.js';
import { runMonitorTask, type MonitorTask } from './tasks.js';

/**
 * A pool of worker threads for the heavy statistics (permutation tests, k-means, PCA),
 * so that a monitor job's computation never holds the event loop: BullMQ renews job
 * locks, answers Redis and serves /metrics on that loop, and a lock that is not renewed
 * within lockDuration makes the job "stalled" and run twice.
 *
 * Written on node:worker_threads rather than taken from piscina: one message type, a
 * FIFO queue and replacement of a thread that dies are all this needs, and the thread
 * entry must load in two ways: compiled (`dist/.../thread.js`, how the CLI and the
 * services run) and as TypeScript source (`src/.../thread.ts`, how vitest and tsx run
 * the code), where the thread first registers tsx's loader and then imports the .ts file.
 *
 * Threads start on first use and are unref'd while idle, so an idle pool never keeps a
 * process alive.
 */
export class StatsPool {
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();
  private readonly queue: { task: MonitorTask; resolve: (r: MonitorResult) => void; reject: (e: Error) => void }[] = [];
  private readonly pending = new Map<Worker, { id: number; resolve: (r: MonitorResult) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;

  /** size 0 runs every task in the calling thread (for debugging and one-shot tools). */
  constructor(readonly size: number) {}

  /** Runs a monitor computation on a pool thread; resolves with its result. */
  run(task: MonitorTask): Promise<MonitorResult> {
    if (this.closed) return Promise.reject(new Error('statistics pool is closed'));
    if (this.size === 0) {
      try {
        return Promise.resolve(runMonitorTask(task));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.dispatch();
    });
  }

  /** Threads busy right now. */
  get busy(): number {
    return this.pending.size;
  }

  private dispatch(): void {
    while (this.queue.length) {
      let w = this.idle.pop();
      if (!w) {
        if (this.all.size >= this.size) return;
        w = this.spawn();
      }
      const { task, resolve, reject } = this.queue.shift()!;
      const id = this.nextId++;
      this.pending.set(w, { id, resolve, reject });
      w.ref();
      w.postMessage({ id, task });
    }
  }

  private spawn(): Worker {
    const w = startModuleThread(import.meta.url, 'thread');
    this.all.add(w);
    w.on('message', (msg: { id: number; ok: boolean; result?: MonitorResult; error?: { name: string; message: string; stack?: string } }) => {
      const p = this.pending.get(w);
      if (!p || p.id !== msg.id) return;
      this.pending.delete(w);
      w.unref();
      this.idle.push(w);
      if (msg.ok) p.resolve(msg.result!);
      else {
        const e = new Error(msg.error!.message);
        e.name = msg.error!.name;
        if (msg.error!.stack) e.stack = msg.error!.stack;
        p.reject(e);
      }
      this.dispatch();
    });
    const gone = (err: Error) => {
      if (!this.all.delete(w)) return;
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
      const p = this.pending.get(w);
      this.pending.delete(w);
      p?.reject(err);
      if (!this.closed) this.dispatch();
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new Error(`statistics thread exited with code ${code}`)));
    w.unref();
    return w;
  }

  /** Ends every thread; tasks not yet started are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new Error('statistics pool is closed'));
    await Promise.all([...this.all].map((w) => w.terminate()));
  }
}

let shared: StatsPool | undefined;

/**
 * The process's statistics pool. Size: DRIFTWATCH_STATS_THREADS if set (0 = compute in
 * the calling thread), else one thread per core. Not cores - 1: the main thread and the
 * embedded database's thread mostly wait (on Redis, on the next message) and use a small
 * share of a core per job (bench/fleet.ts: about a fifth of the statistics' CPU), so a
 * core kept for them sits idle most of the time; on 2 cores, cores - 1 ran every
 * statistic of the process on one thread and left the other core half idle. The OS
 * shares the cores when all threads are busy; BullMQ's lock renewal needs milliseconds
 * of the main thread per lock duration, which a time slice gives.
 */
export function statsPool(): StatsPool {
  if (!shared) {
    const env = process.env.DRIFTWATCH_STATS_THREADS;
    const size = env !== undefined && env !== '' ? Math.max(0, Math.floor(Number(env))) : Math.max(1, availableParallelism());
    shared = new StatsPool(Number.isFinite(size) ? size : 1);
  }
  return shared;
}

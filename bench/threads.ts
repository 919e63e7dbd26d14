/**
 * CPU time and run-queue wait of every thread of this process, from Linux's
 * /proc/self/task/<tid>/schedstat (ns on a CPU, ns runnable but waiting for one). On a
 * shared machine the wall time of a run depends on everyone else; CPU time does not, and
 * (CPU + run-queue wait) / wall says how many cores the process would have used had the
 * machine been free: below 1 per busy thread means the threads waited on something else
 * (a timer, a lock, a round trip) rather than on a core. Empty where /proc is missing.
 */
import { readFileSync, readdirSync } from 'node:fs';

export type ThreadTimes = Map<string, { cpu: number; wait: number }>;

export function threadTimes(): ThreadTimes {
  const out: ThreadTimes = new Map();
  let tids: string[] = [];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const [cpu, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
      out.set(tid, { cpu: cpu / 1e9, wait: wait / 1e9 });
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

/** Seconds of CPU and of run-queue wait since `before`, in total and for the busiest threads. */
export function threadsSince(before: ThreadTimes, top = 4): { cpu: number; wait: number; busiest: { cpu: number; wait: number }[] } {
  const now = threadTimes();
  const per = [...now].map(([tid, t]) => ({ cpu: t.cpu - (before.get(tid)?.cpu ?? 0), wait: t.wait - (before.get(tid)?.wait ?? 0) }));
  per.sort((a, b) => b.cpu - a.cpu);
  return { cpu: per.reduce((s, t) => s + t.cpu, 0), wait: per.reduce((s, t) => s + t.wait, 0), busiest: per.slice(0, top) };
}

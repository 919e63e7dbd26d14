import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, ROOT } from './env.js';

export interface Running {
  child: ChildProcess;
  ready: { metrics_port: number; http_port: number | null; queues: string[]; redis_url: string };
  stdout(): string;
  stderr(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts a long-running driftwatch command and waits for its ready line on stdout. */
export function startCli(args: string[], env: Record<string, string | undefined>, timeoutMs = 120_000): Promise<Running> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`driftwatch ${args.join(' ')} not ready in ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`));
    }, timeoutMs);
    const early = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`driftwatch ${args.join(' ')} exited with ${code} before ready\nstdout: ${out}\nstderr: ${err}`));
    };
    child.once('exit', early);
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"event":"ready"'));
      if (line) {
        clearTimeout(timer);
        child.off('exit', early);
        resolve({
          child,
          ready: JSON.parse(line),
          stdout: () => out,
          stderr: () => err,
          stop: async (signal = 'SIGTERM') => {
            if (child.exitCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
  });
}

/**
 * Progress of long work (demo, run-once --wait, ingest, a fine-tune poll). On a
 * terminal one status line is rewritten in place with the elapsed time; otherwise
 * (a pipe, a log file, CI) each step is a plain line. Always on stderr: stdout is
 * the command's result.
 */
export interface Progress {
  (line: string): void;
  /** Ends the in-place line on a terminal. */
  done(): void;
}

export function progressOn(stream: { write(s: string): unknown; isTTY?: boolean } = process.stderr): Progress {
  const started = Date.now();
  const tty = Boolean(stream.isTTY) && !process.env.CI;
  let open = false;
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const report = ((line: string) => {
    if (tty) {
      stream.write(`\r\x1b[K[${elapsed()}] ${line}`);
      open = true;
    } else {
      stream.write(`driftwatch: [${elapsed()}] ${line}\n`);
    }
  }) as Progress;
  report.done = () => {
    if (open) stream.write('\n');
    open = false;
  };
  return report;
}

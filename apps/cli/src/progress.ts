/**
 * Progress of long work (demo, run-once --wait, ingest, a fine-tune poll). On a
 * terminal one status line is rewritten in place: the elapsed time, what is being
 * done and, when the caller knows it, how far along (done/total); otherwise (a pipe,
 * a log file, CI) each step is a plain line. Always on stderr: stdout is the
 * command's result.
 *
 * Written here rather than with a progress-bar library (cli-progress, ora): the whole
 * need is one rewritten line and a plain-line fallback, a few lines of code.
 */
export interface Progress {
  /** Reports a step; `at` says how far along the work is when its size is known. */
  (line: string, at?: { done: number; total?: number }): void;
  /** Ends the in-place line on a terminal. */
  done(): void;
}

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  /** Terminal width (a tty.WriteStream's, kept up to date on resize). */
  columns?: number;
}

/** One line, whatever the caller passes: control characters (a newline, an escape) would break the redraw or a log line. */
const oneLine = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');

function fraction(at: { done: number; total?: number } | undefined): string {
  if (!at) return '';
  if (!at.total || at.total <= 0) return ` (${at.done})`;
  const pct = Math.min(100, Math.floor((100 * at.done) / at.total));
  return ` (${at.done}/${at.total}, ${pct}%)`;
}

export function progressOn(stream: ProgressStream = process.stderr): Progress {
  const started = Date.now();
  const tty = Boolean(stream.isTTY) && !process.env.CI;
  let open = false;
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const report = ((line: string, at?: { done: number; total?: number }) => {
    let text = `[${elapsed()}] ${oneLine(line)}${fraction(at)}`;
    if (tty) {
      // A line wider than the terminal wraps, and \r then only goes back to its last row:
      // keep it one column short of the width (a full row wraps on some terminals too).
      const width = stream.columns && stream.columns > 1 ? stream.columns - 1 : Infinity;
      const chars = [...text];
      if (chars.length > width) text = `${chars.slice(0, width - 1).join('')}…`;
      stream.write(`\r\x1b[K${text}`);
      open = true;
    } else {
      stream.write(`driftwatch: ${text}\n`);
    }
  }) as Progress;
  report.done = () => {
    if (open) stream.write('\n');
    open = false;
  };
  return report;
}

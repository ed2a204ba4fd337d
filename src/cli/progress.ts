/** Progress display for `kestrel analyze` (pure formatting + a small stderr writer). */

export interface ProgressView {
  status: string;
  progress: { fragmentsDone: number; fragmentsTotal: number; framesDone: number; percent: number };
}

/** `[########------------]  40.0%  4/10 fragments  12 frames  running` */
export function formatProgress(j: ProgressView, width = 24): string {
  const pct = Math.max(0, Math.min(100, j.progress.percent));
  const filled = Math.round((pct / 100) * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  const { fragmentsDone, fragmentsTotal, framesDone } = j.progress;
  const frags = j.status === 'queued' && fragmentsTotal === 0 ? '?' : `${fragmentsDone}/${fragmentsTotal}`;
  return `[${bar}] ${pct.toFixed(1).padStart(5)}%  ${frags} fragments  ${framesDone} frames  ${j.status}`;
}

/**
 * TTY: one line redrawn in place. Otherwise (logs, pipes): a line at the first update, every time the
 * percentage passes another 10 %, and when the status changes.
 */
export class ProgressPrinter {
  private lastDecile = -1;
  private lastStatus = '';
  private drawn = false;

  constructor(
    private readonly write: (s: string) => void,
    private readonly tty: boolean,
  ) {}

  update(j: ProgressView): void {
    const line = formatProgress(j);
    if (this.tty) {
      this.write(`\r${line}\x1b[K`);
      this.drawn = true;
      return;
    }
    const decile = Math.floor(Math.min(100, j.progress.percent) / 10);
    if (decile > this.lastDecile || j.status !== this.lastStatus) {
      this.lastDecile = Math.max(this.lastDecile, decile);
      this.lastStatus = j.status;
      this.write(`${line}\n`);
    }
  }

  /** Ends the redrawn line (TTY) so the next message starts on its own line. */
  done(): void {
    if (this.tty && this.drawn) this.write('\n');
    this.drawn = false;
  }
}

/** `--name value` from the command line, or the default. */
export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/**
 * A one-line progress bar on stderr with rate and ETA; when stderr is not a
 * terminal (a log file, CI), a plain line every 10 s instead, so a long run
 * shows it is moving.
 */
export class Progress {
  private readonly started = Date.now();
  private last = 0;
  private lastLine = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number): void {
    const now = Date.now();
    if (now - this.last < 200 && done < this.total) return;
    this.last = now;
    const seconds = (now - this.started) / 1000;
    const rate = done / Math.max(seconds, 0.001);
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    if (!process.stderr.isTTY) {
      if (now - this.lastLine < 10_000) return;
      this.lastLine = now;
      process.stderr.write(`${this.label}: ${done}/${this.total} in ${seconds.toFixed(0)} s (${Math.round(rate)}/s, ETA ${Number.isFinite(eta) ? eta.toFixed(0) : '?'} s)\n`);
      return;
    }
    const width = 30;
    const filled = Math.round((done / this.total) * width);
    process.stderr.write(
      `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${Math.round(rate)}/s ETA ${Number.isFinite(eta) ? eta.toFixed(0) : '?'}s   `,
    );
  }

  finish(): void {
    const seconds = (Date.now() - this.started) / 1000;
    process.stderr.write(`${process.stderr.isTTY ? '\r' : ''}${this.label}: ${this.total} in ${seconds.toFixed(1)} s (${Math.round(this.total / seconds)}/s)${' '.repeat(20)}\n`);
  }
}

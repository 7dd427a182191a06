import type { ReplayProgress } from './runner';

/**
 * The replay's progress on stderr: share done, touchpoints, rate, ETA and
 * the event time reached. On a terminal one line redrawn at most 5 times a
 * second; elsewhere (a log, CI) a line per 10% done.
 */
export class ProgressLine {
  private lastDraw = -Infinity;
  private lastDecile = -1;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly now: () => number = () => Date.now(),
  ) {}

  update(p: ReplayProgress, force = false): void {
    const t = this.now();
    if (this.stream.isTTY) {
      if (!force && t - this.lastDraw < 200) return;
      this.lastDraw = t;
      this.stream.write(`\r${formatProgress(p)}\u001b[K`);
      this.drawn = true;
      return;
    }
    const decile = Math.floor(p.fraction * 10);
    if (!force && decile <= this.lastDecile) return;
    this.lastDecile = decile;
    this.stream.write(`${formatProgress(p)}\n`);
  }

  /** Ends the redrawn line so that what follows starts on its own. */
  finish(p: ReplayProgress): void {
    this.update(p, true);
    if (this.drawn) this.stream.write('\n');
  }

  /** A message on its own line, without losing the bar. */
  note(text: string): void {
    this.stream.write(`${this.drawn ? '\r\u001b[K' : ''}${text}\n`);
  }
}

export function formatProgress(p: ReplayProgress, width = 24): string {
  const fraction = Math.max(0, Math.min(1, p.fraction));
  const filled = Math.round(fraction * width);
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? p.records / seconds : 0;
  const eta = fraction > 0 && fraction < 1 ? (seconds * (1 - fraction)) / fraction : fraction >= 1 ? 0 : NaN;
  const count = p.total !== null ? `${compact(p.records)}/${compact(p.total)}` : compact(p.records);
  const at = p.eventTime === null ? '' : ` · at ${new Date(p.eventTime).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `replay [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${count} touchpoints · ${compact(rate)}/s · ETA ${duration(eta)}${at}`;
}

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return String(Math.round(n));
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.round((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

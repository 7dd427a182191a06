/**
 * A one-line progress bar for long runs: share done, count, rate over the
 * last seconds, ETA, and free text (simulated time, outcomes). On a
 * terminal it redraws in place at most 5 times a second; elsewhere (a log
 * file, CI) it prints a line every 10%.
 */

export interface ProgressSample {
  /** 0..1 */
  fraction: number;
  count: number;
  /** Shown after the rate and ETA. */
  detail?: string;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  unit?: string;
  width?: number;
  /** Wall clock in ms (tests pass a fake one). */
  now?: () => number;
}

export class ProgressBar {
  private readonly stream: NodeJS.WriteStream;
  private readonly unit: string;
  private readonly width: number;
  private readonly now: () => number;
  private readonly started: number;
  private lastDraw = -Infinity;
  private lastDecile = -1;
  private window: { at: number; count: number }[] = [];
  private drawn = false;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.unit = options.unit ?? 'items';
    this.width = options.width ?? 24;
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
  }

  update(sample: ProgressSample, force = false): void {
    const now = this.now();
    this.window.push({ at: now, count: sample.count });
    while (this.window.length > 2 && now - this.window[0]!.at > 3000) this.window.shift();
    if (this.stream.isTTY) {
      if (!force && now - this.lastDraw < 200) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.line(sample, now)}\x1b[K`);
      this.drawn = true;
    } else {
      const decile = Math.floor(sample.fraction * 10);
      if (!force && decile <= this.lastDecile) return;
      this.lastDecile = decile;
      this.stream.write(`${this.line(sample, now)}\n`);
    }
  }

  /** Ends the bar's line (the next output starts on a fresh one). */
  finish(sample: ProgressSample): void {
    this.update(sample, true);
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }

  line(sample: ProgressSample, now = this.now()): string {
    const f = Math.max(0, Math.min(1, sample.fraction));
    const filled = Math.round(f * this.width);
    const bar = '█'.repeat(filled) + '░'.repeat(this.width - filled);
    const elapsed = (now - this.started) / 1000;
    const first = this.window[0];
    const span = first ? (now - first.at) / 1000 : 0;
    const rate = span > 0.2 ? (sample.count - first!.count) / span : elapsed > 0 ? sample.count / elapsed : 0;
    const eta = f > 0 && f < 1 ? (elapsed * (1 - f)) / f : 0;
    const parts = [`[${bar}]`, `${(f * 100).toFixed(0).padStart(3)}%`, `${sample.count.toLocaleString('en-US')} ${this.unit}`, `${formatRate(rate)}/s`, f >= 1 ? `in ${formatSeconds(elapsed)}` : `ETA ${formatSeconds(eta)}`];
    if (sample.detail) parts.push(sample.detail);
    return parts.join('  ');
  }
}

export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(0);
}

export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

import { formatDuration } from '../config/duration';

/**
 * The progress bar of every long command (simulate, replay, the benches):
 * share done, count, rate over the last seconds, ETA, and free text. On a
 * terminal one line redrawn in place at most 5 times a second; elsewhere (a
 * log file, CI) a plain line at the start, then every 10 s, so a long run in
 * a log still shows it is moving without flooding it.
 */

export interface ProgressSample {
  count: number;
  /** Shown as `count/total` when known. */
  total?: number;
  /** 0..1; count/total when not given (a source may know its share read better than a count). */
  fraction?: number;
  /** Shown after the rate and ETA. */
  detail?: string;
}

export interface ProgressOptions {
  /** Printed before the bar (e.g. which bench run this is). */
  label?: string;
  unit?: string;
  stream?: NodeJS.WriteStream;
  width?: number;
  /** Wall clock in ms (tests pass a fake one). */
  now?: () => number;
}

const REDRAW_MS = 200;
const PLAIN_LINE_MS = 10_000;
/** Rate over this recent window, so a slow start does not drag the number for the whole run. */
const RATE_WINDOW_MS = 3_000;

export class ProgressBar {
  private readonly stream: NodeJS.WriteStream;
  private readonly label: string;
  private readonly unit: string;
  private readonly width: number;
  private readonly now: () => number;
  private readonly started: number;
  private lastWrite = -Infinity;
  private window: { at: number; count: number }[] = [];
  /** A redrawn line is on screen and not yet ended. */
  private drawn = false;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.label = options.label ?? '';
    this.unit = options.unit ?? 'items';
    this.width = options.width ?? 24;
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
  }

  update(sample: ProgressSample, force = false): void {
    const now = this.now();
    this.window.push({ at: now, count: sample.count });
    while (this.window.length > 2 && now - this.window[0]!.at > RATE_WINDOW_MS) this.window.shift();
    const tty = this.stream.isTTY === true;
    if (!force && now - this.lastWrite < (tty ? REDRAW_MS : PLAIN_LINE_MS)) return;
    this.lastWrite = now;
    if (tty) {
      this.stream.write(`\r${this.line(sample, now)}\x1b[K`);
      this.drawn = true;
    } else this.stream.write(`${this.line(sample, now)}\n`);
  }

  /** Draws the last state and ends the bar's line (the next output starts on a fresh one). */
  finish(sample: ProgressSample): void {
    this.update(sample, true);
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }

  /** A message on its own line, without losing the bar. */
  note(text: string): void {
    this.stream.write(`${this.drawn ? '\r\x1b[K' : ''}${text}\n`);
  }

  line(sample: ProgressSample, now = this.now()): string {
    const f = Math.max(0, Math.min(1, sample.fraction ?? (sample.total ? sample.count / sample.total : 0)));
    const filled = Math.round(f * this.width);
    const elapsedMs = now - this.started;
    const first = this.window[0]!;
    const spanMs = now - first.at;
    const rate = spanMs > REDRAW_MS ? ((sample.count - first.count) * 1000) / spanMs : elapsedMs > 0 ? (sample.count * 1000) / elapsedMs : 0;
    const count = sample.count.toLocaleString('en-US') + (sample.total === undefined ? '' : `/${sample.total.toLocaleString('en-US')}`);
    const parts = [
      `[${'█'.repeat(filled)}${'░'.repeat(this.width - filled)}]`,
      `${(f * 100).toFixed(0).padStart(3)}%`,
      `${count} ${this.unit}`,
      `${formatRate(rate)}/s`,
      f >= 1 ? `in ${formatDuration(Math.round(elapsedMs))}` : `ETA ${f > 0 ? formatDuration(Math.max(1, Math.ceil((elapsedMs * (1 - f)) / f / 1000)) * 1000) : '?'}`,
    ];
    if (this.label) parts.unshift(this.label);
    if (sample.detail) parts.push(sample.detail);
    return parts.join('  ');
  }
}

/** 52000 -> `52.0k`: a rate short enough for a status line. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(0);
}

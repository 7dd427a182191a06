import { ProgressBar } from '../../../cli/progress';

function recorder(isTTY: boolean): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  return { stream: { isTTY, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream, written };
}

describe('the progress bar', () => {
  it('off a terminal, prints a plain line at the start, then every 10 s, and at the end', () => {
    const { stream, written } = recorder(false);
    let now = 0;
    const bar = new ProgressBar({ stream, label: 'replay', unit: 'touchpoints', width: 10, now: () => now });
    now = 1_000;
    bar.update({ count: 50_000, total: 200_000 });
    now = 9_000;
    bar.update({ count: 52_000, total: 200_000 });
    now = 11_000;
    bar.update({ count: 100_000, total: 200_000, detail: 'at 2026-10-01 12:00 UTC' });
    now = 12_000;
    bar.finish({ count: 200_000, total: 200_000 });
    expect(written).toEqual([
      'replay  [███░░░░░░░]   25%  50,000/200,000 touchpoints  50.0k/s  ETA 3s\n',
      'replay  [█████░░░░░]   50%  100,000/200,000 touchpoints  24.0k/s  ETA 11s  at 2026-10-01 12:00 UTC\n',
      expect.stringMatching(/^replay {2}\[█{10}\] {2}100% {2}200,000\/200,000 touchpoints {2}\d+\.\dk\/s {2}in 12s\n$/),
    ]);
  });

  it('takes the share done from the sample when the count has no total', () => {
    const { stream, written } = recorder(false);
    const bar = new ProgressBar({ stream, unit: 'touchpoints', width: 4, now: () => 0 });
    bar.update({ fraction: 0.5, count: 10 });
    expect(written[0]).toMatch(/^\[██░░\] {3}50% {2}10 touchpoints /);
  });

  it('on a terminal, redraws one line and ends it before a note and at the end', () => {
    const { stream, written } = recorder(true);
    let now = 0;
    const bar = new ProgressBar({ stream, width: 4, now: () => now });
    bar.update({ count: 1, total: 4 });
    now = 100;
    bar.update({ count: 2, total: 4 }); // within 200 ms of the last redraw: skipped
    bar.note('stopping');
    now = 300;
    bar.finish({ count: 4, total: 4 });
    expect(written).toEqual([expect.stringMatching(/^\r\[█░░░\] {3}25% /), '\r\x1b[Kstopping\n', expect.stringMatching(/^\r\[████\] {2}100% /), '\n']);
    expect(written[2]!.endsWith('\x1b[K')).toBe(true);
  });
});

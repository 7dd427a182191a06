import { waitingFor } from '../../../cli/app';

describe("the console's readiness tile says what an instance waits for", () => {
  test.each([
    [{ starting: true }, 'starting'],
    [{ joined: false, tasks: 0, restoring: [], stalled: [], globalTablesCaughtUp: true }, 'joining the consumer group'],
    [{ joined: true, tasks: 9, restoring: ['1_0', '1_2'], stalled: [], globalTablesCaughtUp: true }, 'restoring 2 tasks from their changelogs'],
    [
      { joined: true, tasks: 9, restoring: [], stalled: [{ task: '0_1', partition: 1, kind: 'registry-unavailable', reason: 'ECONNREFUSED', since: 0 }], globalTablesCaughtUp: true },
      'stalled: task 0_1 (registry-unavailable: ECONNREFUSED)',
    ],
    [{ joined: true, tasks: 9, restoring: [], stalled: [], globalTablesCaughtUp: false }, 'the identity graph is catching up with its changelog'],
  ])('%j -> %s', (detail, words) => {
    expect(waitingFor(detail)).toBe(words);
  });
});

import { liftAgainstTruth } from '../../../demo/accuracy';
import { renderAccuracy } from '../../../demo/screen';
import { liftEstimate, type LiftCounts } from '../../../processors/outcomes/lift';
import type { GroundTruth } from '../../../simulator/truth';

const truth = {
  triggers: { cart_abandoned: { baseRate: 0.12, uplift: 0.1 } },
  defaultTrigger: { baseRate: 0.1, uplift: 0 },
} as unknown as GroundTruth;

function liftLine(counts: LiftCounts): string {
  const [row] = liftAgainstTruth([{ triggerId: 'cart_abandoned', ...counts, estimate: liftEstimate(counts) }], truth);
  return renderAccuracy({ identity: null, lift: [row!] }).find((line) => line.includes('cart_abandoned'))!;
}

describe('the demo\'s final lift table', () => {
  it('says "not enough data" rather than judging an interval of a handful of held-out people', () => {
    const line = liftLine({ treated: 29, treatedConverted: 3, control: 8, controlConverted: 4 });
    expect(line).toContain('not enough data (under 30 people in a group)');
    expect(line).not.toContain('OUTSIDE');
  });

  it('judges the interval against the true uplift once both groups are large enough', () => {
    expect(liftLine({ treated: 400, treatedConverted: 88, control: 100, controlConverted: 12 })).toContain('true value inside the CI');
    expect(liftLine({ treated: 400, treatedConverted: 40, control: 100, controlConverted: 30 })).toContain('true value OUTSIDE the CI');
  });
});

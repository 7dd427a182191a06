import type { Touchpoint } from '../../../processors/model/touchpoint';
import { partitionForKey } from '../../../runtime/kafka/partitioner';
import type { InProcessEngine } from '../../../runtime/in-process-engine';
import { createPopulation, loadSimulatorConfig, TouchpointGenerator } from '../../../simulator';
import { DAY, productDriver, T0 } from '../../support/product';

/**
 * Issue 14 §2b. Live, the ingest tasks of four raw partitions write to
 * touchpoints.resolved and identity.links in whatever order their
 * transactions land, hours of event time apart when one runs ahead. The
 * link and profile tasks take those writes in event-time order (the
 * writers' watermark, runtime/input-order.ts), so what the product decides
 * does not depend on that order. Here the same simulated days reach the
 * engine with the raw partitions' ingest tasks running in one order, then
 * in the reverse order.
 */
const PARTITIONS = 4;
const DAYS = 14;

function simulated(): Touchpoint[] {
  const population = createPopulation({ seed: 7, people: 300, config: loadSimulatorConfig() });
  const generator = new TouchpointGenerator(population, { days: DAYS, start: T0 });
  const touchpoints: Touchpoint[] = [];
  for (let t = generator.take(); t; t = generator.take()) touchpoints.push(t);
  return touchpoints.sort((a, b) => a.occurredAt - b.occurredAt);
}

/** A day at a time; within a day, each raw partition's touchpoints together, the partitions in `order`: its ingest task writes all of them before the next one starts. */
async function run(touchpoints: Touchpoint[], order: number[]): Promise<InProcessEngine> {
  const driver = await productDriver(PARTITIONS);
  for (let day = 0; day < DAYS; day++) {
    const today = touchpoints.filter((t) => t.occurredAt >= T0 + day * DAY && t.occurredAt < T0 + (day + 1) * DAY);
    for (const partition of order) {
      for (const t of today) {
        const key = Buffer.from(t.identifiers[0]!.value);
        if (partitionForKey(key, PARTITIONS) === partition) driver.pipe('touchpoints.raw', key, t, { timestamp: t.occurredAt, partition });
      }
    }
    await driver.run();
  }
  return driver;
}

/** Every record of a topic as bytes, in a canonical order (tasks of different partitions may deliver in either order). */
function written(driver: InProcessEngine, topic: string): string[] {
  return driver.producedRecords
    .filter((r) => r.topic === topic)
    .map((r) => `${r.partition}|${r.key?.toString('hex')}|${r.value?.toString('hex')}`)
    .sort();
}

describe('the product whatever order the ingest tasks write in', () => {
  it('sends the same commands, decisions, segment changes and views', async () => {
    const touchpoints = simulated();
    const forward = await run(touchpoints, [0, 1, 2, 3]);
    const reverse = await run(touchpoints, [3, 2, 1, 0]);

    // The writes did land in another order.
    const landed = (driver: InProcessEngine) => driver.producedRecords.filter((r) => r.topic === 'touchpoints.resolved').map((r) => r.value!.toString('hex'));
    expect(landed(forward)).not.toEqual(landed(reverse));
    expect(landed(forward).sort()).toEqual(landed(reverse).sort());

    for (const topic of ['identity.links', 'engagement.commands', 'engagement.decisions', 'segments.membership', 'profiles.view', 'engagement.lift', 'identity.audit']) {
      expect({ topic, records: written(reverse, topic) }).toEqual({ topic, records: written(forward, topic) });
    }
    expect(written(forward, 'engagement.commands').length).toBeGreaterThan(0);
    expect(written(forward, 'engagement.decisions').length).toBeGreaterThan(50);
  });
});

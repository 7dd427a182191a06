import type { ProfileEvent } from '../../../processors/model/profile-event';
import type { Touchpoint } from '../../../processors/model/touchpoint';
import { partitionForKey } from '../../../runtime/kafka/partitioner';
import { createPopulation, loadSimulatorConfig, TouchpointGenerator } from '../../../simulator';
import { productDriver, T0 } from '../../support/product';

/**
 * A simulated month, every touchpoint valid, through the whole product on
 * the driver, which checks what production trusts processors with (store
 * values and forwarded records are frozen: runtime/task.ts `checkValues`).
 * Nothing may reach a dead-letter topic: a processor that changes a value
 * it does not own throws here, and its record would be dead-lettered (a
 * merge's, when the merged engagement shared the winner's pattern
 * progress), where live it would change that value behind its owner's back.
 */
const PARTITIONS = 4;

it('sends nothing to a dead-letter topic', async () => {
  const population = createPopulation({ seed: 11, people: 600, config: loadSimulatorConfig() });
  const generator = new TouchpointGenerator(population, { days: 30, start: T0 });
  const driver = await productDriver(PARTITIONS);
  let n = 0;
  for (let t: Touchpoint | undefined = generator.take(); t; t = generator.take()) {
    const key = Buffer.from(t.identifiers[0]!.value);
    driver.pipe('touchpoints.raw', key, t, { timestamp: t.occurredAt, partition: partitionForKey(key, PARTITIONS) });
    if (++n % 1000 === 0) await driver.run();
  }
  await driver.run();
  // The month holds merges (the winner takes the loser's state): what failed before.
  const transfers = driver.output<string, ProfileEvent>('touchpoints.resolved').filter((r) => r.value?.body.kind === 'state');
  expect(transfers.length).toBeGreaterThan(100);
  const dead = driver.producedRecords.filter((r) => r.topic.endsWith('.dlq')).map((r) => `${r.topic}: ${r.headers['lp.error.message']}`);
  expect(dead).toEqual([]);
}, 120_000);

import type { ProfileEvent } from '../../../processors/model/profile-event';
import type { Touchpoint } from '../../../processors/model/touchpoint';
import { partitionForKey } from '../../../runtime/kafka/partitioner';
import { createPopulation, loadSimulatorConfig, TouchpointGenerator } from '../../../simulator';
import { PROFILES } from '../../../proof/profiles';
import { workload } from '../../../proof/workload';
import type { InProcessEngine } from '../../../runtime/in-process-engine';
import { DLQ_HEADERS } from '../../../runtime/records';
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

async function throughTheProduct(touchpoints: Iterable<Touchpoint>): Promise<InProcessEngine> {
  const driver = await productDriver(PARTITIONS);
  let n = 0;
  for (const t of touchpoints) {
    const key = Buffer.from(t.identifiers[0]!.value);
    driver.pipe('touchpoints.raw', key, t, { timestamp: t.occurredAt, partition: partitionForKey(key, PARTITIONS) });
    if (++n % 1000 === 0) await driver.run();
  }
  await driver.run();
  return driver;
}

function deadLetters(driver: InProcessEngine): string[] {
  return driver.producedRecords.filter((r) => r.topic.endsWith('.dlq')).map((r) => `${r.topic}: ${r.headers[DLQ_HEADERS.message]}`);
}

function* simulated(seed: number, people: number): Generator<Touchpoint> {
  const generator = new TouchpointGenerator(createPopulation({ seed, people, config: loadSimulatorConfig() }), { days: 30, start: T0 });
  for (let t = generator.take(); t; t = generator.take()) yield t;
}

it('sends nothing to a dead-letter topic: a simulated month', async () => {
  const driver = await throughTheProduct(simulated(11, 600));
  // The month holds merges (the winner takes the loser's state): what failed before.
  const transfers = driver.output<string, ProfileEvent>('touchpoints.resolved').filter((r) => r.value?.body.kind === 'state');
  expect(transfers.length).toBeGreaterThan(100);
  expect(deadLetters(driver)).toEqual([]);
}, 120_000);

it('sends nothing to a dead-letter topic: the proof suite\'s month with wrong merges undone (seed 87296)', async () => {
  // Found by the proof suite's golden run: the merged profile kept the winner's provenance log
  // (reversible merges) and exposures, and the nodes after the profile node changed them in place.
  const work = workload({ seed: 87296, ...PROFILES.ci.workload });
  const driver = await throughTheProduct(work.inputs.map((i) => i.touchpoint).sort((a, b) => a.occurredAt - b.occurredAt));
  expect(deadLetters(driver)).toEqual([]);
}, 120_000);

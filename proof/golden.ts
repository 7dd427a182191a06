import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DLQ_HEADERS, type OutputRecord } from '../runtime/records';
import { runReplay } from '../replay/runner';
import { loadRuleSet } from '../replay/rules';
import { ArraySource } from '../replay/sources';
import { productOutputs, type ProductOutputs } from './outputs';
import type { Touchpoint } from '../processors/model/touchpoint';

export interface GoldenOutputs extends ProductOutputs {
  /**
   * What the run sent to a dead-letter topic, and why. The run checks what
   * production trusts processors with (runtime/task.ts `checkValues`), and
   * its input is valid, so anything here is a processor that changed a
   * value it does not own.
   */
  deadLetters: string[];
}

/**
 * The golden run: touchpoints through the whole product on the in-process
 * driver, as an analyst's replay runs it (event time only, no broker, no
 * faults), with the driver's value checks on. What live must match, where
 * live and replay are meant to agree.
 */
export async function goldenRun(touchpoints: readonly Touchpoint[], partitions: number, configDir: string, label = 'touchpoints in memory'): Promise<GoldenOutputs> {
  const records: OutputRecord[] = [];
  const stateDir = await mkdtemp(join(tmpdir(), 'lp-proof-golden-'));
  try {
    await runReplay({
      source: new ArraySource(touchpoints, partitions, label),
      variants: [{ name: 'golden', rules: loadRuleSet('golden', configDir) }],
      partitions,
      stateDir: join(stateDir, 'replay'),
      appId: 'proof-golden',
      checkValues: true,
      onOutput: (_variant, record) => records.push(record),
    });
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
  const deadLetters = records.filter((r) => r.topic.endsWith('.dlq')).map((r) => `${r.topic}: ${r.headers[DLQ_HEADERS.message] ?? r.headers[DLQ_HEADERS.kind]}`);
  return { ...productOutputs(records), deadLetters };
}

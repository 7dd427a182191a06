import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OutputRecord } from '../runtime/records';
import { runReplay } from '../replay/runner';
import { loadRuleSet } from '../replay/rules';
import { ArraySource } from '../replay/sources';
import { productOutputs, type ProductOutputs } from './outputs';
import type { Touchpoint } from '../processors/model/touchpoint';

/**
 * The golden run: touchpoints through the whole product on the in-process
 * driver, as an analyst's replay runs it (event time only, no broker, no
 * faults). What live must match, where live and replay are meant to agree.
 */
export async function goldenRun(touchpoints: readonly Touchpoint[], partitions: number, configDir: string, label = 'touchpoints in memory'): Promise<ProductOutputs> {
  const records: OutputRecord[] = [];
  const stateDir = await mkdtemp(join(tmpdir(), 'lp-proof-golden-'));
  try {
    await runReplay({
      source: new ArraySource(touchpoints, partitions, label),
      variants: [{ name: 'golden', rules: loadRuleSet('golden', configDir) }],
      partitions,
      stateDir: join(stateDir, 'replay'),
      appId: 'proof-golden',
      onOutput: (_variant, record) => records.push(record),
    });
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
  return productOutputs(records);
}

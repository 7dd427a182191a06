import { join } from 'node:path';
import { loadProductConfig } from '../../config/product';
import { IdentifierHasher, identitySecret } from '../../processors/identity/identifiers';
import { touchpoint, type Identifier, type Touchpoint } from '../../processors/model/touchpoint';
import { InProcessEngine, type InProcessEngineOptions } from '../../runtime/in-process-engine';
import { InMemoryRegistry } from '../../runtime/serde/registry';
import { buildTopology, type ProductConfig } from '../../topology';

export const CONFIG_DIR = join(__dirname, '..', '..', 'config');

export function productConfig(): ProductConfig {
  return loadProductConfig(CONFIG_DIR);
}

/** The product topology on the in-process driver, with an in-memory registry. */
export async function productDriver(partitions = 4, config = productConfig(), options: InProcessEngineOptions = {}): Promise<InProcessEngine> {
  return InProcessEngine.create(buildTopology({ appId: 'lp-test', partitions, config, registry: new InMemoryRegistry() }), options);
}

/** The key an identifier has after ingest, as tests need to look it up. */
export function identifierKey(type: string, raw: string, config = productConfig()): string {
  const hasher = new IdentifierHasher(config.identity, identitySecret(config.identity));
  const normalised = hasher.normalise(type, raw);
  if (!normalised.ok) throw new Error(`${type} ${raw}: ${normalised.reason}`);
  return hasher.hash(type, normalised.value);
}

let sequence = 0;

/** A touchpoint for tests: a unique event id, the given time, channel, type and identifiers. */
export function tp(at: number, channel: string, eventType: string, ids: Record<string, string> | Identifier[], extra: Partial<Touchpoint> = {}): Touchpoint {
  const identifiers = Array.isArray(ids) ? ids : Object.entries(ids).map(([type, value]) => ({ type, value }));
  return touchpoint({ eventId: `e${++sequence}-${at}`, occurredAt: at, channel, eventType, identifiers, ...extra });
}

export const T0 = Date.UTC(2026, 9, 1, 9, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

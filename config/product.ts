import { join } from 'node:path';
import { loadIdentityConfig } from '../processors/identity/config';
import type { ProductConfig } from '../topology';

/** Every rule and config file of the product, read and validated from one directory (start-up fails on the first bad one). */
export function loadProductConfig(dir: string): ProductConfig {
  return {
    identity: loadIdentityConfig(join(dir, 'identity.yaml')),
  };
}

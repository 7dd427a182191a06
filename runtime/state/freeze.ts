/**
 * Freezes a value and everything it holds, so that changing it throws (in
 * strict mode, which TypeScript modules are). Byte arrays stay as they
 * are: a typed array with elements cannot be frozen.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value) || ArrayBuffer.isView(value)) return value;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}

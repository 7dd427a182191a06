/**
 * Deep-freezes a value in place and returns it: the test driver's (and a
 * debugging replay's) enforcement of the read-only contract on store values
 * and forwarded records (processor.ts), so that a processor that changes
 * one in place throws a TypeError (modules are strict mode) instead of
 * silently changing what the store will write or what a sibling node sees.
 *
 * Cheap enough for tests: an object that is frozen already is not walked
 * again. Values are built by copy-on-write, so a new version shares its
 * unchanged parts with the previous one, which were frozen when it was
 * stored or forwarded; only the new parts are walked. Buffers and other
 * typed arrays cannot be frozen (and serialised bytes are not state).
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value) || ArrayBuffer.isView(value)) return value;
  Object.freeze(value);
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
  else for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  return value;
}

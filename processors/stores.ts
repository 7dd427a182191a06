/**
 * The product's state stores, one constant each, named alike: topology.ts
 * declares them and every processor that reads one names it from here.
 * The text is part of each changelog topic's name, so it never changes.
 */
export const PROFILES_STORE = 'profiles';
export const LIFT_STORE = 'lift';
/** Identifier (hashed) -> canonical profile id; written by the link task only. */
export const IDENTIFIERS_STORE = 'identifiers';
/** Canonical profile id -> its identifiers, for merges and erasure. */
export const DIRECTORY_STORE = 'profile-directory';
/** Identifier (hashed) -> an identity_correction waiting for the merge it names; the link task's. */
export const PENDING_CORRECTIONS_STORE = 'pending-corrections';
/** The global table of IDENTIFIERS_STORE's changelog, read by every resolve task. */
export const IDENTITY_GRAPH_STORE = 'identity-graph';

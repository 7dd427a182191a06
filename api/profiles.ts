import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IdentifierHasher } from '../processors/identity/identifiers';
import { profileIdFor } from '../processors/identity/identifiers';
import { isForwarding, type ProfileEntry, type ProfileState } from '../processors/model/profile-state';
import { partitionForKey } from '../runtime/kafka/partitioner';

/** Where the profile task's state lives, and how to reach other instances. */
export interface ProfileLocator {
  /** Topic the profile task reads (its partition of a profile id is the task's). */
  topic: string;
  partitions: number;
  /** The `profiles` store of the local task for this partition, if this instance runs it. */
  localStore(partition: number): { get(key: string): Promise<ProfileEntry | undefined> } | undefined;
  /** Canonical profile of an identifier key, from the identity graph. */
  identityGraph(): { get(key: string): Promise<string | undefined> } | undefined;
  /** host:port of the instance that owns a partition of `topic`, if known. */
  owner(partition: number): Promise<string | undefined>;
}

/** Where a profile was found: here, at another instance, or nowhere (with the HTTP status to answer). */
export type Located = { state: ProfileState } | { owner: string } | { status: number; error: string; profileId: string };

const FORWARDED = 'x-lp-forwarded';
const MAX_POINTER_HOPS = 8;

/**
 * Finds a profile's state by id, following the pointers merges leave. A
 * request that was already forwarded once is answered here or refused:
 * forwarding never loops between instances.
 */
export async function locateProfile(locator: ProfileLocator, profileId: string, request: FastifyRequest, hops = 0): Promise<Located> {
  const partition = partitionForKey(Buffer.from(profileId), locator.partitions);
  const store = locator.localStore(partition);
  if (!store) {
    if (request.headers[FORWARDED]) return { status: 503, error: `partition ${partition} is not ready on this instance`, profileId };
    const owner = await locator.owner(partition);
    if (!owner) return { status: 503, error: `no instance owns partition ${partition} of ${locator.topic} right now`, profileId };
    return { owner };
  }
  const entry = await store.get(profileId);
  if (entry === undefined) return { status: 404, error: 'no such profile', profileId };
  if (isForwarding(entry)) {
    if (hops >= MAX_POINTER_HOPS) return { status: 508, error: 'merge pointers loop', profileId };
    return locateProfile(locator, entry.mergedInto, request, hops + 1);
  }
  return { state: entry };
}

/**
 * The profile id an identifier belongs to, the value as a channel knows it:
 * normalised and hashed exactly like ingest, so the raw value is never
 * stored or logged. A person never seen gets the id they would have.
 */
export async function profileIdOf(locator: ProfileLocator, hasher: IdentifierHasher, type: string, raw: string): Promise<{ profileId: string } | { error: string }> {
  const normalised = hasher.normalise(type, raw);
  if (!normalised.ok) return { error: `${type}: ${normalised.reason}` };
  const key = hasher.hash(type, normalised.value);
  return { profileId: (await locator.identityGraph()?.get(key)) ?? profileIdFor(key) };
}

/** Answers a request with what the owner of its profile answers to `path`, sent once with the caller's token. */
export async function forwardTo(owner: string, path: string, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  try {
    const answered = await fetch(`http://${owner}${path}`, { headers: { authorization: request.headers.authorization ?? '', [FORWARDED]: '1' } });
    return reply.status(answered.status).header('content-type', 'application/json').header('x-lp-served-by', owner).send(await answered.text());
  } catch (error) {
    return reply.status(502).send({ error: `the owner ${owner} did not answer: ${(error as Error).message}` });
  }
}

/** Answers with the state rendered, the owner's answer, or the reason there is none. */
export async function answerProfile(
  locator: ProfileLocator,
  profileId: string,
  path: (profileId: string) => string,
  request: FastifyRequest,
  reply: FastifyReply,
  render: (state: ProfileState) => unknown | Promise<unknown>,
): Promise<FastifyReply> {
  const located = await locateProfile(locator, profileId, request);
  if ('state' in located) return reply.send(await render(located.state));
  if ('owner' in located) return forwardTo(located.owner, path(profileId), request, reply);
  return reply.status(located.status).send({ error: located.error, profileId: located.profileId });
}

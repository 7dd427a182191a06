import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IdentifierHasher } from '../processors/identity/identifiers';
import { profileIdFor } from '../processors/identity/identifiers';
import { isForwarding, type ProfileEntry, type ProfileState } from '../processors/model/profile-state';
import type { RouteHandler } from '../runtime/http';
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

export interface ProfileApiOptions {
  /** Bearer token the API requires; undefined disables the API (every request gets 401). */
  token: string | undefined;
  locator: ProfileLocator;
  hasher: IdentifierHasher;
  /** What the API answers for a profile (the unified view, with journey and explanations). */
  render(state: ProfileState): unknown;
}

const FORWARDED = 'x-lp-forwarded';
const MAX_POINTER_HOPS = 8;

/**
 * The profile query API, on every instance: GET /profiles/{id} and
 * GET /profiles/by-identifier/{type}/{value} (the value as the channel knows
 * it; it is normalised and hashed exactly like ingest, so the raw value is
 * never stored or logged). A request for a profile another instance owns is
 * forwarded there once, with the caller's token.
 */
export function profileApi(options: ProfileApiOptions): RouteHandler {
  return async (request, response, url) => {
    if (!authorised(request, options.token)) return send(response, 401, { error: 'a valid bearer token is required' });
    if (request.method !== 'GET') return send(response, 405, { error: 'only GET' });
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    let profileId: string;
    if (parts.length === 2) {
      profileId = parts[1]!;
    } else if (parts.length === 4 && parts[1] === 'by-identifier') {
      const [type, raw] = [parts[2]!, parts[3]!];
      const normalised = options.hasher.normalise(type, raw);
      if (!normalised.ok) return send(response, 400, { error: `${type}: ${normalised.reason}` });
      const key = options.hasher.hash(type, normalised.value);
      profileId = (await options.locator.identityGraph()?.get(key)) ?? profileIdFor(key);
    } else {
      return send(response, 404, { error: 'use /profiles/{profileId} or /profiles/by-identifier/{type}/{value}' });
    }
    await answer(profileId, request, response, options, 0);
  };
}

async function answer(profileId: string, request: IncomingMessage, response: ServerResponse, options: ProfileApiOptions, hops: number): Promise<void> {
  const { locator } = options;
  const partition = partitionForKey(Buffer.from(profileId), locator.partitions);
  const store = locator.localStore(partition);
  if (!store) {
    if (request.headers[FORWARDED]) return send(response, 503, { error: `partition ${partition} is not ready on this instance`, profileId });
    const owner = await locator.owner(partition);
    if (!owner) return send(response, 503, { error: `no instance owns partition ${partition} of ${locator.topic} right now`, profileId });
    return forward(owner, `/profiles/${encodeURIComponent(profileId)}`, request, response);
  }
  const entry = await store.get(profileId);
  if (entry === undefined) return send(response, 404, { error: 'no such profile', profileId });
  if (isForwarding(entry)) {
    if (hops >= MAX_POINTER_HOPS) return send(response, 508, { error: 'merge pointers loop', profileId });
    return answer(entry.mergedInto, request, response, options, hops + 1);
  }
  send(response, 200, options.render(entry));
}

async function forward(owner: string, path: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    const answered = await fetch(`http://${owner}${path}`, {
      headers: { authorization: request.headers.authorization ?? '', [FORWARDED]: '1' },
    });
    response.writeHead(answered.status, { 'content-type': 'application/json', 'x-lp-served-by': owner });
    response.end(await answered.text());
  } catch (error) {
    send(response, 502, { error: `the owner ${owner} did not answer: ${(error as Error).message}` });
  }
}

function authorised(request: IncomingMessage, token: string | undefined): boolean {
  if (!token) return false;
  const given = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * An onRequest hook that answers 401 unless the request carries
 * `Authorization: Bearer <token>`; with no token configured every request
 * is refused (the API is off). Compared in constant time.
 */
export function requireBearer(token: string | undefined) {
  const expected = token ? Buffer.from(token) : undefined;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const given = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const a = given === undefined ? undefined : Buffer.from(given);
    if (!expected || !a || a.length !== expected.length || !timingSafeEqual(a, expected)) {
      await reply.status(401).send({ error: 'a valid bearer token is required' });
    }
  };
}

/** The OpenAPI security requirement of a route behind `requireBearer`. */
export const BEARER = [{ bearer: [] }];

import type { FastifyPluginAsync } from 'fastify';
import type { IdentifierHasher } from '../processors/identity/identifiers';
import type { ProfileState } from '../processors/model/profile-state';
import { BEARER, requireBearer } from './auth';
import { answerProfile, profileIdOf, type ProfileLocator } from './profiles';

export interface ProfileApiOptions {
  /** Bearer token the API requires; undefined disables the API (every request gets 401). */
  token: string | undefined;
  locator: ProfileLocator;
  hasher: IdentifierHasher;
  /** What the API answers for a profile (the unified view, with journey and explanations). */
  render(state: ProfileState): unknown;
}

const error = { type: 'object', properties: { error: { type: 'string' }, profileId: { type: 'string' } }, additionalProperties: true };
const profile = { type: 'object', additionalProperties: true, description: 'The unified view (schemas/ProfileView.avsc) with the journey.' };
const responses = { 200: profile, 400: error, 401: error, 404: error, 502: error, 503: error, 508: error };

/**
 * The profile query API, on every instance: GET /profiles/{id} and
 * GET /profiles/by-identifier/{type}/{value} (the value as the channel knows
 * it). A request for a profile another instance owns is forwarded there
 * once, with the caller's token.
 */
export function profileApi(options: ProfileApiOptions): FastifyPluginAsync {
  const { locator, hasher, render } = options;
  const path = (profileId: string) => `/profiles/${encodeURIComponent(profileId)}`;
  return async (app) => {
    app.addHook('onRequest', requireBearer(options.token));
    app.get<{ Params: { profileId: string } }>(
      '/profiles/:profileId',
      { schema: { summary: 'A profile by id', security: BEARER, params: { type: 'object', properties: { profileId: { type: 'string' } } }, response: responses } },
      (request, reply) => answerProfile(locator, request.params.profileId, path, request, reply, render),
    );
    app.get<{ Params: { type: string; value: string } }>(
      '/profiles/by-identifier/:type/:value',
      {
        schema: {
          summary: "A profile by one of the person's identifiers, as the channel knows it (normalised and hashed like ingest)",
          security: BEARER,
          params: { type: 'object', properties: { type: { type: 'string' }, value: { type: 'string' } } },
          response: responses,
        },
      },
      async (request, reply) => {
        const found = await profileIdOf(locator, hasher, request.params.type, request.params.value);
        if ('error' in found) return reply.status(400).send(found);
        return answerProfile(locator, found.profileId, path, request, reply, render);
      },
    );
  };
}

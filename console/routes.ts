import type { FastifyPluginAsync } from 'fastify';
import { BEARER, requireBearer } from '../api/auth';
import { answerProfile, forwardTo, locateProfile, profileIdOf, type ProfileLocator } from '../api/profiles';
import type { IdentifierHasher } from '../processors/identity/identifiers';
import type { ProfileState } from '../processors/model/profile-state';
import type { ProductConfig } from '../topology';
import type { Activity } from './activity';
import { ApiError, ConsoleMeta, ConsoleProfile, LiveSnapshot, LookupAnswer, SegmentActivity, TriggerActivity, type NextView } from './model';
import { consoleProfile } from './profile-page';

export interface ConsoleApiOptions {
  /** The profile API's bearer token: one token for the API and the console. */
  token: string | undefined;
  appId: string;
  config: ProductConfig;
  locator: ProfileLocator;
  hasher: IdentifierHasher;
  activity: Activity;
  readiness(): Promise<LiveSnapshot['readiness']>;
  /** What the engine would do next for a person (console/next.ts). */
  next(state: ProfileState, config: ProductConfig, at: number): NextView;
}

const errors = { 400: ApiError, 401: ApiError, 404: ApiError, 502: ApiError, 503: ApiError, 508: ApiError };
const text = (description: string) => ({ type: 'string', description });

/**
 * The console's JSON API, under /api/console, behind the profile API's
 * token; its answers are the schemas of console/model.ts (so /openapi.json
 * documents them). A person's page is rendered by the instance that owns
 * their profile, like the profile API.
 */
export function consoleApi(options: ConsoleApiOptions): FastifyPluginAsync {
  const { locator, hasher, activity, config } = options;
  const meta: ConsoleMeta = {
    appId: options.appId,
    identifierTypes: [...config.identity.typeStrength],
    triggers: config.triggers.triggers.map((t) => ({ id: t.id, description: t.description })),
  };
  const descriptions = new Map(meta.triggers.map((t) => [t.id, t.description]));
  const profilePath = (profileId: string) => `/api/console/profiles/${encodeURIComponent(profileId)}`;

  return async (app) => {
    app.addHook('onRequest', requireBearer(options.token));
    const tags = ['console'];

    app.get('/api/console/meta', { schema: { tags, summary: 'What the pages need to know of this engine', security: BEARER, response: { 200: ConsoleMeta, ...errors } } }, async () => meta);

    app.get<{ Params: { type: string; value: string } }>(
      '/api/console/lookup/:type/:value',
      {
        schema: {
          tags,
          summary: 'The person an identifier belongs to (the value as they say it: normalised and hashed like ingest)',
          security: BEARER,
          params: { type: 'object', properties: { type: text('identifier type, e.g. phone'), value: text('the value, e.g. 087 100 0000') } },
          response: { 200: LookupAnswer, ...errors },
        },
      },
      async (request, reply) => {
        const { type, value } = request.params;
        const found = await profileIdOf(locator, hasher, type, value);
        if ('error' in found) return reply.status(400).send(found);
        const located = await locateProfile(locator, found.profileId, request);
        if ('owner' in located) return forwardTo(located.owner, `/api/console/lookup/${encodeURIComponent(type)}/${encodeURIComponent(value)}`, request, reply);
        if ('state' in located) return { profileId: located.state.id, identifierType: type };
        return reply.status(located.status).send({ error: located.status === 404 ? `no one with that ${type}` : located.error });
      },
    );

    app.get<{ Params: { profileId: string } }>(
      '/api/console/profiles/:profileId',
      {
        schema: {
          tags,
          summary: "One person's page: identifiers, consent, scores, segments, journey, commands and decisions with their traces, merges, what comes next",
          security: BEARER,
          params: { type: 'object', properties: { profileId: text('a profile id (a merged-away one answers its winner)') } },
          response: { 200: ConsoleProfile, ...errors },
        },
      },
      (request, reply) =>
        answerProfile(locator, request.params.profileId, profilePath, request, reply, (state) =>
          consoleProfile(state, config.scoring, activity, options.next(state, config, state.lastSeen)),
        ),
    );

    app.get(
      '/api/console/live',
      { schema: { tags, summary: 'The roll-up: rates, lag, commands and suppressions over time, segments, lift, readiness', security: BEARER, response: { 200: LiveSnapshot, ...errors } } },
      async () => activity.snapshot(Date.now(), await options.readiness()),
    );

    app.get<{ Params: { triggerId: string } }>(
      '/api/console/triggers/:triggerId',
      {
        schema: {
          tags,
          summary: "The people behind a trigger's numbers: its latest commands and decisions, and its lift",
          security: BEARER,
          params: { type: 'object', properties: { triggerId: text('a trigger id of config/triggers.yaml') } },
          response: { 200: TriggerActivity, ...errors },
        },
      },
      async (request) => ({ triggerId: request.params.triggerId, description: descriptions.get(request.params.triggerId) ?? null, ...activity.triggerActivity(request.params.triggerId) }),
    );

    app.get<{ Params: { name: string } }>(
      '/api/console/segments/:name',
      {
        schema: {
          tags,
          summary: "The people behind a segment's size: its latest entries and exits",
          security: BEARER,
          params: { type: 'object', properties: { name: text('a segment of config/segments.yaml') } },
          response: { 200: SegmentActivity, ...errors },
        },
      },
      async (request) => activity.segmentActivity(request.params.name),
    );
  };
}

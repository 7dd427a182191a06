import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { EVENT, touchpoint, type Touchpoint } from '../processors/model/touchpoint';
import { BEARER, requireBearer } from './auth';

/** The channel the API's corrections come from: list it in identity.yaml `reversibleMerges.correctionChannels` to accept them. */
export const CORRECTIONS_CHANNEL = 'profile_api';

export interface CorrectionsApiOptions {
  /** Bearer token (the profile API's); undefined: every request gets 401. */
  token: string | undefined;
  /** Writes the correction to touchpoints.raw, like any channel's touchpoint; resolves once it is acknowledged. */
  submit(correction: Touchpoint): Promise<void>;
  now?: () => number;
}

interface CorrectionBody {
  identifier: { type: string; value: string };
  reason: string;
  agent?: string;
}

const body = {
  type: 'object',
  additionalProperties: false,
  required: ['identifier', 'reason'],
  properties: {
    identifier: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'value'],
      description: "The identifier that is not this person's, as the channel knows it (normalised and hashed at ingest).",
      properties: { type: { type: 'string', minLength: 1 }, value: { type: 'string', minLength: 1 } },
    },
    reason: { type: 'string', minLength: 1, maxLength: 500, description: 'Why: recorded on identity.audit.' },
    agent: { type: 'string', minLength: 1, maxLength: 100, description: 'Who made the correction (an id, not a name).' },
  },
} as const;

const accepted = {
  type: 'object',
  properties: { eventId: { type: 'string' }, channel: { type: 'string' }, outcome: { type: 'string' } },
};
const error = { type: 'object', properties: { error: { type: 'string' } }, additionalProperties: true };

/**
 * POST /identity/corrections: undo a wrong merge by naming the identifier
 * that is not this person's. The API is a channel like any other: it writes
 * an `identity_correction` touchpoint to touchpoints.raw (so a correction is
 * ordered, validated and audited exactly as one from the call centre's
 * system), and answers 202 once Kafka has it. The split, or the reason it
 * was refused, is on identity.audit under the returned event id.
 */
export function identityCorrectionsApi(options: CorrectionsApiOptions): FastifyPluginAsync {
  const now = options.now ?? Date.now;
  return async (app) => {
    app.addHook('onRequest', requireBearer(options.token));
    app.post<{ Body: CorrectionBody }>(
      '/identity/corrections',
      { schema: { summary: 'Undo a wrong merge: split off the side of an identifier', security: BEARER, body, response: { 202: accepted, 400: error, 401: error, 503: error } } },
      async (request, reply) => {
        const { identifier, reason, agent } = request.body;
        const correction = touchpoint({
          eventId: `correction-${randomUUID()}`,
          occurredAt: now(),
          channel: CORRECTIONS_CHANNEL,
          eventType: EVENT.identityCorrection,
          authenticated: true,
          identifiers: [identifier],
          attributes: { reason, ...(agent ? { agent } : {}) },
        });
        try {
          await options.submit(correction);
        } catch (cause) {
          request.log.error({ err: cause, eventId: correction.eventId }, 'identity correction not written');
          return reply.status(503).send({ error: `the correction could not be written to Kafka: ${(cause as Error).message}` });
        }
        return reply.status(202).send({
          eventId: correction.eventId,
          channel: CORRECTIONS_CHANNEL,
          outcome: `on identity.audit as kind 'split' (or 'correction-refused', with the reason) for event ${correction.eventId}`,
        });
      },
    );
  };
}

import * as avro from 'avsc';
import { DeserializationError } from '../../runtime/errors';
import { encodeAfter } from '../../runtime/serde/avro-encode';
import type { Serde } from '../../runtime/serde/serde';
import type { ProfileEntry, ProfileState } from '../model/profile-state';
import { engagementFromStored, type EngagementState } from '../triggers/state';
import type { Provenance } from './provenance';

/**
 * The profile store's format: Avro binary, about half the size of JSON
 * (the store and its changelog hold one of these per person). Byte 0 is
 * the format version, byte 1 says state or forwarding pointer. A change to
 * ProfileState's core, scores, counters or segments needs a new version
 * here (with the old schema kept to read what is stored); the engagement
 * section travels as JSON text, so processors/triggers can change it
 * freely: a field it adds reads back empty from older entries
 * (`engagementFromStored`).
 */

/** Version 2 added `viewedAt`, version 3 `provenance`; older entries are read with their own schema. */
const VERSION = 3;
const STATE = 0;
const POINTER = 1;
const STATE_HEADER = Uint8Array.of(VERSION, STATE);
const POINTER_HEADER = Uint8Array.of(VERSION, POINTER);

const optional = (type: unknown) => ['null', type];
const stamped = (name: string, value: string) => ({
  type: 'record',
  name,
  fields: [
    { name: 'value', type: value },
    { name: 'at', type: 'long' },
  ],
});

const fieldsV1 = [
    { name: 'id', type: 'string' },
    { name: 'firstSeen', type: 'long' },
    { name: 'lastSeen', type: 'long' },
    { name: 'identifiers', type: { type: 'map', values: { type: 'array', items: 'string' } } },
    {
      name: 'channels',
      type: {
        type: 'map',
        values: {
          type: 'record',
          name: 'Channel',
          fields: [
            { name: 'count', type: 'long' },
            { name: 'lastAt', type: 'long' },
            {
              name: 'session',
              type: optional({
                type: 'record',
                name: 'Session',
                fields: [
                  { name: 'id', type: optional('string') },
                  { name: 'startedAt', type: 'long' },
                  { name: 'lastAt', type: 'long' },
                  { name: 'depth', type: 'long' },
                ],
              }),
            },
          ],
        },
      },
    },
    {
      name: 'journey',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'JourneyEntry',
          fields: [
            { name: 'at', type: 'long' },
            { name: 'eventId', type: 'string' },
            { name: 'channel', type: 'string' },
            { name: 'eventType', type: 'string' },
            { name: 'category', type: optional('string') },
            { name: 'path', type: optional('string') },
          ],
        },
      },
    },
    { name: 'traits', type: { type: 'map', values: stamped('StampedText', 'string') } },
    { name: 'consent', type: { type: 'map', values: stamped('StampedFlag', 'boolean') } },
    { name: 'timeZone', type: optional('StampedText') },
    { name: 'recentEventIds', type: { type: 'array', items: { type: 'array', items: ['long', 'string'] } } },
    {
      name: 'scores',
      type: {
        type: 'map',
        values: {
          type: 'record',
          name: 'Score',
          fields: [
            { name: 'value', type: 'double' },
            { name: 'at', type: 'long' },
            { name: 'halfLife', type: 'long' },
            { name: 'contributions', type: { type: 'map', values: 'double' } },
            { name: 'recency', type: optional('double'), default: null },
          ],
        },
      },
    },
    { name: 'counters', type: { type: 'map', values: { type: 'array', items: { type: 'array', items: 'long' } } } },
    { name: 'segments', type: { type: 'map', values: { type: 'record', name: 'Membership', fields: [{ name: 'since', type: 'long' }] } } },
    { name: 'engagement', type: 'string' },
];

/**
 * Records read back without avsc's convenience methods on their prototype: those are enumerable, so
 * a `for…in` over a record read from RocksDB would see `clone`, `toBuffer`… where the same record
 * built in memory has only its fields.
 */
const plainRecords = () => ({ omitRecordMethods: true }); // a new object each time: avsc keeps its registry of names in it

const stateTypeV1 = avro.Type.forSchema({ type: 'record', name: 'ProfileStateV1', namespace: 'dev.listeningpost.store', fields: fieldsV1 } as avro.Schema, plainRecords());

const fieldsV2 = [...fieldsV1, { name: 'viewedAt', type: optional('long'), default: null }];

const stateTypeV2 = avro.Type.forSchema({ type: 'record', name: 'ProfileStateV2', namespace: 'dev.listeningpost.store', aliases: ['ProfileStateV1'], fields: fieldsV2 } as avro.Schema, plainRecords());

const stateType = avro.Type.forSchema({
  type: 'record',
  name: 'ProfileStateV3',
  namespace: 'dev.listeningpost.store',
  aliases: ['ProfileStateV1', 'ProfileStateV2'],
  // provenance (rare: undoable merges only) travels as JSON text, like engagement
  fields: [...fieldsV2, { name: 'provenance', type: optional('string'), default: null }],
} as avro.Schema, plainRecords());

/** Read older states as version 3 (version 1: no view emitted yet; both: no provenance). */
const resolvers: Record<number, avro.Resolver> = { 1: stateType.createResolver(stateTypeV1), 2: stateType.createResolver(stateTypeV2) };

const pointerType = avro.Type.forSchema({
  type: 'record',
  name: 'ForwardingV1',
  namespace: 'dev.listeningpost.store',
  fields: [
    { name: 'mergedInto', type: 'string' },
    { name: 'at', type: 'long' },
  ],
} as avro.Schema, plainRecords());

export const profileEntrySerde: Serde<ProfileEntry> = {
  name: 'profile-entry',
  serialize(_store, entry) {
    if ('mergedInto' in entry) return encodeAfter(POINTER_HEADER, pointerType, entry);
    return encodeAfter(STATE_HEADER, stateType, {
      ...entry,
      engagement: JSON.stringify(entry.engagement),
      provenance: entry.provenance === undefined ? null : JSON.stringify(entry.provenance),
    });
  },
  deserialize(store, data) {
    if (data[0] !== VERSION && resolvers[data[0]!] === undefined) {
      throw new DeserializationError('unknown-schema', `${store}: profile entry format version ${data[0]} is not known (this build reads 1 to ${VERSION})`);
    }
    if (data[1] === POINTER) return { ...(pointerType.fromBuffer(data.subarray(2)) as { mergedInto: string; at: number }) };
    const state = stateType.fromBuffer(data.subarray(2), resolvers[data[0]!]) as Omit<ProfileState, 'engagement' | 'provenance'> & { engagement: string; provenance: string | null };
    for (const name in state.scores) {
      const score = state.scores[name]!;
      // Avro has null where the state has no field
      if (score.recency === null) delete score.recency;
    }
    return {
      ...state,
      engagement: engagementFromStored(JSON.parse(state.engagement) as Partial<EngagementState>),
      provenance: state.provenance === null ? undefined : (JSON.parse(state.provenance) as Provenance),
    } as ProfileState;
  },
};

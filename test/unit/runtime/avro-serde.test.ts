import type * as avro from 'avsc';
import { DeserializationError, UnavailableError } from '../../../runtime/errors';
import { AvroSerde } from '../../../runtime/serde/avro-serde';
import { InMemoryRegistry, type SchemaRegistryClient } from '../../../runtime/serde/registry';
import { SchemaCatalog } from '../../../runtime/serde/schema-catalog';
import { touchpoint, type Touchpoint } from '../../../processors/model/touchpoint';
import { SCHEMAS_DIR } from '../../../topology';

const catalog = SchemaCatalog.load(SCHEMAS_DIR);
const TOPIC = 'touchpoints.raw';

/** A registry that can be switched off, as a registry behind a failed network would be. */
class FlakyRegistry implements SchemaRegistryClient {
  down = false;
  constructor(private readonly inner: InMemoryRegistry) {}
  register(subject: string, schema: string): Promise<number> {
    return this.inner.register(subject, schema);
  }
  async schemaById(id: number): Promise<avro.Type> {
    if (this.down) throw new UnavailableError('registry-unavailable', `registry down (asked for ${id})`);
    return this.inner.schemaById(id);
  }
}

describe('AvroSerde', () => {
  it('turns a valid record of another schema into an unknown-schema error for that record, not an exception of the batch', async () => {
    const registry = new InMemoryRegistry();
    const serde = new AvroSerde(registry, catalog.type('Touchpoint'));
    await serde.init(TOPIC);
    const command = new AvroSerde(registry, catalog.type('SegmentMembership'));
    await command.init('segments.membership');
    const wrong = command.serialize('segments.membership', { profileId: 'p-1', segment: 's', change: 'enter', at: 1, reason: '' } as never);

    await expect(serde.prepare(TOPIC, [wrong])).resolves.toBeUndefined();
    expect(() => serde.deserialize(TOPIC, wrong)).toThrow(DeserializationError);
    expect(() => serde.deserialize(TOPIC, wrong)).toThrow(/cannot be read as dev.listeningpost.Touchpoint/);
  });

  it('lets an unavailable registry fail the prepare (so the task waits), and reads the record once it answers again', async () => {
    const registry = new FlakyRegistry(new InMemoryRegistry());
    const writer = new AvroSerde(registry, catalog.type('Touchpoint'));
    await writer.init('other-topic');
    const reader = new AvroSerde<Touchpoint>(registry, catalog.type('Touchpoint'));
    const bytes = writer.serialize('other-topic', touchpoint({ eventId: 'e-1', occurredAt: 1, channel: 'web', eventType: 'page_view' }));

    registry.down = true;
    await expect(reader.prepare(TOPIC, [bytes])).rejects.toThrow(UnavailableError);
    registry.down = false;
    await reader.prepare(TOPIC, [bytes]);
    expect(reader.deserialize(TOPIC, bytes).eventId).toBe('e-1');
  });
});

import type { Logger } from 'pino';
import type { Topology } from '../../topology';
import type { EngineAdmin, GroupConsumerOptions, KafkaClient, TaskProducerOptions } from '../adapter';
import type { KafkaConnection } from '../connection';
import { withRetries } from './retry';
import { AssignerProtocol, loggingKafka, type Admin } from './client';
import { withKafkaErrors } from './errors';
import { KafkajsGroupConsumer } from './group-consumer';
import { KafkajsPartitionReader } from './partition-reader';
import { connectTaskProducer } from './task-producer';
import { verifyTopics } from './topics';

/** The engine's Kafka client on kafkajs 2.2.4 (patched: patch.ts). */
export function kafkajsClient(clientId: string, connection: KafkaConnection, log: Logger): KafkaClient {
  const kafka = loggingKafka(clientId, connection, log);
  return {
    admin: () => new KafkajsAdmin(kafka.admin()),
    groupConsumer: (options: GroupConsumerOptions) => new KafkajsGroupConsumer(kafka, options),
    taskProducer: (options: TaskProducerOptions) => connectTaskProducer(kafka, options),
    partitionReader: () => new KafkajsPartitionReader(kafka),
  };
}

class KafkajsAdmin implements EngineAdmin {
  constructor(private readonly admin: Admin) {}

  connect(): Promise<void> {
    return withKafkaErrors(() => this.admin.connect());
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }

  verifyTopics(topology: Topology): Promise<void> {
    return withKafkaErrors(() => verifyTopics(this.admin, topology));
  }

  async committedOffsets(groupId: string, topics: readonly string[], partition: number): Promise<Map<string, bigint>> {
    const result = new Map<string, bigint>();
    const fetched = await withKafkaErrors(() => withRetries(() => this.admin.fetchOffsets({ groupId, topics: [...topics] })));
    for (const entry of fetched) {
      const p = entry.partitions.find((x) => x.partition === partition);
      if (p && Number(p.offset) >= 0) result.set(entry.topic, BigInt(p.offset));
    }
    return result;
  }

  async groupMembers(groupId: string): Promise<{ userData: Buffer | null; assignment: Record<string, number[]> }[]> {
    const described = await this.admin.describeGroups([groupId]);
    return (described.groups[0]?.members ?? []).map((m) => ({
      userData: AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData ?? null,
      assignment: AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {},
    }));
  }
}

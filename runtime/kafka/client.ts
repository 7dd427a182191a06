// kafkajs, with the patch that must be applied before it loads (see kafkajs-patch.ts).
// Product code imports the Kafka client from here, never from 'kafkajs' directly.
import './kafkajs-patch';

export * from 'kafkajs';

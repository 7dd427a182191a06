import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '../errors';
import { KafkaError } from './kafka-errors';

const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/** SASL with a user name and a password: the mechanisms every Kafka client speaks. */
export type SaslCredentials = { [M in (typeof MECHANISMS)[number]]: { mechanism: M; username: string; password: string } }[(typeof MECHANISMS)[number]];

/** How every client of the product (engine, topics, replay, simulator, demo) reaches Kafka. */
export interface KafkaConnection {
  brokers: string[];
  /** TLS; `true` trusts the system's certificate authorities. */
  ssl?: ConnectionOptions | true;
  sasl?: SaslCredentials;
}


/**
 * The connection to `brokers` (LP_KAFKA_BROKERS, or the local stack's:
 * local-stack/settings.ts) with the security the environment describes:
 *
 * - `LP_KAFKA_SSL=true`: TLS, trusting the system's authorities, or only the
 *   PEM file `LP_KAFKA_SSL_CA_FILE` when it is set (setting it alone turns TLS on);
 * - `LP_KAFKA_SASL_MECHANISM` (plain, scram-sha-256, scram-sha-512) with
 *   `LP_KAFKA_SASL_USERNAME` and `LP_KAFKA_SASL_PASSWORD`.
 *
 * A half-described connection (a mechanism without a password, an unknown
 * mechanism, a CA file that cannot be read) is a ConfigError naming the
 * variable. The password is never part of an error or a log line.
 */
export function kafkaConnection(brokers: string[], env: NodeJS.ProcessEnv): KafkaConnection {
  const connection: KafkaConnection = { brokers };
  const caFile = env.LP_KAFKA_SSL_CA_FILE;
  if (caFile) {
    let ca: string;
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (error) {
      throw new ConfigError('environment', 'LP_KAFKA_SSL_CA_FILE', `cannot read ${caFile}: ${(error as Error).message}`);
    }
    connection.ssl = { ca: [ca] };
  } else if (env.LP_KAFKA_SSL !== undefined && env.LP_KAFKA_SSL !== '') {
    if (env.LP_KAFKA_SSL !== 'true' && env.LP_KAFKA_SSL !== 'false') throw new ConfigError('environment', 'LP_KAFKA_SSL', `'${env.LP_KAFKA_SSL}' is not true or false`);
    if (env.LP_KAFKA_SSL === 'true') connection.ssl = true;
  }
  const mechanism = env.LP_KAFKA_SASL_MECHANISM?.toLowerCase();
  if (mechanism) {
    if (!(MECHANISMS as readonly string[]).includes(mechanism)) {
      throw new ConfigError('environment', 'LP_KAFKA_SASL_MECHANISM', `'${env.LP_KAFKA_SASL_MECHANISM}' is not one of ${MECHANISMS.join(', ')}`);
    }
    const username = env.LP_KAFKA_SASL_USERNAME;
    const password = env.LP_KAFKA_SASL_PASSWORD;
    if (!username) throw new ConfigError('environment', 'LP_KAFKA_SASL_USERNAME', `not set, and LP_KAFKA_SASL_MECHANISM is ${mechanism}`);
    if (!password) throw new ConfigError('environment', 'LP_KAFKA_SASL_PASSWORD', `not set, and LP_KAFKA_SASL_MECHANISM is ${mechanism}`);
    connection.sasl = { mechanism: mechanism as SaslCredentials['mechanism'], username, password };
  }
  return connection;
}

/** Where and how a connection goes, for logs and errors: never the password. */
export function describeConnection(connection: KafkaConnection): string {
  const security = [connection.ssl ? 'TLS' : 'plaintext', connection.sasl ? `SASL ${connection.sasl.mechanism.toUpperCase()} as '${connection.sasl.username}'` : undefined];
  return `${connection.brokers.join(',')} (${security.filter(Boolean).join(', ')})`;
}

/**
 * A refused login (a `KafkaError` of kind `kafka-authentication`) as an
 * error naming where it went, never the password; undefined for any other
 * error. Wrong credentials stay wrong: the caller stops with one clear line
 * instead of trying again.
 */
export function refusedLogin(error: unknown, connection: KafkaConnection): KafkaError | undefined {
  if (!(error instanceof KafkaError) || error.kind !== 'kafka-authentication') return undefined;
  return new KafkaError(error.kind, false, `${error.message} (${describeConnection(connection)})`, { cause: error.cause ?? error });
}

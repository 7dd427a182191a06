import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeConnection, kafkaConnection } from '../../../runtime/kafka/connection';
import { refusedCredentials } from '../../../runtime/kafka/kafkajs/errors';
import { ConfigError } from '../../../runtime/errors';
import { KafkaError } from '../../../runtime/kafka/kafka-errors';

const BROKERS = ['b1:9093', 'b2:9093'];

describe('the Kafka connection from the environment', () => {
  it('is plaintext without security variables', () => {
    expect(kafkaConnection(BROKERS, {})).toEqual({ brokers: BROKERS });
  });

  it('turns on TLS with the system\'s authorities, or only a given CA file', () => {
    expect(kafkaConnection(BROKERS, { LP_KAFKA_SSL: 'true' }).ssl).toBe(true);
    expect(kafkaConnection(BROKERS, { LP_KAFKA_SSL: 'false' }).ssl).toBeUndefined();
    const ca = join(mkdtempSync(join(tmpdir(), 'lp-ca-')), 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(kafkaConnection(BROKERS, { LP_KAFKA_SSL_CA_FILE: ca }).ssl).toEqual({ ca: [expect.stringContaining('BEGIN CERTIFICATE')] });
  });

  it('takes SASL PLAIN or SCRAM with a user and a password', () => {
    const connection = kafkaConnection(BROKERS, { LP_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', LP_KAFKA_SASL_USERNAME: 'lp', LP_KAFKA_SASL_PASSWORD: 'p4ss' });
    expect(connection.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'lp', password: 'p4ss' });
    expect(describeConnection(connection)).toBe("b1:9093,b2:9093 (plaintext, SASL SCRAM-SHA-512 as 'lp')");
    expect(describeConnection(connection)).not.toContain('p4ss');
  });

  it('names the variable of a half-described connection', () => {
    const refused = (env: NodeJS.ProcessEnv) => () => kafkaConnection(BROKERS, env);
    expect(refused({ LP_KAFKA_SSL: 'yes' })).toThrow(new ConfigError('environment', 'LP_KAFKA_SSL', "'yes' is not true or false"));
    expect(refused({ LP_KAFKA_SSL_CA_FILE: '/no/such/ca.pem' })).toThrow(/environment: LP_KAFKA_SSL_CA_FILE: cannot read \/no\/such\/ca\.pem/);
    expect(refused({ LP_KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(/LP_KAFKA_SASL_MECHANISM: 'gssapi' is not one of plain, scram-sha-256, scram-sha-512/);
    expect(refused({ LP_KAFKA_SASL_MECHANISM: 'plain', LP_KAFKA_SASL_PASSWORD: 'x' })).toThrow(/LP_KAFKA_SASL_USERNAME: not set/);
    expect(refused({ LP_KAFKA_SASL_MECHANISM: 'plain', LP_KAFKA_SASL_USERNAME: 'lp' })).toThrow(/LP_KAFKA_SASL_PASSWORD: not set/);
  });

  it('reports a refused login with where it went, and leaves other errors alone', () => {
    const connection = kafkaConnection(BROKERS, { LP_KAFKA_SSL: 'true', LP_KAFKA_SASL_MECHANISM: 'plain', LP_KAFKA_SASL_USERNAME: 'lp', LP_KAFKA_SASL_PASSWORD: 'p4ss' });
    const sasl = Object.assign(new Error('SASL PLAIN authentication failed'), { name: 'KafkaJSSASLAuthenticationError' });
    const refused = refusedCredentials(sasl, connection);
    expect(refused).toBeInstanceOf(KafkaError);
    expect(refused).toMatchObject({ kind: 'kafka-authentication', retriable: false });
    expect(refused!.message).toBe("Kafka refused the credentials: SASL PLAIN authentication failed (b1:9093,b2:9093 (TLS, SASL PLAIN as 'lp'))");
    expect(refusedCredentials(Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError', retriable: true }), connection)).toBeUndefined();
  });
});

import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import * as avro from 'avsc';
import { ConfigError, DeserializationError, SchemaError, UnavailableError } from '../errors';

/**
 * What the runtime needs from a schema registry. Production uses a server
 * that speaks the Confluent REST API; the in-process driver and offline
 * replay use the in-memory one, which gives the same ids for the same
 * registration order, so their outputs are reproducible byte for byte.
 */
export interface SchemaRegistryClient {
  /** Registers (or finds) the schema under the subject, with BACKWARD compatibility; returns its id. */
  register(subject: string, schemaText: string): Promise<number>;
  /** The writer schema for an id found in a record's wire-format header. */
  schemaById(id: number): Promise<avro.Type>;
}

/** Basic-auth credentials of a schema registry. */
export interface RegistryAuth {
  username: string;
  password: string;
}

/** LP_REGISTRY_USERNAME and LP_REGISTRY_PASSWORD, when the registry wants basic auth. */
export function registryAuth(env: NodeJS.ProcessEnv): RegistryAuth | undefined {
  const username = env.LP_REGISTRY_USERNAME;
  const password = env.LP_REGISTRY_PASSWORD;
  if (!username && !password) return undefined;
  if (!username) throw new ConfigError('environment', 'LP_REGISTRY_USERNAME', 'not set, and LP_REGISTRY_PASSWORD is');
  if (!password) throw new ConfigError('environment', 'LP_REGISTRY_PASSWORD', 'not set, and LP_REGISTRY_USERNAME is');
  return { username, password };
}

export class ConfluentRegistry implements SchemaRegistryClient {
  private readonly client: SchemaRegistry;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly url: string,
    auth?: RegistryAuth,
  ) {
    this.client = new SchemaRegistry({ host: url, clientId: 'listening-post', ...(auth ? { auth: { ...auth } } : {}) });
    this.headers = auth ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {};
  }

  async register(subject: string, schemaText: string): Promise<number> {
    // The client first GETs /config/{subject} and insists that it equals the
    // requested compatibility. Apicurio answers 200 NONE for a subject without
    // a rule (Confluent: 404), so the rule is always set first; Apicurio
    // accepts a rule for a subject that has no versions yet.
    await this.setCompatibility(subject);
    try {
      const { id } = await this.client.register(
        { type: 'AVRO' as never, schema: schemaText },
        { subject, compatibility: 'BACKWARD' as never },
      );
      return id;
    } catch (error) {
      throw new SchemaError(`registering ${subject} at ${this.url} failed: ${(error as Error).message}`);
    }
  }

  /**
   * A missing id, or a schema that is not Avro, is the record's fault (it
   * goes to the dead-letter topic); a registry that cannot answer (no
   * connection, 5xx, 429, or one that refuses our credentials) is not, and
   * the record waits for it. Read with
   * fetch, not the client library, which reports a refused connection as
   * HTTP 400.
   */
  async schemaById(id: number): Promise<avro.Type> {
    const unavailable = (why: string) => new UnavailableError('registry-unavailable', `the schema registry at ${this.url} did not answer for schema id ${id}: ${why}`);
    const response = await fetch(`${this.url}/schemas/ids/${id}`, { headers: this.headers, signal: AbortSignal.timeout(10_000) }).catch((error: unknown) => {
      throw unavailable(String((error as Error).cause ?? error));
    });
    if (response.status >= 500 || response.status === 429) throw unavailable(`HTTP ${response.status}`);
    if (response.status === 401 || response.status === 403) throw unavailable(`HTTP ${response.status}: it refuses the credentials (LP_REGISTRY_USERNAME, LP_REGISTRY_PASSWORD)`);
    if (!response.ok) throw new DeserializationError('unknown-schema', `schema id ${id} is not in the registry at ${this.url} (HTTP ${response.status})`);
    const body = (await response.json()) as { schema?: string; schemaType?: string };
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      throw new DeserializationError('unknown-schema', `schema id ${id} at ${this.url} is a ${body.schemaType} schema, not Avro`);
    }
    try {
      return avro.Type.forSchema(JSON.parse(body.schema ?? ''));
    } catch (error) {
      throw new DeserializationError('unknown-schema', `schema id ${id} at ${this.url} is not a usable Avro schema: ${(error as Error).message}`);
    }
  }

  private async setCompatibility(subject: string): Promise<void> {
    const response = await fetch(`${this.url}/config/${encodeURIComponent(subject)}`, {
      method: 'PUT',
      headers: { ...this.headers, 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: 'BACKWARD' }),
    }).catch((error: unknown) => {
      throw new UnavailableError('registry-unavailable', `the schema registry at ${this.url} cannot be reached (${String(error)}): is the stack up? (npm run stack:up)`);
    });
    if (!response.ok) {
      throw new SchemaError(`setting BACKWARD compatibility on ${subject} at ${this.url} failed: HTTP ${response.status} ${await response.text()}`);
    }
  }
}

export class InMemoryRegistry implements SchemaRegistryClient {
  private readonly bySubject = new Map<string, Map<string, number>>();
  private readonly byId = new Map<number, avro.Type>();

  async register(subject: string, schemaText: string): Promise<number> {
    const versions = this.bySubject.get(subject) ?? new Map<string, number>();
    this.bySubject.set(subject, versions);
    const known = versions.get(schemaText) ?? [...this.bySubject.values()].flatMap((v) => (v.has(schemaText) ? [v.get(schemaText)!] : []))[0];
    if (known !== undefined) {
      versions.set(schemaText, known);
      return known;
    }
    const id = this.byId.size + 1;
    this.byId.set(id, avro.Type.forSchema(JSON.parse(schemaText)));
    versions.set(schemaText, id);
    return id;
  }

  async schemaById(id: number): Promise<avro.Type> {
    const type = this.byId.get(id);
    if (!type) throw new DeserializationError('unknown-schema', `schema id ${id} is not registered`);
    return type;
  }
}

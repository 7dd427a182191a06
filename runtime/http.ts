import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface HttpOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Process is alive and not wedged; the detail says what is wrong when it is not. */
  healthy(): { healthy: boolean; detail: unknown };
  /** Process is restored and processing: send traffic and queries here. */
  ready(): { ready: boolean; detail: unknown };
  /** Routes mounted beside the built-in ones (the profile API, the console), each a fastify plugin with its schemas. */
  plugins?: FastifyPluginAsync[];
  /** Where a request that fails with a server error is logged. */
  log?: Logger;
  /** The OpenAPI document's title and version (GET /openapi.json). */
  api?: { title: string; version: string; description?: string };
}

/** A probe's answer, 200 or 503 alike: its flag and whatever detail explains it. */
const probe = (flag: string) => {
  const answer = { type: 'object', required: [flag], properties: { [flag]: { type: 'boolean' } }, additionalProperties: true };
  return { response: { 200: answer, 503: answer } };
};

/**
 * The engine's HTTP port, on fastify: /metrics (Prometheus), /healthz,
 * /readyz, /openapi.json (the OpenAPI 3 document of every route with a
 * schema) and the mounted plugins. Every error answers `{ "error": "..." }`.
 */
export class HttpServer {
  private readonly app: FastifyInstance;
  private started = false;

  constructor(private readonly options: HttpOptions) {
    this.app = Fastify({ logger: false, forceCloseConnections: true });
  }

  async start(): Promise<AddressInfo> {
    const { app, options } = this;
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: options.api ?? { title: 'Listening Post', version: '0' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      },
    });
    app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
      if (status >= 500) options.log?.error({ err: error, url: request.url }, 'HTTP request failed');
      void reply.status(status).send({ error: error.message });
    });
    app.setNotFoundHandler((request, reply) => void reply.status(404).send({ error: `no route for ${request.method} ${request.url.split('?')[0]}` }));
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      void reply.type(options.registry.contentType);
      return options.registry.metrics();
    });
    app.get('/healthz', { schema: { summary: 'Alive and not wedged', ...probe('healthy') } }, async (_request, reply) => {
      const { healthy, detail } = options.healthy();
      return reply.status(healthy ? 200 : 503).send({ healthy, ...(detail as object) });
    });
    app.get('/readyz', { schema: { summary: 'Restored and processing', ...probe('ready') } }, async (_request, reply) => {
      const { ready, detail } = options.ready();
      return reply.status(ready ? 200 : 503).send({ ready, ...(detail as object) });
    });
    for (const plugin of options.plugins ?? []) await app.register(plugin);
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    await app.ready();
    await app.listen({ port: options.port, host: options.host }).catch((error: unknown) => {
      throw new Error(`cannot listen on ${options.host}:${options.port} (${(error as Error).message})`);
    });
    this.started = true;
    return app.server.address() as AddressInfo;
  }

  async stop(): Promise<void> {
    if (this.started) await this.app.close();
  }
}

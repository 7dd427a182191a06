import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** A route mounted next to the built-in ones (e.g. the profile query API). */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void> | void;

export interface HttpOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Process is alive and not wedged; the detail says what is wrong when it is not. */
  healthy(): { healthy: boolean; detail: unknown };
  /** Process is restored and processing: send traffic and queries here. */
  ready(): { ready: boolean; detail: unknown };
  routes?: Record<string, RouteHandler>;
}

/** /metrics (Prometheus), /healthz, /readyz and any mounted routes (matched by path prefix). */
export class HttpServer {
  private server?: Server;

  constructor(private readonly options: HttpOptions) {}

  async start(): Promise<AddressInfo> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: (error as Error).message }));
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    return server.address() as AddressInfo;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/metrics') {
      response.writeHead(200, { 'content-type': this.options.registry.contentType });
      response.end(await this.options.registry.metrics());
      return;
    }
    if (url.pathname === '/healthz') {
      const { healthy, detail } = this.options.healthy();
      response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ healthy, ...(detail as object) }));
      return;
    }
    if (url.pathname === '/readyz') {
      const { ready, detail } = this.options.ready();
      response.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ready, ...(detail as object) }));
      return;
    }
    for (const [prefix, handler] of Object.entries(this.options.routes ?? {})) {
      if (url.pathname.startsWith(prefix)) {
        await handler(request, response, url);
        return;
      }
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: `no route for ${url.pathname}` }));
  }
}

import type { FastifyPluginAsync } from 'fastify';
import { Registry } from 'prom-client';
import { HttpServer } from '../../runtime/http';

/** An HTTP server on a free local port with the given route plugins, healthy and ready (route tests). */
export function testHttpServer(plugins: FastifyPluginAsync[]): HttpServer {
  return new HttpServer({
    host: '127.0.0.1',
    port: 0,
    registry: new Registry(),
    healthy: () => ({ healthy: true, detail: {} }),
    ready: () => ({ ready: true, detail: {} }),
    plugins,
  });
}

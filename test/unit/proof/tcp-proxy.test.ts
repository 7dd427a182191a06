import { once } from 'node:events';
import { createServer as createHttpServer, get, Server as HttpServer } from 'node:http';
import { AddressInfo, connect, createServer, Server } from 'node:net';
import { randomBytes } from 'node:crypto';
import { isLoopback, TcpProxy } from '../../../proof/tcp-proxy';

/** An HTTP GET on a fresh connection (no agent, so no connection is reused): resolves with the body. */
function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body));
      response.on('error', reject);
    }).on('error', reject);
  });
}

async function listening<T extends Server | HttpServer>(server: T): Promise<T> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

function portOf(server: Server | HttpServer): number {
  return (server.address() as AddressInfo).port;
}

function closeServer(server: Server | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('TcpProxy', () => {
  let target: HttpServer;
  let proxy: TcpProxy;

  beforeEach(async () => {
    target = await listening(createHttpServer((request, response) => response.end(`ok ${request.url}`)));
    proxy = await new TcpProxy({ targetPort: portOf(target) }).start();
  });

  afterEach(async () => {
    await proxy.close();
    target.closeAllConnections();
    await closeServer(target);
  });

  it('forwards requests, refuses connections while paused, and forwards again on the same port after resume', async () => {
    const port = proxy.port;
    expect(port).not.toBe(portOf(target));
    expect(await fetchText(`${proxy.url}/a`)).toBe('ok /a');
    expect(proxy.stats.accepted).toBe(1);

    await proxy.pause();
    expect(proxy.paused).toBe(true);
    await expect(fetchText(`${proxy.url}/b`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    // The target itself was never down.
    expect(await fetchText(`http://127.0.0.1:${portOf(target)}/direct`)).toBe('ok /direct');

    await proxy.resume();
    expect(proxy.paused).toBe(false);
    expect(proxy.port).toBe(port);
    expect(await fetchText(`${proxy.url}/c`)).toBe('ok /c');
    // The refused request never reached the proxy. (`cut` is not asserted: the first connection may
    // or may not have finished closing on the proxy's side when the pause came.)
    expect(proxy.stats).toMatchObject({ accepted: 2, upstreamFailures: 0, pauses: 1 });
  });

  it('closes open connections when paused', async () => {
    const client = connect(proxy.port, '127.0.0.1');
    client.setEncoding('utf8');
    client.write('GET /keep HTTP/1.1\r\nHost: test\r\nConnection: keep-alive\r\n\r\n');
    let received = '';
    await new Promise<void>((resolve) =>
      client.on('data', (chunk: string) => {
        received += chunk;
        if (received.includes('ok /keep')) resolve();
      }),
    );
    expect(proxy.openConnections).toBe(1);

    const closed = once(client, 'close');
    await proxy.pause();
    await closed;
    expect(proxy.stats.cut).toBe(1);
    expect(proxy.openConnections).toBe(0);
  });

  it('relays bytes unchanged in both directions, half-close included', async () => {
    const echo = await listening(
      createServer({ allowHalfOpen: true }, (socket) => {
        socket.pipe(socket);
      }),
    );
    const echoProxy = await new TcpProxy({ targetPort: portOf(echo) }).start();
    try {
      const payload = randomBytes(4 * 1024 * 1024);
      const client = connect({ port: echoProxy.port, host: '127.0.0.1', allowHalfOpen: true });
      const chunks: Buffer[] = [];
      client.on('data', (chunk: Buffer) => chunks.push(chunk));
      client.end(payload);
      await once(client, 'end');
      expect(Buffer.concat(chunks).equals(payload)).toBe(true);
      client.destroy();
    } finally {
      await echoProxy.close();
      await closeServer(echo);
    }
  });

  it('counts a connection whose target is down, and closes it', async () => {
    const gone = await listening(createServer());
    const port = portOf(gone);
    await closeServer(gone);
    const deadProxy = await new TcpProxy({ targetPort: port }).start();
    try {
      await expect(fetchText(deadProxy.url)).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|EPIPE/) });
      expect(deadProxy.stats).toMatchObject({ accepted: 1, upstreamFailures: 1 });
    } finally {
      await deadProxy.close();
    }
  });

  it('rewrites a target URL to go through the proxy', () => {
    const targetUrl = `http://127.0.0.1:${portOf(target)}/apis/ccompat/v7`;
    expect(proxy.urlFor(targetUrl)).toBe(`http://127.0.0.1:${proxy.port}/apis/ccompat/v7`);
    expect(() => proxy.urlFor('http://127.0.0.1:1/other')).toThrow(/does not point at/);
  });

  it('forwards to loopback addresses only', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('127.3.2.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('10.0.0.1')).toBe(false);
    expect(isLoopback('localhost')).toBe(false);
    expect(() => new TcpProxy({ targetHost: '192.168.1.1', targetPort: 80 })).toThrow(/loopback/);
    expect(() => new TcpProxy({ targetHost: 'example.com', targetPort: 80 })).toThrow(/loopback/);
  });

  it('cannot be resumed once closed, and close is idempotent', async () => {
    await proxy.pause();
    await proxy.close();
    await proxy.close();
    await expect(proxy.resume()).rejects.toThrow(/closed/);
  });
});

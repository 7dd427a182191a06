import { AddressInfo, BlockList, connect, createServer, isIP, Server, Socket } from 'node:net';

/**
 * A loopback TCP proxy that can be paused, for fault injection: put it in
 * front of a service (the schema registry) and hand its address to the
 * client under test, then `pause()` to make the service briefly unavailable
 * and `resume()` to bring it back, without touching the service or its
 * state.
 *
 * While paused nothing listens on the proxy's port, so a new connection is
 * refused by the kernel (ECONNREFUSED), exactly as when the service is down;
 * connections that were open are closed. `resume()` listens on the same
 * port again, so the client's configuration stays valid.
 *
 * Refused connections never reach the proxy, so they cannot be counted
 * here: a test shows that an outage happened from its client's errors, and
 * from `stats` (`pauses`, connections `cut`, `accepted` before and after).
 */

export interface TcpProxyOptions {
  /** A loopback address (127.0.0.0/8 or ::1); default 127.0.0.1. */
  targetHost?: string;
  targetPort: number;
  /** The port to listen on, on 127.0.0.1; 0 (the default) picks a free one, which `resume()` then keeps. */
  port?: number;
}

export interface TcpProxyStats {
  /** Connections the proxy accepted (only ever while it listens). */
  accepted: number;
  /** Open connections that `pause()` or `close()` closed. */
  cut: number;
  /** Accepted connections whose connection to the target failed; the client's connection is then closed. */
  upstreamFailures: number;
  /** How often `pause()` stopped the proxy listening. */
  pauses: number;
}

type State = 'new' | 'listening' | 'paused' | 'closed';

const LISTEN_HOST = '127.0.0.1';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** True for a literal loopback address; host names are not resolved. */
export function isLoopback(host: string): boolean {
  const family = isIP(host);
  return family !== 0 && loopback.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

function checkPort(name: string, port: number, allowZero: boolean): void {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new Error(`${name} ${port} is not a TCP port`);
  }
}

interface Connection {
  client: Socket;
  upstream: Socket;
}

export class TcpProxy {
  readonly targetHost: string;
  readonly targetPort: number;
  readonly stats: TcpProxyStats = { accepted: 0, cut: 0, upstreamFailures: 0, pauses: 0 };
  private listenPort: number;
  private state: State = 'new';
  private server: Server | undefined;
  private readonly connections = new Set<Connection>();
  /** Serialises start/pause/resume/close, so that overlapping calls cannot interleave. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: TcpProxyOptions) {
    this.targetHost = options.targetHost ?? '127.0.0.1';
    if (!isLoopback(this.targetHost)) {
      throw new Error(`tcp-proxy forwards to loopback addresses only (127.0.0.0/8, ::1), not ${this.targetHost}`);
    }
    checkPort('target port', options.targetPort, false);
    this.targetPort = options.targetPort;
    this.listenPort = options.port ?? 0;
    checkPort('listen port', this.listenPort, true);
  }

  /** Starts listening; resolves with the proxy once connections are accepted. */
  start(): Promise<this> {
    return this.serially(async () => {
      if (this.state !== 'new') throw new Error(`tcp-proxy: start() on a proxy that is ${this.state}`);
      await this.listen();
      return this;
    });
  }

  /**
   * Stops listening (new connections are refused) and closes every open
   * connection; resolves once the port is closed. Does nothing when paused.
   */
  pause(): Promise<void> {
    return this.serially(async () => {
      if (this.state === 'paused') return;
      if (this.state !== 'listening') throw new Error(`tcp-proxy: pause() on a proxy that is ${this.state}`);
      this.state = 'paused';
      this.stats.pauses++;
      await this.stopListening();
    });
  }

  /**
   * Listens again on the same port; resolves once connections are accepted.
   * Does nothing when listening. Fails with EADDRINUSE if another process
   * took the port meanwhile.
   */
  resume(): Promise<void> {
    return this.serially(async () => {
      if (this.state === 'listening') return;
      if (this.state !== 'paused') throw new Error(`tcp-proxy: resume() on a proxy that is ${this.state}`);
      await this.listen();
    });
  }

  /** Stops listening for good and closes every open connection; idempotent. */
  close(): Promise<void> {
    return this.serially(async () => {
      const wasListening = this.state === 'listening';
      this.state = 'closed';
      if (wasListening) await this.stopListening();
    });
  }

  /** The port the proxy listens on (and listens on again after a pause). */
  get port(): number {
    if (this.state === 'new' || this.listenPort === 0) throw new Error('tcp-proxy: no port before start()');
    return this.listenPort;
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://${LISTEN_HOST}:${this.port}`;
  }

  /**
   * The same URL through the proxy: `urlFor('http://127.0.0.1:18081/apis/ccompat/v7')`
   * gives `http://127.0.0.1:<port>/apis/ccompat/v7`. The URL must point at the target.
   */
  urlFor(targetUrl: string): string {
    const url = new URL(targetUrl);
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host !== this.targetHost || port !== this.targetPort) {
      throw new Error(`tcp-proxy: ${targetUrl} does not point at the proxy's target ${this.targetHost}:${this.targetPort}`);
    }
    url.hostname = LISTEN_HOST;
    url.port = String(this.port);
    return url.toString();
  }

  get paused(): boolean {
    return this.state === 'paused';
  }

  /** Connections currently forwarded. */
  get openConnections(): number {
    return this.connections.size;
  }

  private serially<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private listen(): Promise<void> {
    const server = createServer({ allowHalfOpen: true }, (client) => this.forward(client));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: LISTEN_HOST, port: this.listenPort, exclusive: true }, () => {
        server.off('error', reject);
        // After listening, errors are per connection (handled in forward); keep one stray from crashing the process.
        server.on('error', () => undefined);
        this.listenPort = (server.address() as AddressInfo).port;
        this.server = server;
        this.state = 'listening';
        resolve();
      });
    });
  }

  private async stopListening(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    // close() stops accepting at once; its callback waits for the open connections, which are destroyed next.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of this.connections) {
      this.stats.cut++;
      connection.client.destroy();
      connection.upstream.destroy();
    }
    this.connections.clear();
    await closed;
  }

  private forward(client: Socket): void {
    this.stats.accepted++;
    const upstream = connect({ host: this.targetHost, port: this.targetPort, allowHalfOpen: true });
    const connection: Connection = { client, upstream };
    this.connections.add(connection);
    let connected = false;
    upstream.once('connect', () => (connected = true));
    // An error on either side ends both; a clean end is passed on by pipe() (half-close included).
    const abort = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', abort);
    upstream.on('error', () => {
      if (!connected) this.stats.upstreamFailures++;
      abort();
    });
    const forget = () => {
      if (client.destroyed && upstream.destroyed) this.connections.delete(connection);
    };
    // Once the client's socket is closed nothing more can reach it. When the target closes
    // cleanly, pipe() has ended the client's side after what was still buffered for it.
    client.on('close', () => {
      upstream.destroy();
      forget();
    });
    upstream.on('close', (hadError) => {
      if (hadError) client.destroy();
      forget();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

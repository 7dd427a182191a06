import { createServer, type Server } from 'node:http';
import { ConfigError, UnavailableError } from '../../../runtime/errors';
import { ConfluentRegistry, registryAuth } from '../../../runtime/serde/registry';

/** A registry stand-in that answers 401 to everything and remembers the Authorization headers it saw. */
let server: Server;
let url: string;
const seen: (string | undefined)[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push(request.headers.authorization);
    response.writeHead(401).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('schema registry credentials', () => {
  it('come from LP_REGISTRY_USERNAME and LP_REGISTRY_PASSWORD, both or neither', () => {
    expect(registryAuth({})).toBeUndefined();
    expect(registryAuth({ LP_REGISTRY_USERNAME: 'u', LP_REGISTRY_PASSWORD: 'p' })).toEqual({ username: 'u', password: 'p' });
    expect(() => registryAuth({ LP_REGISTRY_USERNAME: 'u' })).toThrow(new ConfigError('environment', 'LP_REGISTRY_PASSWORD', 'not set, and LP_REGISTRY_USERNAME is'));
  });

  it('go with every request, and a refusal stalls the record (it is not the record\'s fault) without naming the password', async () => {
    const registry = new ConfluentRegistry(url, { username: 'lp', password: 'pw-9c1e' });
    const failure = registry.schemaById(7);
    await expect(failure).rejects.toBeInstanceOf(UnavailableError);
    await expect(failure).rejects.toThrow(/HTTP 401: it refuses the credentials \(LP_REGISTRY_USERNAME, LP_REGISTRY_PASSWORD\)/);
    await expect(failure).rejects.not.toThrow(/pw-9c1e/);
    expect(seen.at(-1)).toBe(`Basic ${Buffer.from('lp:pw-9c1e').toString('base64')}`);
  });
});

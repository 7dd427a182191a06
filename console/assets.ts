import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The console's pages (console/web), served without auth: they carry no
 * data; everything they show comes from /api/console/*, which requires the
 * bearer token. Register it at the root (no prefix):
 *
 *   GET /console, /console/, /console/<any page path>   index.html
 *   GET /console/assets/<file>                          console/web/<file>
 *   GET /console/assets/vendor/uPlot.iife.min.js        uplot/dist/uPlot.iife.min.js
 *   GET /console/assets/vendor/uPlot.min.css            uplot/dist/uPlot.min.css
 *
 * The assets are the files console/web holds when the engine starts (read
 * once, never a directory listing, no dotfiles), looked up by exact name:
 * a request cannot name anything else, so there is no path to traverse.
 * Every answer is `no-cache` with an ETag, so a new build shows at once and
 * an unchanged one costs a 304.
 */

/** console/web, next to this file both in the sources and in dist/ (the build copies it). */
export const CONSOLE_WEB_DIR = join(__dirname, 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

const VENDOR = ['uPlot.iife.min.js', 'uPlot.min.css'];

/**
 * What the page may load and talk to: its own origin only. No inline
 * script, no framing; `data:` images for the favicon fallback of browsers.
 */
const CSP = ["default-src 'self'", "img-src 'self' data:", "connect-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'", "object-src 'none'"].join('; ');

interface Asset {
  type: string;
  body: Buffer;
  etag: string;
}

function asset(file: string): Asset {
  const body = readFileSync(file);
  return { type: TYPES[extname(file)] ?? 'application/octet-stream', body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** The files the console serves, by the path after /console/assets/. */
export function consoleAssetFiles(webDir = CONSOLE_WEB_DIR): Map<string, Asset> {
  const files = new Map<string, Asset>();
  for (const entry of readdirSync(webDir, { withFileTypes: true })) {
    if (entry.isFile() && !entry.name.startsWith('.') && TYPES[extname(entry.name)]) files.set(entry.name, asset(join(webDir, entry.name)));
  }
  const uplotDist = join(dirname(require.resolve('uplot/package.json')), 'dist');
  for (const file of VENDOR) files.set(`vendor/${file}`, asset(join(uplotDist, file)));
  return files;
}

function send(request: FastifyRequest, reply: FastifyReply, file: Asset): FastifyReply {
  reply.header('cache-control', 'no-cache').header('etag', file.etag).header('x-content-type-options', 'nosniff');
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.type(file.type).send(file.body);
}

export const consoleAssets: FastifyPluginAsync = async (app) => {
  const files = consoleAssetFiles();
  const index = files.get('index.html');
  if (!index) throw new Error(`the console's pages are missing: no index.html in ${CONSOLE_WEB_DIR}`);

  const page = async (request: FastifyRequest, reply: FastifyReply) => send(request, reply.header('content-security-policy', CSP).header('referrer-policy', 'no-referrer'), index);
  app.get('/console', page);
  app.get('/console/', page);
  app.get('/console/*', page);

  app.get<{ Params: { '*': string } }>('/console/assets/*', async (request, reply) => {
    const file = files.get(request.params['*']);
    if (!file) return reply.code(404).send({ error: 'no such console asset' });
    return send(request, reply, file);
  });
};

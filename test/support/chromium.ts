import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';

/**
 * Debian's chromium, headless, for tests that check an HTML page in a real
 * browser (the replay report). Part of the project's test setup: CI installs
 * it with `apt-get install -y --no-install-recommends chromium fonts-dejavu-core`.
 * A test that needs it fails, never skips, when it is missing.
 */

export const CHROMIUM_INSTALL = 'apt-get install -y --no-install-recommends chromium fonts-dejavu-core';
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];

/** The chromium binary ($CHROMIUM, else Debian's paths); throws saying what to install when there is none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = env.CHROMIUM ? [env.CHROMIUM] : CANDIDATES;
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new Error(
      `chromium is not installed (looked for ${candidates.join(', ')}). The report's browser test needs it: run \`${CHROMIUM_INSTALL}\` as root (Debian 12), or set CHROMIUM to a chromium binary.`,
    );
  }
  return found;
}

export interface HeadlessOptions {
  width?: number;
  height?: number;
  timeoutMs?: number;
}

/** Flags for a quiet, offline session: without the networking ones chromium tries Google's hosts, which this machine refuses. */
export const QUIET_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** The quiet flags for a throw-away headless session. */
function flags(profileDir: string): string[] {
  return ['--headless', ...QUIET_FLAGS, `--user-data-dir=${profileDir}`];
}

async function headless(args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  const chromium = findChromium();
  const profile = await mkdtemp(join(tmpdir(), 'lp-chromium-'));
  try {
    return await new Promise((resolve, reject) => {
      execFile(chromium, [...flags(profile), ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`chromium ${args.join(' ')} failed: ${error.message}\n${stderr}`));
        else resolve({ stdout, stderr });
      });
    });
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** Opens a local HTML file and writes a PNG screenshot of it. */
export async function screenshot(htmlFile: string, pngFile: string, options: HeadlessOptions = {}): Promise<void> {
  const { width = 1280, height = 2000, timeoutMs = 60_000 } = options;
  await headless([`--screenshot=${pngFile}`, `--window-size=${width},${height}`, '--hide-scrollbars', pathToFileURL(htmlFile).href], timeoutMs);
}

/** The DOM of a local HTML file after its scripts ran, as serialised by the browser. */
export async function dumpDom(htmlFile: string, options: HeadlessOptions = {}): Promise<string> {
  const { stdout } = await headless(['--dump-dom', pathToFileURL(htmlFile).href], options.timeoutMs ?? 60_000);
  return stdout;
}

export interface PngStats {
  width: number;
  height: number;
  /** Distinct RGB colours (capped at 4096). */
  colours: number;
  /** Share of pixels that differ from the most common colour (the background). */
  inkShare: number;
}

/**
 * Decodes an 8-bit, non-interlaced PNG (what chromium writes) far enough to
 * tell a rendered page from a blank one.
 */
export async function pngStats(file: string): Promise<PngStats> {
  const data = await readFile(file);
  if (data.readUInt32BE(0) !== 0x89504e47) throw new Error(`${file} is not a PNG`);
  let offset = 8;
  let width = 0;
  let height = 0;
  let colourType = 0;
  let bitDepth = 0;
  let interlace = 0;
  const idat: Buffer[] = [];
  while (offset < data.length) {
    const length = data.readUInt32BE(offset);
    const type = data.toString('latin1', offset + 4, offset + 8);
    const body = data.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      bitDepth = body[8]!;
      colourType = body[9]!;
      interlace = body[12]!;
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colourType];
  if (bitDepth !== 8 || channels === undefined || interlace !== 0) throw new Error(`${file}: unsupported PNG (bit depth ${bitDepth}, colour type ${colourType}, interlace ${interlace})`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[x - channels]! : 0;
      const b = prev[x]!;
      const c = x >= channels ? prev[x - channels]! : 0;
      let v = line[x]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[x] = v & 0xff;
    }
  }
  const counts = new Map<number, number>();
  for (let i = 0; i < pixels.length; i += channels) {
    const rgb = channels >= 3 ? (pixels[i]! << 16) | (pixels[i + 1]! << 8) | pixels[i + 2]! : pixels[i]!;
    if (counts.size < 4096 || counts.has(rgb)) counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
  }
  const background = Math.max(...counts.values());
  const total = width * height;
  return { width, height, colours: counts.size, inkShare: (total - background) / total };
}

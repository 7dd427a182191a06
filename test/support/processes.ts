import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const running = new Set<ChildProcess>();

/** Starts a TypeScript entry point as its own Node process; its output goes to `logFile`. */
export function startProcess(entry: string, env: Record<string, string>, logFile: string): Promise<ChildProcess> {
  return startCommand([process.execPath, '--import', 'tsx', join(ROOT, entry)], { cwd: ROOT, env, logFile });
}

/** Starts a command (the program, then its arguments) with `env` on top of this process's; its output goes to `logFile`. */
export async function startCommand(command: readonly string[], options: { cwd: string; env: Record<string, string>; logFile: string }): Promise<ChildProcess> {
  await mkdir(join(options.logFile, '..'), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(command[0]!, command.slice(1), {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Kills every process a test started and did not stop (a failed test must not leave engines running). */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((child) => stopProcess(child, 'SIGKILL')));
}

/** Sends a signal and resolves with the exit code once the process is gone. */
export function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });
}

/** Here too, so that tests take their helpers from test/support only. */
export { eventually } from '../../runtime/retry';

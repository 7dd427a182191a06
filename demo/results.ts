import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

/** bench/RESULTS.md: measured numbers, each section with the machine, the date and the exact command. */
export const RESULTS_FILE = join(__dirname, '..', 'bench', 'RESULTS.md');

export function machineDescription(): string {
  const run = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return '(unavailable)';
    }
  };
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const memory = run('free', ['-h']).split('\n').find((l) => l.startsWith('Mem:'))?.replace(/\s+/g, ' ') ?? '(free -h unavailable)';
  return `nproc ${run('nproc', [])} (${cpu}); free -h: ${memory}; node ${process.version}`;
}

/** Appends a section (creating the file with its header if needed). */
export function appendResults(title: string, command: string, body: string): void {
  if (!existsSync(RESULTS_FILE)) writeFileSync(RESULTS_FILE, '# Benchmark results\n');
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  appendFileSync(RESULTS_FILE, `\n## ${title}\n\n- date: ${date}\n- machine: ${machineDescription()}\n- command: \`${command}\`\n\n${body.trim()}\n`);
}

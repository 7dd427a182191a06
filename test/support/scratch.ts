import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every test run writes its temporary files (RocksDB state, rule sets,
 * reports, child processes' files) under one directory of its own, removed
 * when the run ends: tests make them with mkdtemp(tmpdir()) and need not
 * clean up, and thousands of runs do not fill the disk. The workers and
 * their child processes find it through TMPDIR, which os.tmpdir() reads.
 */
const RUN_DIR = 'LP_TEST_RUN_DIR';

/** Once per run: the unit and the integration project each call it. */
export function createRunDir(): void {
  if (process.env[RUN_DIR]) return;
  const dir = mkdtempSync(join(tmpdir(), 'lp-test-run-'));
  process.env[RUN_DIR] = dir;
  process.env.TMPDIR = dir;
}

export function removeRunDir(): void {
  const dir = process.env[RUN_DIR];
  if (dir) rmSync(dir, { recursive: true, force: true });
}

export default createRunDir;

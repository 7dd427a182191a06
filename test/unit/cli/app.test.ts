import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { assemble, DEFAULT_CONFIG_DIR } from '../../../cli/app';

describe('assemble', () => {
  it('logs a warning for each likely mistake the config loading accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-app-'));
    cpSync(DEFAULT_CONFIG_DIR, dir, { recursive: true });
    const rules = join(dir, 'triggers.yaml');
    writeFileSync(rules, readFileSync(rules, 'utf8').replace(/ {4}measure:\n {6}conversionEvents: \[purchase\]\n$/, ''));
    const logged: { level: number; msg: string }[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => logged.push(JSON.parse(line) as { level: number; msg: string }) });
    assemble({ configDir: dir, log, env: {} });
    expect(logged.map((l) => [l.level, l.msg])).toEqual([[40, expect.stringMatching(/^triggers\.yaml: rule anonymous_search_help \(10% held out\) inherits/)]]);
  });
});

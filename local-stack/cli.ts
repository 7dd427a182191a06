import { spawn } from 'node:child_process';
import { StackError } from './install';
import { down, logFiles, restart, RestartableService, status, up } from './stack';

/** `npm run stack:<command>`: up | down [--purge] | restart kafka | status | logs [kafka|registry] [-f] */
async function main(command: string | undefined, args: string[]): Promise<number> {
  const say = (line: string) => console.log(line);
  switch (command) {
    case 'up': {
      const started = Date.now();
      const launched = await up(say);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(launched.length === 0 ? 'local stack is already up' : `local stack is up (${launched.join(', ')} started in ${seconds} s)`);
      await printStatus();
      return 0;
    }
    case 'down': {
      const stopped = await down({ purge: args.includes('--purge') });
      console.log(stopped.length === 0 ? 'local stack was not running' : `stopped ${stopped.join(', ')}`);
      if (args.includes('--purge')) console.log('deleted the broker data');
      return 0;
    }
    case 'restart': {
      const [name] = args;
      if (name !== 'kafka' && name !== 'registry') break;
      // restart() refuses the registry, with a message that says why.
      const restarted = await restart(name as RestartableService, say);
      const seconds = (ms: number) => (ms / 1000).toFixed(1);
      console.log(
        restarted.wasRunning
          ? `kafka restarted, data kept (stopped in ${seconds(restarted.stopMs)} s, ready ${seconds(restarted.startMs)} s after launch)`
          : `kafka was not running; started it (ready ${seconds(restarted.startMs)} s after launch)`,
      );
      await printStatus();
      return 0;
    }
    case 'status':
      return (await printStatus()) ? 0 : 3;
    case 'logs': {
      const files = logFiles();
      const only = args.find((a) => a === 'kafka' || a === 'registry') as keyof typeof files | undefined;
      const chosen = only ? [files[only]] : Object.values(files);
      const tail = spawn('tail', [args.includes('-f') ? '-F' : '-n', ...(args.includes('-f') ? [] : ['40']), ...chosen], {
        stdio: 'inherit',
      });
      return new Promise((resolve) => tail.on('close', (code) => resolve(code ?? 0)));
    }
  }
  console.error('usage: stack up | down [--purge] | restart kafka | status | logs [kafka|registry] [-f]');
  return 2;
}

/** Prints one line per service; true when everything runs. */
async function printStatus(): Promise<boolean> {
  const services = await status();
  for (const s of services) {
    const pid = s.pid === undefined ? '' : `pid ${s.pid}`;
    console.log(`${s.name.padEnd(9)} ${s.state.padEnd(8)} ${pid.padEnd(11)} ${s.address.padEnd(34)} log ${s.logFile}`);
  }
  return services.every((s) => s.state === 'running');
}

main(process.argv[2], process.argv.slice(3)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof StackError ? `error: ${error.message}` : error);
    process.exit(1);
  },
);

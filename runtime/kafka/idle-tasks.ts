import type { Logger } from 'pino';
import { withLock } from './active-task';
import type { EngineConfig } from './engine-config';
import type { TaskCommits } from './task-commits';
import type { TaskLifecycle } from './task-lifecycle';

/**
 * How long a source task must be quiet to say it is idle: `idleMs` once a
 * batch left it caught up; never while its last batch left a lag (it is
 * behind, not idle); ten times `idleMs` before its first batch (an empty
 * partition has none to give, while a task just moved to this instance may
 * take a moment to get its first).
 */
export function writerIdleAfter(caughtUp: boolean | undefined, idleMs: number): number {
  return caughtUp === undefined ? 10 * idleMs : caughtUp ? idleMs : Infinity;
}

/**
 * Every commit interval: punctuates the tasks that had no input for an
 * interval on the wall clock (live freshness; never moves stream time:
 * EngineConfig.wallClockPunctuation), lets source tasks that are caught up
 * and quiet say so to the readers waiting on their order
 * (EngineConfig.writerIdleMs), and commits what no batch has committed yet.
 */
export class IdleTasks {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly config: EngineConfig,
    private readonly tasks: TaskLifecycle,
    private readonly commits: TaskCommits,
    private readonly log: Logger,
    private readonly stopping: () => boolean,
    /** Whether the group's last assignment holds the task (a revoked one is closing: nothing more to commit). */
    private readonly assigned: (taskId: string) => boolean,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.config.commitIntervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    for (const active of this.tasks.all()) {
      if (!active.restored || !this.assigned(active.task.id)) continue;
      const now = Date.now();
      const quiet = now - active.lastInput;
      const idle = quiet >= this.config.commitIntervalMs;
      // A task holding records for its writers' order is waiting, not idle: its timers fire in that order.
      const punctuate = this.config.wallClockPunctuation !== false && idle && active.task.streamTime > 0 && active.task.heldRecords === 0;
      const writerIdle = active.task.mayDeclareIdle && quiet >= writerIdleAfter(active.caughtUp, this.config.writerIdleMs ?? 1_000);
      if (!punctuate && !writerIdle && !active.task.hasPendingWork) continue;
      if (!punctuate && !writerIdle && now - active.lastCommit < this.config.commitIntervalMs) continue;
      await withLock(active, async () => {
        if (this.stopping() || !this.tasks.holds(active)) return;
        if (writerIdle && active.task.declareIdle()) {
          this.log.debug({ task: active.task.id, quietMs: quiet }, 'source task idle: the tasks that take its writes in order stop waiting on it until its next record');
        }
        if (punctuate) await active.task.punctuate(active.task.streamTime + (now - active.lastInput));
        if (active.task.hasPendingWork) await this.commits.commit(active);
      }).catch((error: unknown) => this.log.error({ err: error, task: active.task.id }, 'idle commit failed'));
    }
  }
}

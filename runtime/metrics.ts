import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What /readyz and /healthz say. */
interface HealthSource {
  ready(): boolean;
  healthy(): boolean;
}

/**
 * Every metric the runtime exports, named in one place. Each engine (and
 * each test driver) owns its own registry, so several can live in one
 * process without clashing.
 */
export class RuntimeMetrics {
  readonly registry = new Registry();

  readonly recordsIn = new Counter({
    name: 'lp_records_in_total',
    help: 'Records consumed and committed (processed or dead-lettered), by source topic and partition',
    labelNames: ['topic', 'partition'] as const,
    registers: [this.registry],
  });

  readonly recordsOut = new Counter({
    name: 'lp_records_out_total',
    help: 'Records produced, by topic (outputs and changelogs)',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });

  readonly deadLettered = new Counter({
    name: 'lp_dead_letter_total',
    help: 'Records sent to a dead-letter topic and committed, by source topic, partition and error kind',
    labelNames: ['topic', 'partition', 'kind'] as const,
    registers: [this.registry],
  });

  readonly processingSeconds = new Histogram({
    name: 'lp_batch_processing_seconds',
    help: 'Time to process one consumed batch (decode, prefetch, processors, timers)',
    labelNames: ['subtopology'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly commitSeconds = new Histogram({
    name: 'lp_commit_seconds',
    help: 'Time to commit one task (transaction or offsets) and apply its state to RocksDB',
    labelNames: ['mode'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly commits = new Counter({
    name: 'lp_commits_total',
    help: 'Task commits, by outcome (committed, aborted)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly consumerLag = new Gauge({
    name: 'lp_consumer_lag',
    help: 'Records between the last consumed offset and the high watermark, by topic and partition',
    labelNames: ['topic', 'partition'] as const,
    registers: [this.registry],
  });

  readonly cacheLookups = new Counter({
    name: 'lp_store_cache_lookups_total',
    help: 'Store cache lookups by store and result (hit, miss)',
    labelNames: ['store', 'result'] as const,
    registers: [this.registry],
  });

  readonly cacheEntries = new Gauge({
    name: 'lp_store_cache_entries',
    help: 'Entries held in memory per store, summed over tasks',
    labelNames: ['store'] as const,
    registers: [this.registry],
  });

  readonly restoredRecords = new Counter({
    name: 'lp_restore_records_total',
    help: 'Changelog records applied while restoring state, by changelog topic',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });

  readonly restoringTasks = new Gauge({
    name: 'lp_tasks_restoring',
    help: 'Tasks that are restoring state and not yet processing',
    registers: [this.registry],
  });

  readonly activeTasks = new Gauge({
    name: 'lp_tasks_active',
    help: 'Tasks assigned to this instance and processing',
    registers: [this.registry],
  });

  /** What /readyz and /healthz say, read at each scrape (set by `reportHealth`). */
  private health?: HealthSource;

  readonly ready = this.healthGauge('lp_ready', 'Whether /readyz says ready (1) or not (0): every assigned task restored, global tables caught up, nothing stalled', (h) => h.ready());

  readonly healthy = this.healthGauge('lp_healthy', 'Whether /healthz says healthy (1) or not (0)', (h) => h.healthy());

  readonly timersFired = new Counter({
    name: 'lp_timers_fired_total',
    help: 'Event-time timers fired, by processor',
    labelNames: ['processor'] as const,
    registers: [this.registry],
  });

  readonly writersIdle = new Counter({
    name: 'lp_writers_idle_total',
    help: 'Times a source task said it was idle, so that the tasks taking its writes in event-time order stop waiting on it (EngineConfig.writerIdleMs)',
    labelNames: ['task'] as const,
    registers: [this.registry],
  });

  readonly heldRecords = new Gauge({
    name: 'lp_held_records',
    help: 'Records a task holds until its writers have all got past them (runtime/input-order.ts), at its last commit',
    labelNames: ['task'] as const,
    registers: [this.registry],
  });

  readonly taskStalls = new Counter({
    name: 'lp_task_stalls_total',
    help: 'Batches a task could not process, by error kind (registry-unavailable: it waits and tries again)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly processorErrors = new Counter({
    name: 'lp_processor_errors_total',
    help: 'Records or timers on which a processor threw (the record went to the DLQ)',
    labelNames: ['processor'] as const,
    registers: [this.registry],
  });

  readonly domainEvents = new Counter({
    name: 'lp_domain_events_total',
    help: 'Things processors count (merges, guard hits, commands, suppressions), by processor and event',
    labelNames: ['processor', 'event'] as const,
    registers: [this.registry],
  });

  /** A 0/1 gauge read from the reported health at each scrape (unset until `reportHealth`). */
  private healthGauge(name: string, help: string, read: (health: HealthSource) => boolean): Gauge {
    const gauge: Gauge = new Gauge({
      name,
      help,
      registers: [this.registry],
      collect: () => {
        if (this.health) gauge.set(read(this.health) ? 1 : 0);
      },
    });
    return gauge;
  }

  /** Where `lp_ready` and `lp_healthy` read their value at each scrape. */
  reportHealth(source: HealthSource): void {
    this.health = source;
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'lp_' });
  }
}

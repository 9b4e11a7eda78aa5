import { type Meter, type MeterProvider, metrics } from "@opentelemetry/api";

/** Metric names a worker reports, through `@opentelemetry/api` (no SDK needed to run). */
export const WorkerMetricNames = {
  /** Counter: jobs claimed from the queue. */
  CLAIMS: "trellis.worker.claims",
  /** Counter: sessions continued after their worker died. */
  TAKEOVERS: "trellis.worker.takeovers",
  /** Counter: jobs finished, by `trellis.job.result` (ran, skipped, deferred, error). */
  JOBS: "trellis.worker.jobs",
  /** Gauge: sessions this worker runs now. */
  ACTIVE: "trellis.worker.active_sessions",
  /** Gauge: jobs waiting in the queue, as last read. */
  QUEUE_DEPTH: "trellis.worker.queue_depth",
} as const;

/** What the gauges read. */
export interface WorkerGauges {
  active(): number;
  queueDepth(): number;
}

/** The worker's instruments; every call is a no-op without a registered SDK. */
export class WorkerMetrics {
  readonly #claims;
  readonly #takeovers;
  readonly #jobs;

  constructor(gauges: WorkerGauges, provider?: MeterProvider) {
    const meter: Meter = (provider ?? metrics).getMeter("trellis");
    this.#claims = meter.createCounter(WorkerMetricNames.CLAIMS, {
      description: "Jobs claimed from the queue",
    });
    this.#takeovers = meter.createCounter(WorkerMetricNames.TAKEOVERS, {
      description: "Sessions continued after their worker died",
    });
    this.#jobs = meter.createCounter(WorkerMetricNames.JOBS, { description: "Jobs finished" });
    meter
      .createObservableGauge(WorkerMetricNames.ACTIVE, {
        description: "Sessions this worker runs now",
      })
      .addCallback((result) => result.observe(gauges.active()));
    meter
      .createObservableGauge(WorkerMetricNames.QUEUE_DEPTH, {
        description: "Jobs waiting in the queue",
      })
      .addCallback((result) => result.observe(gauges.queueDepth()));
  }

  claimed(count: number): void {
    if (count > 0) this.#claims.add(count);
  }

  tookOver(): void {
    this.#takeovers.add(1);
  }

  finished(result: string): void {
    this.#jobs.add(1, { "trellis.job.result": result });
  }
}

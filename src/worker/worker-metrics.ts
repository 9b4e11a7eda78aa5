import { type Meter, type MeterProvider, metrics } from "@opentelemetry/api";
import { MetricAttributes, MetricNames } from "../telemetry/attributes.js";

/** Metric names a worker reports, through `@opentelemetry/api` (no SDK needed to run). */
export const WorkerMetricNames = {
  CLAIMS: MetricNames.WORKER_CLAIMS,
  TAKEOVERS: MetricNames.WORKER_TAKEOVERS,
  JOBS: MetricNames.WORKER_JOBS,
  ACTIVE: MetricNames.WORKER_ACTIVE,
  QUEUE_DEPTH: MetricNames.WORKER_QUEUE_DEPTH,
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
    this.#jobs.add(1, { [MetricAttributes.JOB_RESULT]: result });
  }
}

/**
 * `trellis/worker`: workers that take runs from a job queue (pg-boss, in the store's
 * PostgreSQL database), so any number of processes share the sessions of one store. It needs
 * the optional packages `pg-boss` (version 10) and `pg`, loaded when a dispatcher connects.
 *
 * @module trellis/worker
 */

export { type DispatchWakesOptions, dispatchWakes } from "../worker/dispatch-wakes.js";
export type {
  JobKind,
  JobOutput,
  JobState,
  JobStatus,
} from "../worker/job.js";
export {
  PgBossDispatcher,
  type PgBossDispatcherOptions,
} from "../worker/pg-boss-dispatcher.js";
export {
  Worker,
  type WorkerHealth,
  type WorkerOptions,
  type WorkerStopResult,
} from "../worker/worker.js";
export { WorkerMetricNames } from "../worker/worker-metrics.js";

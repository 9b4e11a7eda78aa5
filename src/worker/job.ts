import { z } from "zod";

/** What a queued job asks a worker to do. */
export type JobKind = "start" | "resume" | "retry";

/**
 * A job's data, as it is stored in the queue (version 1). `start` runs an agent on input;
 * `resume` continues a suspended session (a decision arrived, or someone asked); `retry`
 * continues a session whose run stopped without ending (its worker died, or the store went away
 * mid-run), and counts as a takeover when it runs.
 */
export const JobData = z.discriminatedUnion("kind", [
  z.object({
    v: z.literal(1),
    kind: z.literal("start"),
    agent: z.string().min(1),
    sessionId: z.string().min(1).max(256),
    input: z.unknown(),
  }),
  z.object({
    v: z.literal(1),
    kind: z.enum(["resume", "retry"]),
    agent: z.string().min(1),
    sessionId: z.string().min(1).max(256),
    /** How many times this session was sent back after a passing store fault. */
    attempt: z.number().int().min(0).default(0),
    /**
     * The run a store fault failed, for a `retry` it queued: when the session's latest
     * checkpoint is that run's end after all (the write reached the store, its answer did not),
     * the retry has nothing to continue.
     */
    run: z.string().min(1).optional(),
  }),
]);

/** A job's data once read. */
export type JobData = z.infer<typeof JobData>;

/** A job a worker claimed. */
export interface ClaimedJob {
  readonly id: string;
  /** The queue it came from. */
  readonly queue: string;
  readonly data: JobData;
  /** How many times the queue handed it out before (a worker that had it died, or it expired). */
  readonly retryCount: number;
  /** When it was queued (milliseconds since the epoch). */
  readonly createdAt: number;
}

/** Where a job stands, as `PgBossDispatcher.status()` reports it. */
export type JobState = "queued" | "active" | "retrying" | "completed" | "failed" | "cancelled";

/** What `PgBossDispatcher.status()` returns. */
export interface JobStatus {
  readonly id: string;
  readonly kind: JobKind;
  readonly sessionId: string;
  readonly state: JobState;
  /** What the worker reported when it finished the job: the run's status, or why it failed. */
  readonly output?: JobOutput | undefined;
}

/** What a worker records on a job it finished. */
export interface JobOutput {
  /** `ran`: a run ended with `status`; `skipped`: nothing to do; `deferred`: sent back. */
  readonly result: "ran" | "skipped" | "deferred" | "error";
  readonly status?: string;
  readonly reason?: string;
  readonly error?: { readonly code?: string; readonly message: string };
}

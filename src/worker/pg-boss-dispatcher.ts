import type PgBoss from "pg-boss";
import { InvalidOptionError, TrellisError } from "../errors.js";
import { importOptional } from "../import-optional.js";
import { consoleLogger, type Logger } from "../logger.js";
import type { Dispatched, ResumeRequest, RunDispatcher, StartRequest } from "../run/dispatcher.js";
import {
  type ClaimedJob,
  JobData,
  type JobKind,
  type JobOutput,
  type JobState,
  type JobStatus,
} from "./job.js";
import { waitFor } from "./wait-for.js";

/** Options of `PgBossDispatcher.connect()`. */
export interface PgBossDispatcherOptions {
  /** The PostgreSQL database of the store (`postgres://…`). */
  readonly connectionString: string;
  /**
   * The schema pg-boss keeps its tables in, created on first use. Default `trellis_jobs`; use
   * `<store schema>_jobs` when several stores share a database.
   */
  readonly schema?: string;
  /**
   * How long a claimed job may stay claimed before the queue hands it to another worker, in
   * seconds: the time a start job whose worker died before the run's first checkpoint waits.
   * (A session that has checkpoints is taken over sooner, by the orphan sweep.) Default 120.
   */
  readonly jobExpireSeconds?: number;
  /** How often pg-boss expires and archives jobs, in seconds. Default 30. */
  readonly maintenanceIntervalSeconds?: number;
  /** How many times a job that failed or expired is handed out again. Default 5. */
  readonly retryLimit?: number;
  /** Connections of pg-boss's own pool. Default 4. */
  readonly poolSize?: number;
  readonly logger?: Logger;
}

/** The queue of start jobs (first come, first served). */
const START_QUEUE = "trellis-start";
/**
 * The queue of resume and retry jobs: `short` policy, one queued job per session (its
 * singleton key), so a burst of decisions for one session queues one resume.
 */
const RESUME_QUEUE = "trellis-resume";

const STATES: Readonly<Record<string, JobState>> = {
  created: "queued",
  retry: "retrying",
  active: "active",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
};

function wholeNumber(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new InvalidOptionError(name, `an integer from ${min} and up`, value);
  }
  return value;
}

/**
 * A {@link RunDispatcher} over pg-boss, in the store's PostgreSQL database: `start` and
 * `resume` queue jobs that any {@link Worker} claims. Each accepted request gets a job id to
 * look up (`status`) or wait on (`settled`). Resumes of one session collapse while one is
 * queued. Needs the optional peer `pg-boss` (version 10).
 *
 * @example
 * ```ts
 * const dispatcher = await PgBossDispatcher.connect({ connectionString });
 * const { id } = await dispatcher.start({ agent: "review", sessionId: "s1", input: {} });
 * const done = await dispatcher.settled(id); // { state: "completed", output: { status: "paused" } }
 * ```
 */
export class PgBossDispatcher implements RunDispatcher {
  readonly #boss: PgBoss;
  readonly #schema: string;
  readonly #expireSeconds: number;
  readonly #retryLimit: number;
  readonly #logger: Logger;
  #closed = false;

  private constructor(boss: PgBoss, schema: string, options: PgBossDispatcherOptions) {
    this.#boss = boss;
    this.#schema = schema;
    this.#expireSeconds = wholeNumber("jobExpireSeconds", options.jobExpireSeconds, 120);
    this.#retryLimit = wholeNumber("retryLimit", options.retryLimit, 5, 0);
    this.#logger = options.logger ?? consoleLogger;
  }

  /** Connects, creating pg-boss's schema and the two queues when they are missing. */
  static async connect(options: PgBossDispatcherOptions): Promise<PgBossDispatcher> {
    if (typeof options?.connectionString !== "string" || options.connectionString === "") {
      throw new InvalidOptionError(
        "connectionString",
        "a PostgreSQL URL (postgres://…)",
        options?.connectionString,
      );
    }
    const schema = options.schema ?? "trellis_jobs";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new InvalidOptionError(
        "schema",
        "a lower-case SQL identifier of at most 63 characters",
        schema,
      );
    }
    const maintenance = wholeNumber(
      "maintenanceIntervalSeconds",
      options.maintenanceIntervalSeconds,
      30,
    );
    const poolSize = wholeNumber("poolSize", options.poolSize, 4);
    const loaded = await importOptional(
      { feature: "PgBossDispatcher", dependency: "pg-boss" },
      () => import("pg-boss"),
    );
    const Boss = ((loaded as { default?: unknown }).default ?? loaded) as typeof PgBoss;
    const boss = new Boss({
      connectionString: options.connectionString,
      schema,
      max: poolSize,
      maintenanceIntervalSeconds: maintenance,
      monitorStateIntervalSeconds: Math.max(maintenance, 10),
      schedule: false,
      application_name: `trellis ${schema}`,
    });
    const logger = options.logger ?? consoleLogger;
    boss.on("error", (error) =>
      logger.warn("The job queue reported an error", { error: error.message }),
    );
    const dispatcher = new PgBossDispatcher(boss, schema, options);
    await boss.start();
    try {
      await dispatcher.#ensureQueue(START_QUEUE, "standard");
      await dispatcher.#ensureQueue(RESUME_QUEUE, "short");
    } catch (error) {
      await boss.stop({ graceful: false, wait: true, close: true }).catch(() => {});
      throw error;
    }
    return dispatcher;
  }

  async #ensureQueue(name: string, policy: "standard" | "short"): Promise<void> {
    // Two processes may create the queues at once; the loser finds them there.
    for (let attempt = 0; ; attempt++) {
      if ((await this.#boss.getQueue(name)) !== null) return;
      try {
        await this.#boss.createQueue(name, { name, policy });
        return;
      } catch (error) {
        if (attempt >= 2) throw error;
      }
    }
  }

  /** The pg-boss schema the jobs live in. */
  get schema(): string {
    return this.#schema;
  }

  /** Queues a start job; a worker runs `agents[agent].run(input, { sessionId })`. */
  async start(request: StartRequest): Promise<Dispatched> {
    return this.#start(request, 0);
  }

  /** @internal Sends a start job back, to run no sooner than `afterMs` from now. */
  async restart(request: StartRequest, afterMs: number): Promise<Dispatched> {
    return this.#start(request, afterMs);
  }

  async #start(request: StartRequest, afterMs: number): Promise<Dispatched> {
    checkRequest(request);
    const data: JobData = {
      v: 1,
      kind: "start",
      agent: request.agent,
      sessionId: request.sessionId,
      input: request.input,
    };
    const id = await this.#boss.send(START_QUEUE, data, {
      ...this.#sendOptions(),
      ...(afterMs > 0 ? { startAfter: new Date(Date.now() + afterMs) } : {}),
    });
    if (id === null) {
      throw new TrellisError(
        "INTERNAL",
        `The job queue refused the start of \`${request.sessionId}\`.`,
      );
    }
    return { id, sessionId: request.sessionId };
  }

  /**
   * Queues a resume of a suspended session. While one is already queued for the session, no
   * second one is made: the queued job's id is returned.
   */
  async resume(request: ResumeRequest): Promise<Dispatched> {
    return this.#keyed("resume", request, 0);
  }

  /**
   * Queues a retry: a resume of a session whose run stopped without ending (its worker died,
   * or the store went away mid-run). Collapses like `resume`.
   */
  async retry(request: ResumeRequest): Promise<Dispatched> {
    return this.#keyed("retry", request, 0);
  }

  /**
   * @internal Sends a session's job back, to run no sooner than `afterMs` from now; `run` is the
   * run a store fault failed, for a retry.
   */
  async requeue(
    kind: "resume" | "retry",
    request: ResumeRequest,
    attempt: number,
    afterMs: number,
    run?: string,
  ): Promise<Dispatched> {
    return this.#keyed(kind, request, attempt, afterMs, run);
  }

  async #keyed(
    kind: "resume" | "retry",
    request: ResumeRequest,
    attempt: number,
    afterMs = 0,
    run?: string,
  ): Promise<Dispatched> {
    checkRequest(request);
    const data: JobData = {
      v: 1,
      kind,
      agent: request.agent,
      sessionId: request.sessionId,
      attempt,
      ...(run === undefined ? {} : { run }),
    };
    const id = await this.#boss.send(RESUME_QUEUE, data, {
      ...this.#sendOptions(),
      singletonKey: request.sessionId,
      ...(afterMs > 0 ? { startAfter: new Date(Date.now() + afterMs) } : {}),
    });
    if (id !== null) return { id, sessionId: request.sessionId };
    const queued = await this.#boss
      .getDb()
      .executeSql(
        `SELECT id FROM ${this.#schema}.job WHERE name = $1 AND singleton_key = $2 AND state = 'created' LIMIT 1`,
        [RESUME_QUEUE, request.sessionId],
      );
    const existing = queued.rows[0] as { id: string } | undefined;
    // The queued one was claimed in between: queue this one after all.
    if (existing === undefined) return this.#keyed(kind, request, attempt, afterMs, run);
    return { id: existing.id, sessionId: request.sessionId };
  }

  #sendOptions(): PgBoss.SendOptions {
    return {
      retryLimit: this.#retryLimit,
      retryDelay: 1,
      expireInSeconds: this.#expireSeconds,
    };
  }

  /** Where a job stands, or `undefined` for an id no queue knows. */
  async status(id: string): Promise<JobStatus | undefined> {
    if (typeof id !== "string" || !/^[0-9a-f-]{36}$/i.test(id)) {
      throw new InvalidOptionError("id", "a job id (a UUID) from start() or resume()", id);
    }
    for (const queue of [START_QUEUE, RESUME_QUEUE]) {
      const job = await this.#boss.getJobById<unknown>(queue, id, { includeArchive: true });
      if (job === null) continue;
      const data = JobData.safeParse(job.data);
      const output = (job.output ?? undefined) as JobOutput | undefined;
      return {
        id,
        kind: (data.success ? data.data.kind : "start") as JobKind,
        sessionId: data.success ? data.data.sessionId : "",
        state: STATES[job.state] ?? "queued",
        ...(output === undefined || output === null ? {} : { output }),
      };
    }
    return undefined;
  }

  /**
   * Resolves once the job completed, failed or was cancelled (polling every `pollMs`, default
   * 200). Rejects with the signal's reason when it aborts first.
   */
  async settled(
    id: string,
    options: { readonly signal?: AbortSignal; readonly pollMs?: number } = {},
  ): Promise<JobStatus> {
    return waitFor(
      async () => {
        const status = await this.status(id);
        if (status === undefined) {
          throw new InvalidOptionError("id", "the id of a job in this queue", id);
        }
        return ["completed", "failed", "cancelled"].includes(status.state) ? status : undefined;
      },
      { pollMs: options.pollMs ?? 200, signal: options.signal },
    );
  }

  /** Jobs waiting to be claimed (queued, or due again after a failure), by queue. */
  async depth(): Promise<{ readonly start: number; readonly resume: number }> {
    const [start, resume] = await Promise.all([
      this.#boss.getQueueSize(START_QUEUE, { before: "active" }),
      this.#boss.getQueueSize(RESUME_QUEUE, { before: "active" }),
    ]);
    return { start, resume };
  }

  /** @internal Claims up to `limit` jobs, resumes first (a person is waiting on those). */
  async claim(limit: number): Promise<ClaimedJob[]> {
    const jobs: ClaimedJob[] = [];
    for (const queue of [RESUME_QUEUE, START_QUEUE]) {
      if (jobs.length >= limit) break;
      const fetched = await this.#boss.fetch<unknown>(queue, {
        batchSize: limit - jobs.length,
        includeMetadata: true,
      });
      for (const job of fetched) {
        const data = JobData.safeParse(job.data);
        if (!data.success) {
          await this.finish(queue, job.id, {
            result: "error",
            error: { message: `The job's data is not a Trellis job: ${data.error.message}` },
          });
          continue;
        }
        jobs.push({
          id: job.id,
          queue,
          data: data.data,
          retryCount: job.retryCount,
          createdAt: new Date(job.createdOn).getTime(),
        });
      }
    }
    return jobs;
  }

  /** @internal Marks a claimed job done (`error` results fail it, to be tried again). */
  async finish(queue: string, id: string, output: JobOutput): Promise<void> {
    if (output.result === "error") await this.#boss.fail(queue, id, output);
    else await this.#boss.complete(queue, id, output);
  }

  /** Stops pg-boss and closes its pool. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#boss.stop({ graceful: false, wait: true, close: true, timeout: 5_000 });
    } catch (error) {
      this.#logger.warn("The job queue did not stop cleanly", { error: String(error) });
    }
  }
}

function checkRequest(request: { readonly agent: string; readonly sessionId: string }): void {
  if (typeof request?.agent !== "string" || request.agent === "") {
    throw new InvalidOptionError("agent", "an agent's name", request?.agent);
  }
  if (
    typeof request.sessionId !== "string" ||
    request.sessionId === "" ||
    request.sessionId.length > 256
  ) {
    throw new InvalidOptionError(
      "sessionId",
      "a non-empty string of at most 256 characters",
      request.sessionId,
    );
  }
}

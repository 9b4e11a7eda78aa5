import { hostname } from "node:os";
import type { MeterProvider } from "@opentelemetry/api";
import { type CancelTimer, later } from "../clock.js";
import { InvalidOptionError } from "../errors.js";
import { consoleLogger, type Logger } from "../logger.js";
import type { AnyAgent } from "../run/define-agents.js";
import type { Store } from "../store/store.js";
import { dispatchWakes } from "./dispatch-wakes.js";
import type { ClaimedJob, JobOutput } from "./job.js";
import { findOrphans, findUnwoken } from "./orphan-sweep.js";
import { PgBossDispatcher } from "./pg-boss-dispatcher.js";
import { runJob } from "./run-job.js";
import { WorkerMetrics } from "./worker-metrics.js";

/** Options of `new Worker()`. */
export interface WorkerOptions {
  /** The store the agents write to: a `PostgresStore` when several workers share the work. */
  readonly store: Store;
  /** The agents by name, as jobs name them. */
  readonly agents: Readonly<Record<string, AnyAgent>>;
  /** The job queue. Give this or `connectionString`. */
  readonly dispatcher?: PgBossDispatcher;
  /** Connect a queue of the worker's own (closed by `stop()`) in this database. */
  readonly connectionString?: string;
  /** The pg-boss schema when the worker connects its own queue. Default `trellis_jobs`. */
  readonly jobsSchema?: string;
  /** Sessions run at once; further jobs wait in the queue. Default 10. */
  readonly concurrency?: number;
  /** How often an idle worker looks for jobs, in ms. Default 500. */
  readonly pollMs?: number;
  /**
   * How often it looks for sessions whose worker died, and for suspended sessions whose
   * waking message arrived while no worker listened, in ms. Default 5,000.
   */
  readonly sweepMs?: number;
  /** When a job whose session another process holds is tried again, in ms. Default 1,000. */
  readonly busyRetryMs?: number;
  /** When a run that failed for a passing store fault is tried again, in ms. Default 2,000. */
  readonly storeRetryMs?: number;
  /** How often one session is sent back after store faults before it stays failed. Default 10. */
  readonly maxStoreRetries?: number;
  /** Resume suspended sessions when a decision arrives (`dispatchWakes`). Default `true`. */
  readonly wake?: boolean;
  readonly logger?: Logger;
  /** Where metrics go. Default: the global OpenTelemetry meter provider (a no-op without SDK). */
  readonly meterProvider?: MeterProvider;
}

/** What `worker.health()` reports. */
export interface WorkerHealth {
  readonly state: "created" | "running" | "stopping" | "stopped";
  readonly concurrency: number;
  /** Sessions this worker runs now. */
  readonly active: number;
  readonly sessions: readonly string[];
  /** Jobs claimed since start. */
  readonly claims: number;
  /** Sessions continued after their worker died. */
  readonly takeovers: number;
  /** Jobs that ran a run, found nothing to do, were sent back, or failed. */
  readonly jobs: {
    readonly ran: number;
    readonly skipped: number;
    readonly deferred: number;
    readonly error: number;
  };
  /** Jobs waiting in the queue, as last read (each sweep reads it). */
  readonly queueDepth: number;
  /** The last error the worker met (claiming, sweeping), if any. */
  readonly lastError?: string;
}

/** What `stop()` did. */
export interface WorkerStopResult {
  /** Whether every run ended before the deadline. */
  readonly drained: boolean;
  /** Sessions still running at the deadline: another worker takes them over once this process's store closes. */
  readonly abandoned: readonly string[];
}

function integer(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidOptionError(name, `an integer from 1 to ${max}`, value);
  }
  return value;
}

/**
 * Takes runs from the job queue and runs them with its agents, at most `concurrency` sessions
 * at once. Start as many workers as you like, in any number of processes over one PostgreSQL
 * database: each session is run by one of them at a time (the store's lease decides), a
 * session whose worker died is continued by another from its last checkpoint, and a decision
 * sent to a suspended session queues its resume.
 *
 * @example
 * ```ts
 * const store = await PostgresStore.connect({ connectionString });
 * const worker = new Worker({ store, agents: { review }, connectionString, concurrency: 20 });
 * await worker.start();
 * process.on("SIGTERM", () => void worker.stop({ deadlineMs: 30_000 }));
 * ```
 */
export class Worker {
  readonly #store: Store;
  readonly #agents: Readonly<Record<string, AnyAgent>>;
  readonly #options: WorkerOptions;
  readonly #concurrency: number;
  readonly #pollMs: number;
  readonly #sweepMs: number;
  readonly #busyRetryMs: number;
  readonly #storeRetryMs: number;
  readonly #maxStoreRetries: number;
  readonly #logger: Logger;
  readonly #metrics: WorkerMetrics;
  readonly #owner = `worker:${hostname()}:${process.pid}`;
  readonly #running = new Map<string, Promise<void>>();
  #dispatcher: PgBossDispatcher | undefined;
  #ownsDispatcher = false;
  #state: WorkerHealth["state"] = "created";
  #pumping = false;
  #again = false;
  #poll: CancelTimer | undefined;
  #sweep: CancelTimer | undefined;
  #unwake: (() => void) | undefined;
  #claims = 0;
  #takeovers = 0;
  #queueDepth = 0;
  #lastError: string | undefined;
  readonly #jobs = { ran: 0, skipped: 0, deferred: 0, error: 0 };

  constructor(options: WorkerOptions) {
    if (typeof options?.store?.commit !== "function") {
      throw new InvalidOptionError(
        "store",
        "a Store (a PostgresStore to share work)",
        options?.store,
      );
    }
    if (typeof options.agents !== "object" || options.agents === null) {
      throw new InvalidOptionError("agents", "a record of GraphAgents by name", options.agents);
    }
    if ((options.dispatcher === undefined) === (options.connectionString === undefined)) {
      throw new InvalidOptionError(
        "dispatcher",
        "a PgBossDispatcher, or a `connectionString` to connect one (one of the two)",
        options.dispatcher,
      );
    }
    this.#store = options.store;
    this.#agents = options.agents;
    this.#options = options;
    this.#dispatcher = options.dispatcher;
    this.#concurrency = integer("concurrency", options.concurrency, 10, 1_000);
    this.#pollMs = integer("pollMs", options.pollMs, 500, 60_000);
    this.#sweepMs = integer("sweepMs", options.sweepMs, 5_000, 3_600_000);
    this.#busyRetryMs = integer("busyRetryMs", options.busyRetryMs, 1_000, 3_600_000);
    this.#storeRetryMs = integer("storeRetryMs", options.storeRetryMs, 2_000, 3_600_000);
    this.#maxStoreRetries = integer("maxStoreRetries", options.maxStoreRetries, 10, 1_000);
    this.#logger = options.logger ?? consoleLogger;
    this.#metrics = new WorkerMetrics(
      { active: () => this.#running.size, queueDepth: () => this.#queueDepth },
      options.meterProvider,
    );
  }

  /** The queue this worker claims from (connected by `start()` when given a connection string). */
  get dispatcher(): PgBossDispatcher | undefined {
    return this.#dispatcher;
  }

  /** Connects the queue if needed, then claims jobs and sweeps for orphans until `stop()`. */
  async start(): Promise<void> {
    if (this.#state !== "created") {
      throw new InvalidOptionError("start()", "called once, on a new worker", this.#state);
    }
    this.#state = "running";
    if (this.#dispatcher === undefined) {
      this.#dispatcher = await PgBossDispatcher.connect({
        connectionString: this.#options.connectionString!,
        ...(this.#options.jobsSchema === undefined ? {} : { schema: this.#options.jobsSchema }),
        logger: this.#logger,
      });
      this.#ownsDispatcher = true;
    }
    if (this.#options.wake !== false) {
      this.#unwake = dispatchWakes({
        store: this.#store,
        dispatcher: this.#dispatcher,
        agents: this.#agents,
        logger: this.#logger,
      });
    }
    this.#pump();
    void this.#sweepOnce();
  }

  /**
   * Stops claiming, waits up to `deadlineMs` (default 30 s) for the runs under way to end (a
   * run ends at its next suspension, or when the graph finishes), and releases their leases as
   * they do. Runs still going at the deadline are left to another worker: they continue from
   * their last checkpoint once this process's store is closed.
   */
  async stop(options: { readonly deadlineMs?: number } = {}): Promise<WorkerStopResult> {
    const deadlineMs = options.deadlineMs ?? 30_000;
    if (!Number.isFinite(deadlineMs) || deadlineMs < 0) {
      throw new InvalidOptionError("deadlineMs", "a number of milliseconds from 0 up", deadlineMs);
    }
    if (this.#state === "stopped" || this.#state === "stopping") {
      return { drained: this.#running.size === 0, abandoned: [...this.#running.keys()] };
    }
    this.#state = "stopping";
    this.#poll?.();
    this.#sweep?.();
    this.#unwake?.();
    let timer: CancelTimer | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = later(deadlineMs, resolve, { keepAlive: true });
    });
    const drain = (async () => {
      while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()]);
    })();
    await Promise.race([drain, deadline]);
    timer?.();
    const abandoned = [...this.#running.keys()];
    if (this.#ownsDispatcher) await this.#dispatcher?.close();
    this.#state = "stopped";
    return { drained: abandoned.length === 0, abandoned };
  }

  /** Active sessions, claims, takeovers, jobs by result and the queue's depth. */
  health(): WorkerHealth {
    return {
      state: this.#state,
      concurrency: this.#concurrency,
      active: this.#running.size,
      sessions: [...this.#running.keys()],
      claims: this.#claims,
      takeovers: this.#takeovers,
      jobs: { ...this.#jobs },
      queueDepth: this.#queueDepth,
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
    };
  }

  /** Claims jobs while there is room; one pump at a time, a call during one runs it again. */
  #pump(): void {
    if (this.#state !== "running") return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    this.#poll?.();
    this.#poll = undefined;
    void this.#fill().finally(() => {
      this.#pumping = false;
      if (this.#state !== "running") return;
      if (this.#again) {
        this.#again = false;
        this.#pump();
      } else {
        this.#poll = later(this.#pollMs, () => this.#pump(), { keepAlive: true });
      }
    });
  }

  async #fill(): Promise<void> {
    const dispatcher = this.#dispatcher!;
    while (this.#state === "running" && this.#running.size < this.#concurrency) {
      let jobs: ClaimedJob[];
      try {
        jobs = await dispatcher.claim(this.#concurrency - this.#running.size);
      } catch (error) {
        this.#fault("Could not claim jobs; trying again", error);
        return;
      }
      this.#claims += jobs.length;
      this.#metrics.claimed(jobs.length);
      for (const job of jobs) this.#launch(job);
      if (jobs.length === 0) return;
    }
  }

  #launch(job: ClaimedJob): void {
    const sessionId = job.data.sessionId;
    const earlier = this.#running.get(sessionId) ?? Promise.resolve();
    // Two jobs of one session claimed together run one after the other here.
    const done: Promise<void> = earlier
      .then(() => this.#handle(job))
      .catch((error: unknown) => this.#fault("A job failed unexpectedly", error))
      .finally(() => {
        if (this.#running.get(sessionId) === done) this.#running.delete(sessionId);
        this.#pump();
      });
    this.#running.set(sessionId, done);
  }

  async #handle(job: ClaimedJob): Promise<void> {
    const dispatcher = this.#dispatcher!;
    const { data } = job;
    const agent = this.#agents[data.agent];
    let output: JobOutput;
    if (agent === undefined) {
      output = {
        result: "error",
        error: {
          code: "INVALID_OPTION",
          message: `No agent \`${data.agent}\` in this worker (it runs ${Object.keys(this.#agents).join(", ") || "none"}).`,
        },
      };
    } else {
      try {
        output = await this.#carryOut(job, agent);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        output = {
          result: "error",
          error: {
            ...(typeof code === "string" ? { code } : {}),
            message: error instanceof Error ? error.message : String(error),
          },
        };
        this.#logger.warn("A job failed; the queue hands it out again", {
          sessionId: data.sessionId,
          kind: data.kind,
          error: output.error?.message,
        });
      }
    }
    this.#jobs[output.result]++;
    this.#metrics.finished(output.result);
    try {
      await dispatcher.finish(job.queue, job.id, output);
    } catch (error) {
      this.#fault("Could not mark a job done; it expires and is handed out again", error);
    }
  }

  async #carryOut(job: ClaimedJob, agent: AnyAgent): Promise<JobOutput> {
    const dispatcher = this.#dispatcher!;
    const { data } = job;
    if (data.kind === "retry") {
      const summary = await this.#store.sessions.get(data.sessionId);
      if (summary?.status !== "running" && summary?.status !== "failed") {
        return { result: "skipped", reason: `the session is ${summary?.status ?? "unknown"}` };
      }
    }
    const send = (again: () => Promise<unknown>) => this.#persist(again);
    const result = await runJob(job, agent, this.#store);
    const request = { agent: data.agent, sessionId: data.sessionId };
    const attempt = data.kind === "start" ? 0 : data.attempt;
    switch (result.kind) {
      case "skipped":
        return { result: "skipped", reason: result.reason };
      case "busy": {
        // A start whose session has nothing written yet is sent back as a start, with its
        // input: a retry would find no session to continue and drop it. The lease that made
        // it busy may be one nobody will use (an acquire whose answer a cut connection lost).
        const unwritten =
          data.kind === "start" && (await this.#store.sessions.get(data.sessionId)) === undefined;
        await send(() =>
          data.kind === "start" && unwritten
            ? dispatcher.restart({ ...request, input: data.input }, this.#busyRetryMs)
            : dispatcher.requeue(
                data.kind === "resume" ? "resume" : "retry",
                request,
                attempt,
                this.#busyRetryMs,
              ),
        );
        return {
          result: "deferred",
          reason: `the session is held by ${result.owner ?? "another process"}`,
        };
      }
      case "ran": {
        if (result.takeover) {
          this.#takeovers++;
          this.#metrics.tookOver();
        }
        if (result.passing !== undefined && attempt < this.#maxStoreRetries) {
          this.#logger.warn("A run failed for a store fault; it is tried again", {
            sessionId: data.sessionId,
            error: result.passing.message,
            attempt: attempt + 1,
          });
          // A start that wrote nothing starts again; anything else continues where it stopped.
          const written =
            data.kind !== "start" || (await this.#store.sessions.get(data.sessionId)) !== undefined;
          await send(() =>
            written
              ? dispatcher.requeue("retry", request, attempt + 1, this.#storeRetryMs, result.runId)
              : dispatcher.start({ ...request, input: data.kind === "start" ? data.input : {} }),
          );
          return {
            result: "deferred",
            status: result.status,
            reason: result.passing.message,
            error: { code: result.passing.code, message: result.passing.message },
          };
        }
        return { result: "ran", status: result.status };
      }
    }
  }

  /**
   * Sends a job back, trying again twice over a store fault (a cut connection is replaced on
   * the next query); if that fails too, the job itself fails and the queue hands it out again.
   */
  async #persist(send: () => Promise<unknown>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await send();
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
        await new Promise<void>((resolve) => later(100 * attempt, resolve, { keepAlive: true }));
      }
    }
  }

  async #sweepOnce(): Promise<void> {
    if (this.#state !== "running") return;
    const dispatcher = this.#dispatcher!;
    try {
      const depth = await dispatcher.depth();
      this.#queueDepth = depth.start + depth.resume;
      const orphans = await findOrphans({
        store: this.#store,
        agents: this.#agents,
        owner: this.#owner,
        skip: new Set(this.#running.keys()),
        limit: 1_000,
        now: () => Date.now(),
      });
      for (const orphan of orphans) {
        if (this.#state !== "running") break;
        await dispatcher.retry({ agent: orphan.agent, sessionId: orphan.sessionId });
      }
      const unwoken = await findUnwoken({
        store: this.#store,
        agents: this.#agents,
        skip: new Set(this.#running.keys()),
        limit: 1_000,
      });
      for (const session of unwoken) {
        if (this.#state !== "running") break;
        await dispatcher.resume({ agent: session.agent, sessionId: session.sessionId });
      }
      if (orphans.length + unwoken.length > 0) this.#pump();
    } catch (error) {
      this.#fault("The orphan sweep failed; it runs again", error);
    }
    if (this.#state === "running") {
      this.#sweep = later(this.#sweepMs, () => void this.#sweepOnce());
    }
  }

  #fault(message: string, error: unknown): void {
    this.#lastError = error instanceof Error ? error.message : String(error);
    this.#logger.warn(message, { error: this.#lastError });
  }
}

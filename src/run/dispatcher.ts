import { randomUUID } from "node:crypto";
import { InvalidOptionError, SessionBusyError } from "../errors.js";
import type { InterruptInput } from "../interrupts/interrupt-message.js";
import { consoleLogger, type Logger } from "../logger.js";
import type { SessionSummary } from "../store/session-store.js";
import type { AnyAgent } from "./define-agents.js";

/** A run to start. */
export interface StartRequest {
  /** The agent's name in the record the dispatcher serves. */
  readonly agent: string;
  readonly input: unknown;
  readonly sessionId: string;
}

/** A suspended session to continue. */
export interface ResumeRequest {
  readonly agent: string;
  readonly sessionId: string;
}

/** What a dispatcher accepted: an id to look the work up by. */
export interface Dispatched {
  readonly id: string;
  readonly sessionId: string;
}

/**
 * Where runs go when an API, a CLI command or a sent message asks for one: the same process
 * (`InProcessDispatcher`), or a job queue that any worker takes work from. Accepting is quick;
 * the run goes on in the background.
 */
export interface RunDispatcher {
  /** Starts a run in the background. */
  start(request: StartRequest): Promise<Dispatched>;
  /** Continues a suspended session in the background (nothing happens if a run holds it). */
  resume(request: ResumeRequest): Promise<Dispatched>;
}

/**
 * Whether a message sent to a session should continue it: a session waiting at an approval
 * gate wakes for any message (the gate reads it, and suspends again if it decides nothing); a
 * session paused by a `pause` wakes only for `resume` or `cancel`, so an `update_state` can be
 * made while it stays paused.
 */
export function wakesSession(summary: SessionSummary | undefined, input: InterruptInput): boolean {
  if (summary === undefined || summary.status !== "paused") return false;
  if (summary.gate !== undefined) return true;
  return typeof input === "object" && (input.type === "resume" || input.type === "cancel");
}

/** The agent that runs a session: the one whose graph last ran it. */
export function agentOf(
  agents: Readonly<Record<string, AnyAgent>>,
  summary: SessionSummary,
): string | undefined {
  for (const [name, agent] of Object.entries(agents)) {
    if (agent.graph.name === summary.graph) return name;
  }
  return undefined;
}

/**
 * Runs in this process, in the background. A resume of a session that another run already
 * holds is dropped quietly: that run reads the queue itself. Failures are logged; their outcome
 * is in the session's checkpoints and audit trail.
 */
export class InProcessDispatcher implements RunDispatcher {
  readonly #agents: Readonly<Record<string, AnyAgent>>;
  readonly #logger: Logger;
  readonly #running = new Set<Promise<unknown>>();

  constructor(
    agents: Readonly<Record<string, AnyAgent>>,
    options: { readonly logger?: Logger } = {},
  ) {
    this.#agents = agents;
    this.#logger = options.logger ?? consoleLogger;
  }

  #agent(name: string): AnyAgent {
    const agent = this.#agents[name];
    if (agent === undefined) {
      throw new InvalidOptionError("agent", `one of ${Object.keys(this.#agents).join(", ")}`, name);
    }
    return agent;
  }

  async start(request: StartRequest): Promise<Dispatched> {
    const agent = this.#agent(request.agent);
    this.#track(agent.run(request.input, { sessionId: request.sessionId }), request.sessionId);
    return { id: randomUUID(), sessionId: request.sessionId };
  }

  async resume(request: ResumeRequest): Promise<Dispatched> {
    const agent = this.#agent(request.agent);
    this.#track(agent.resume(request.sessionId), request.sessionId);
    return { id: randomUUID(), sessionId: request.sessionId };
  }

  #track(run: Promise<unknown>, sessionId: string): void {
    const done = run.then(
      () => {},
      (error: unknown) => {
        if (error instanceof SessionBusyError) return;
        this.#logger.error("A background run could not start", {
          sessionId,
          error: error instanceof Error ? error.message : String(error),
        });
      },
    );
    this.#running.add(done);
    void done.finally(() => this.#running.delete(done));
  }

  /** Resolves once every run started so far has ended (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}

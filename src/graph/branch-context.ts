import type { Logger } from "../logger.js";
import type { NodeContext } from "./node.js";

/**
 * A parallel branch's abort switch. Building an `AbortSignal` costs a few microseconds on
 * Node 20, so the signal is only built when the branch reads it; `abort()` works either way,
 * and `race()` stops waiting for a branch the moment it is aborted.
 */
export class BranchAbort {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #onAbort: ((reason: unknown) => void) | undefined;

  /** The branch's `ctx.signal`, built on first use. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#onAbort?.(reason);
  }

  /** Waits for `promise`, or rejects with the abort reason as soon as the branch is aborted. */
  race<T>(promise: PromiseLike<T>): Promise<T> {
    if (this.#aborted) return Promise.reject(this.#reason);
    return new Promise<T>((resolve, reject) => {
      this.#onAbort = reject;
      promise.then(
        (value) => {
          this.#onAbort = undefined;
          resolve(value);
        },
        (error: unknown) => {
          this.#onAbort = undefined;
          reject(error);
        },
      );
    });
  }
}

/**
 * The context a parallel branch receives: the group's context with the branch's own node
 * name, item and abort signal. A class with a fixed shape, since a group builds one per branch.
 */
export class BranchContext implements NodeContext {
  readonly sessionId: string;
  readonly runId: string;
  readonly node: string;
  readonly iteration: number;
  readonly attempt: number;
  readonly feedback: string | undefined;
  readonly item: unknown;
  readonly logger: Logger;
  readonly #abort: BranchAbort;
  readonly #emit: NodeContext["emit"];

  constructor(group: NodeContext, branch: string, item: unknown, abort: BranchAbort) {
    this.sessionId = group.sessionId;
    this.runId = group.runId;
    this.node = `${group.node}/${branch}`;
    this.iteration = group.iteration;
    this.attempt = group.attempt;
    this.feedback = group.feedback;
    this.item = item;
    this.logger = group.logger;
    this.#abort = abort;
    this.#emit = group.emit;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  emit(name: string, data?: unknown): void {
    this.#emit(name, data);
  }
}

import type { Logger } from "../logger.js";
import type { LazyAbort } from "./lazy-abort.js";
import type { NodeContext } from "./node.js";

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
  readonly #abort: LazyAbort;
  /** An own property, so `const { emit } = ctx` works. */
  readonly emit: NodeContext["emit"];

  constructor(group: NodeContext, branch: string, item: unknown, abort: LazyAbort) {
    this.sessionId = group.sessionId;
    this.runId = group.runId;
    this.node = `${group.node}/${branch}`;
    this.iteration = group.iteration;
    this.attempt = group.attempt;
    this.feedback = group.feedback;
    this.item = item;
    this.logger = group.logger;
    this.#abort = abort;
    this.emit = group.emit;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}

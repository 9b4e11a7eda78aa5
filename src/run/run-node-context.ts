import type { NodeContext, RevisionContext } from "../graph/node.js";
import type { Logger } from "../logger.js";

/**
 * The context a node (or a parallel branch) receives. A class with a fixed shape, built once
 * per execution: its `signal` is read through a getter so an `AbortSignal` is only built for
 * nodes that use it (an object literal with a getter is far slower to create).
 */
export class RunNodeContext implements NodeContext {
  readonly sessionId: string;
  readonly runId: string;
  readonly node: string;
  readonly iteration: number;
  readonly attempt: number;
  readonly feedback: string | undefined;
  readonly revision: RevisionContext | undefined;
  readonly item: unknown;
  readonly logger: Logger;
  readonly #signal: () => AbortSignal;
  /** An own property, so `const { emit } = ctx` works. */
  readonly emit: (name: string, data?: unknown) => void;

  constructor(fields: {
    readonly sessionId: string;
    readonly runId: string;
    readonly node: string;
    readonly iteration: number;
    readonly attempt: number;
    readonly feedback: string | undefined;
    readonly revision?: RevisionContext | undefined;
    readonly item?: unknown;
    readonly logger: Logger;
    readonly signal: () => AbortSignal;
    readonly emit: (name: string, data?: unknown) => void;
  }) {
    this.sessionId = fields.sessionId;
    this.runId = fields.runId;
    this.node = fields.node;
    this.iteration = fields.iteration;
    this.attempt = fields.attempt;
    this.feedback = fields.feedback;
    this.revision = fields.revision;
    this.item = fields.item;
    this.logger = fields.logger;
    this.#signal = fields.signal;
    this.emit = fields.emit;
  }

  get signal(): AbortSignal {
    return this.#signal();
  }
}

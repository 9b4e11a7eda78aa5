import { createHash } from "node:crypto";
import type { NodeContext, RevisionContext } from "../graph/node.js";
import type { Logger } from "../logger.js";

/**
 * The idempotency key of a node step: a hash of what names the step and stays the same when it
 * runs again after a crash (the session, the checkpoint it starts from, how many nodes ran
 * before it, its path). The parts are joined with a byte no id or name contains.
 */
export function stepKey(parts: readonly (string | number)[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 32);
}

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
  readonly #key: () => string;
  #keyValue: string | undefined;
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
    /** Builds the step's idempotency key, on first read (most nodes never read it). */
    readonly idempotencyKey: () => string;
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
    this.#key = fields.idempotencyKey;
    this.#keyValue = undefined;
  }

  get idempotencyKey(): string {
    this.#keyValue ??= this.#key();
    return this.#keyValue;
  }

  get signal(): AbortSignal {
    return this.#signal();
  }
}

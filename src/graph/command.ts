import { END } from "./constants.js";

/** What a `Command` holds: an optional update and where to go next. */
export interface CommandInit<S> {
  /** Partial state, applied through the reducers like a plain update. */
  readonly update?: Partial<S>;
  /** The next node, several (fan-out), or `END`. Overrides the node's edges. */
  readonly goto?: string | readonly string[];
}

/**
 * Returned by a node to update the state and choose the next node(s) at run time.
 *
 * @example
 * ```ts
 * graph.addNode("triage", (s) => new Command({ update: { seen: true }, goto: s.urgent ? "page" : END }));
 * ```
 */
export class Command<S = Record<string, unknown>> {
  readonly update: Partial<S> | undefined;
  readonly goto: readonly string[] | undefined;

  constructor(init: CommandInit<S>) {
    this.update = init.update;
    this.goto =
      init.goto === undefined
        ? undefined
        : typeof init.goto === "string"
          ? [init.goto]
          : [...init.goto];
  }

  /** A command that only routes. */
  static goto<S = Record<string, unknown>>(to: string | readonly string[]): Command<S> {
    return new Command<S>({ goto: to });
  }

  /** A command that ends the run after applying `update`. */
  static end<S = Record<string, unknown>>(update?: Partial<S>): Command<S> {
    return new Command<S>(update === undefined ? { goto: END } : { update, goto: END });
  }
}

/** True when a node's result is a `Command`. */
export function isCommand(value: unknown): value is Command<unknown> {
  return value instanceof Command;
}

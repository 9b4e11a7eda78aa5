import { MAX_TIMEOUT_MS, MAX_TIMEOUT_TEXT } from "../clock.js";
import { InvalidOptionError } from "../errors.js";
import { CompiledGraph, type CompileOptions } from "./compiled-graph.js";
import { END, START } from "./constants.js";
import type { ConditionalEdges, OutEdges, Router, WaitingEdge } from "./edges.js";
import { MAX_STATE_DEPTH_LIMIT } from "./json-value.js";
import type { NodeDefinition, NodeFn, NodeOptions } from "./node.js";
import type { ReducerMap } from "./reducers.js";
import { checkRetryPolicy } from "./retry-policy.js";
import { type AnyStateSchema, StateDefinition, type StateOf } from "./state.js";
import { validateGraph } from "./validate-graph.js";

/** Options of `new Graph()`. */
export interface GraphOptions<T extends AnyStateSchema> {
  /** The state schema: a zod object. Defaults fill missing input keys. */
  readonly state: T;
  /** How updates combine per key; keys left out use `overwrite`. */
  readonly reducers?: ReducerMap<StateOf<T>>;
  /** The graph's name, used in events, spans and errors. Default `"graph"`. */
  readonly name?: string;
  /**
   * Most levels of arrays and objects inside one state key; a deeper value fails with
   * `StateTooDeepError` where it enters the state. Default 256, at most 1,000.
   */
  readonly maxStateDepth?: number;
}

/** A node as the builder keeps it. */
export interface NodeEntry<S> {
  readonly name: string;
  readonly definition: NodeDefinition<S>;
  readonly options: NodeOptions & { readonly goto?: readonly string[] };
}

/** Structural problems noticed while building, reported by `compile()` with the rest. */
interface BuildProblem {
  readonly code:
    | "DUPLICATE_EDGE"
    | "MIXED_EDGES"
    | "DUPLICATE_NODE"
    | "RESERVED_NAME"
    | "INVALID_WAITING_EDGE";
  readonly message: string;
  readonly node: string;
}

/**
 * Builds a directed graph over a zod state. Chain `addNode`, `addEdge` and
 * `addConditionalEdges`, then `compile()`, which reports every structural problem at once.
 *
 * @example
 * ```ts
 * const State = z.object({ count: z.number().default(0), log: z.array(z.string()).default([]) });
 * const graph = new Graph({ state: State, reducers: { log: "append" } })
 *   .addNode("inc", (s) => ({ count: s.count + 1, log: ["inc"] }))
 *   .addEdge(START, "inc")
 *   .addConditionalEdges("inc", (s) => (s.count < 3 ? "inc" : END))
 *   .compile();
 * ```
 */
export class Graph<T extends AnyStateSchema> {
  readonly name: string;
  readonly #state: StateDefinition<StateOf<T>>;
  readonly #nodes = new Map<string, NodeEntry<StateOf<T>>>();
  readonly #edges = new Map<string, OutEdges<StateOf<T>>>();
  /** Waiting edges: target → the nodes it waits for. */
  readonly #waiting = new Map<string, readonly string[]>();
  readonly #problems: BuildProblem[] = [];

  /**
   * @throws StateSchemaError when a state key's values could not be stored as JSON (e.g.
   *   `z.date()` instead of `z.coerce.date()`); every such key is listed.
   * @throws InvalidOptionError for a state that is not a zod object, an empty name or a bad
   *   `maxStateDepth`.
   */
  constructor(options: GraphOptions<T>) {
    if (options.name !== undefined && (typeof options.name !== "string" || options.name === "")) {
      throw new InvalidOptionError("name", "a non-empty string", options.name);
    }
    this.name = options.name ?? "graph";
    if (
      (options.state as { _zod?: { def?: { type?: unknown } } } | undefined)?._zod?.def?.type !==
      "object"
    ) {
      throw new InvalidOptionError(
        "state",
        "a zod object schema (`z.object({ … })`)",
        options.state,
      );
    }
    const { maxStateDepth } = options;
    if (
      maxStateDepth !== undefined &&
      !(
        Number.isInteger(maxStateDepth) &&
        maxStateDepth >= 1 &&
        maxStateDepth <= MAX_STATE_DEPTH_LIMIT
      )
    ) {
      throw new InvalidOptionError(
        "maxStateDepth",
        `an integer from 1 to ${MAX_STATE_DEPTH_LIMIT}`,
        maxStateDepth,
      );
    }
    this.#state = new StateDefinition(
      options.state,
      options.reducers ?? {},
      maxStateDepth === undefined ? {} : { maxDepth: maxStateDepth },
    );
  }

  /**
   * Adds a node: a function `(state, ctx) => update | Command`, or a `NodeDefinition`
   * such as `agentNode(...)`. `options.goto` declares where a node that returns
   * `Command`s may go, so `compile()` can check the graph.
   */
  addNode(
    name: string,
    node: NodeFn<StateOf<T>> | NodeDefinition<StateOf<T>>,
    options: NodeOptions & { readonly goto?: readonly string[] } = {},
  ): this {
    if (typeof name !== "string" || name === "") {
      throw new InvalidOptionError("name", "a non-empty string", name);
    }
    if (name === START || name === END || name.includes("/")) {
      this.#problems.push({
        code: "RESERVED_NAME",
        node: name,
        message: `Node name \`${name}\` is reserved or contains \`/\`. Rename the node.`,
      });
    }
    if (this.#nodes.has(name)) {
      this.#problems.push({
        code: "DUPLICATE_NODE",
        node: name,
        message: `Node \`${name}\` is added twice. Give each node its own name.`,
      });
    }
    const definition: NodeDefinition<StateOf<T>> =
      typeof node === "function" ? { kind: "function", run: node } : node;
    if (typeof definition.run !== "function") {
      throw new InvalidOptionError(`node \`${name}\``, "a function or a node definition", node);
    }
    const { timeoutMs } = options;
    if (
      timeoutMs !== undefined &&
      !(typeof timeoutMs === "number" && timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)
    ) {
      throw new InvalidOptionError(
        "timeoutMs",
        `a number of milliseconds above 0 and at most ${MAX_TIMEOUT_TEXT}`,
        timeoutMs,
      );
    }
    if (options.retry !== undefined) checkRetryPolicy(options.retry);
    this.#nodes.set(name, { name, definition, options });
    return this;
  }

  /**
   * Adds a plain edge. Several plain edges from one node run their targets in parallel.
   *
   * With a list of sources, adds a waiting edge: `to` runs once, after all of `from` have run
   * (where plain edges from each source would run it once per source, the first time before
   * the slower sources are done). A source may also have plain edges to other nodes.
   *
   * @example
   * ```ts
   * graph
   *   .addEdge("a", "b").addEdge("a", "c").addEdge("c", "c2")
   *   .addEdge(["b", "c2"], "join"); // join runs once, with the updates of b and c2
   * ```
   */
  addEdge(from: string | readonly string[], to: string): this {
    if (typeof from !== "string") return this.#addWaitingEdge(from, to);
    const existing = this.#edges.get(from);
    if (existing === undefined) {
      this.#edges.set(from, { kind: "plain", targets: [to] });
    } else if (existing.kind !== "plain") {
      this.#mixed(from);
    } else if (existing.targets.includes(to)) {
      this.#problems.push({
        code: "DUPLICATE_EDGE",
        node: from,
        message: `The edge \`${label(from)}\` → \`${label(to)}\` is added twice. Remove one.`,
      });
    } else {
      this.#edges.set(from, { kind: "plain", targets: [...existing.targets, to] });
    }
    return this;
  }

  /**
   * Adds conditional edges from a node: either a router function that returns the next
   * node, several nodes or END (declare its possible `targets` so `compile()` can check
   * reachability), or routes with priorities and a fallback.
   *
   * @example
   * ```ts
   * graph.addConditionalEdges("critique", {
   *   routes: [
   *     { to: "final", when: (s) => s.score >= 8, priority: 1, label: "good" },
   *     { to: "draft", when: (s) => s.round < 3, label: "revise" },
   *   ],
   *   fallback: "final",
   * });
   * ```
   */
  addConditionalEdges(
    from: string,
    edges: Router<StateOf<T>> | ConditionalEdges<StateOf<T>>,
    targets?: readonly string[],
  ): this {
    if (this.#edges.has(from)) {
      this.#mixed(from);
      return this;
    }
    if (typeof edges === "function") {
      this.#edges.set(from, { kind: "router", router: edges, targets });
      return this;
    }
    if (!edges || !Array.isArray(edges.routes) || edges.routes.length === 0) {
      throw new InvalidOptionError(
        `conditional edges of \`${from}\``,
        "a router function or `{ routes: [...] }` with at least one route",
        edges,
      );
    }
    const seen = new Set<string>();
    for (const route of edges.routes) {
      if (typeof route.when !== "function") {
        throw new InvalidOptionError(
          `route \`${label(from)}\` → \`${route.to}\`.when`,
          "a function",
          route.when,
        );
      }
      if (seen.has(route.to)) {
        this.#problems.push({
          code: "DUPLICATE_EDGE",
          node: from,
          message: `The conditional edges of \`${label(from)}\` name \`${label(route.to)}\` twice. Combine the conditions.`,
        });
      }
      seen.add(route.to);
    }
    const routes = edges.routes
      .map((r, index) => ({
        to: r.to,
        when: r.when,
        priority: r.priority ?? 0,
        label: r.label,
        index,
      }))
      .sort((a, b) => b.priority - a.priority || a.index - b.index)
      .map(({ index: _index, ...r }) => r);
    this.#edges.set(from, { kind: "routes", routes, fallback: edges.fallback });
    return this;
  }

  #addWaitingEdge(sources: readonly string[], to: string): this {
    if (
      !Array.isArray(sources) ||
      sources.length === 0 ||
      !sources.every((s) => typeof s === "string")
    ) {
      throw new InvalidOptionError(
        "from",
        "a node name or a non-empty list of node names",
        sources,
      );
    }
    const existing = this.#waiting.get(to);
    if (existing === undefined) {
      this.#waiting.set(to, [...sources]);
    } else {
      const same = existing.length === sources.length && existing.every((s) => sources.includes(s));
      this.#problems.push(
        same
          ? {
              code: "DUPLICATE_EDGE",
              node: to,
              message: `The waiting edge ${list(sources)} → \`${label(to)}\` is added twice. Remove one.`,
            }
          : {
              code: "INVALID_WAITING_EDGE",
              node: to,
              message: `\`${label(to)}\` already waits for ${list(existing)}; a second waiting edge lists ${list(sources)}. Give it one waiting edge that lists every node it waits for.`,
            },
      );
    }
    return this;
  }

  #mixed(from: string): void {
    this.#problems.push({
      code: "MIXED_EDGES",
      node: from,
      message: `\`${label(from)}\` has both plain and conditional edges (or two sets of conditional edges). Give it either plain edges or one \`addConditionalEdges\` call.`,
    });
  }

  /** Validates the whole graph and returns a runnable, immutable `CompiledGraph`. */
  compile(options: CompileOptions = {}): CompiledGraph<StateOf<T>> {
    const nodes = new Map(this.#nodes);
    const edges = new Map(this.#edges);
    const waiting: WaitingEdge[] = [...this.#waiting].map(([target, sources]) => ({
      sources,
      target,
    }));
    validateGraph(this.name, nodes, edges, waiting, this.#problems, this.#state);
    return new CompiledGraph(this.name, this.#state, nodes, edges, waiting, options);
  }
}

function label(node: string): string {
  return node === START ? "START" : node === END ? "END" : node;
}

function list(nodes: readonly string[]): string {
  return nodes.map((n) => `\`${label(n)}\``).join(", ");
}

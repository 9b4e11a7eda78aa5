import { START } from "./constants.js";
import type { OutEdges, WaitingEdge } from "./edges.js";
import type { NodeEntry } from "./graph.js";
import type { BranchState, ConflictPolicy } from "./merge-branches.js";
import { MergedUpdate } from "./node-runtime.js";
import { type RouteDecision, route } from "./route.js";
import { type Applied, freezeChanged, type StateDefinition } from "./state.js";
import { toDot } from "./to-dot.js";
import { type GraphChartOptions, toMermaid } from "./to-mermaid.js";

/** Options of `graph.compile()`. */
export interface CompileOptions {
  /**
   * Validate every node update against the state schema (unknown keys, wrong types) and apply
   * the parsed values, as run input is parsed. Default `true`. Turn off only for hot loops whose
   * nodes you trust: updates are then applied as they are (no defaults, transforms or
   * coercion), though unknown keys and values that are not JSON data are still refused.
   */
  readonly validateUpdates?: boolean;
  /**
   * When nodes that ran in parallel (fan-out) overwrite the same path with different values:
   * `"error"` (default) fails the run with `MergeConflictError`, `"first"` / `"last"` take the
   * value of the first / last node in declaration order, or a resolver picks the value.
   */
  readonly conflicts?: ConflictPolicy;
}

/** A validated, immutable graph, ready for `new GraphAgent({ graph })`. */
export class CompiledGraph<S extends Record<string, unknown>> {
  readonly name: string;
  readonly state: StateDefinition<S>;
  readonly validateUpdates: boolean;
  readonly conflicts: ConflictPolicy;
  readonly #nodes: ReadonlyMap<string, NodeEntry<S>>;
  readonly #edges: ReadonlyMap<string, OutEdges<S>>;
  readonly #waiting: readonly WaitingEdge[];
  readonly #barriers: ReadonlyMap<string, readonly string[]>;
  readonly #waitedBy: ReadonlyMap<string, readonly string[]>;
  readonly #isNode = (name: string): boolean => this.#nodes.has(name);
  readonly #known = (): readonly string[] => [...this.#nodes.keys()];

  constructor(
    name: string,
    state: StateDefinition<S>,
    nodes: ReadonlyMap<string, NodeEntry<S>>,
    edges: ReadonlyMap<string, OutEdges<S>>,
    waiting: readonly WaitingEdge[],
    options: CompileOptions,
  ) {
    this.name = name;
    this.state = state;
    this.#nodes = nodes;
    this.#edges = edges;
    this.#waiting = Object.freeze(
      waiting.map((w) =>
        Object.freeze({ sources: Object.freeze([...w.sources]), target: w.target }),
      ),
    );
    const barriers = new Map<string, readonly string[]>();
    const waitedBy = new Map<string, string[]>();
    for (const edge of this.#waiting) {
      barriers.set(edge.target, edge.sources);
      for (const source of edge.sources) {
        const targets = waitedBy.get(source);
        if (targets === undefined) waitedBy.set(source, [edge.target]);
        else if (!targets.includes(edge.target)) targets.push(edge.target);
      }
    }
    this.#barriers = barriers;
    this.#waitedBy = waitedBy;
    this.validateUpdates = options.validateUpdates ?? true;
    this.conflicts = options.conflicts ?? "error";
  }

  /** The node names, in the order they were added. */
  get nodeNames(): string[] {
    return [...this.#nodes.keys()];
  }

  /** One node, or `undefined`. */
  node(name: string): NodeEntry<S> | undefined {
    return this.#nodes.get(name);
  }

  /** The outgoing edges of a node (or of START); waiting edges are in {@link waitingEdges}. */
  edges(from: string): OutEdges<S> | undefined {
    return this.#edges.get(from);
  }

  /** Every waiting edge (`addEdge([...sources], target)`), in the order they were added. */
  get waitingEdges(): readonly WaitingEdge[] {
    return this.#waiting;
  }

  /**
   * The nodes `target` waits for: it runs once, after all of them have run. `undefined` when
   * `target` has no waiting edge.
   */
  barrierOf(target: string): readonly string[] | undefined {
    return this.#barriers.get(target);
  }

  /** The targets of the waiting edges that list `source`; empty when there are none. */
  waitersOf(source: string): readonly string[] {
    return this.#waitedBy.get(source) ?? [];
  }

  /**
   * Validates a node's update and applies the parsed values; with `validateUpdates` off, applies
   * the update as it is. Pure apart from the throw.
   */
  validateAndApply(state: S, update: Partial<S>, node: string): Applied<S> {
    return this.validateUpdates
      ? this.state.validateAndApply(state, update, `The update from node \`${node}\``)
      : this.state.apply(state, update);
  }

  /**
   * One node's result as a branch of a fan-out step, for `mergeBranches`: its state after its
   * update (validated unless `validateUpdates` is off) is applied to `base`, frozen, and the
   * update as applied, which the merge folds through `append`, `sum` and custom reducers.
   */
  branch(base: S, node: string, update: Partial<S> | MergedUpdate<S> | undefined): BranchState<S> {
    if (update === undefined) return { name: node, state: base, update: {} };
    if (update instanceof MergedUpdate) {
      return { name: node, state: freezeChanged(update.state, update.delta) };
    }
    const applied = this.state.applyBranch(
      base,
      update,
      this.validateUpdates ? `The update from node \`${node}\`` : undefined,
    );
    return {
      name: node,
      state: freezeChanged(applied.state, applied.delta),
      update: applied.update as Partial<S>,
    };
  }

  /** The first nodes to run for a state. */
  entry(state: Readonly<S>): RouteDecision {
    return route(START, state, this.#edges.get(START), undefined, false, this.#isNode, this.#known);
  }

  /** The nodes that run after `from`, given the state after it and its `Command.goto`. */
  next(from: string, state: Readonly<S>, goto: readonly string[] | undefined): RouteDecision {
    const finish = this.#nodes.get(from)?.options.finish === true;
    const edges = this.#edges.get(from);
    const waiters = this.#waitedBy.get(from);
    if (waiters === undefined)
      return route(from, state, edges, goto, finish, this.#isNode, this.#known);
    // A source of a waiting edge always leads to its target too; the run holds the target back
    // until every source has run.
    if (edges === undefined && goto === undefined) {
      return { targets: waiters, reason: "edge", label: undefined, ended: false };
    }
    const decision = route(from, state, edges, goto, true, this.#isNode, this.#known);
    const targets = [...decision.targets];
    for (const waiter of waiters) if (!targets.includes(waiter)) targets.push(waiter);
    return { ...decision, targets };
  }

  /**
   * A Mermaid flowchart of the graph; conditional edges are dotted and labelled, waiting edges
   * thick and labelled `waits`, and the nodes in `options.gates` drawn as approval gates
   * (`agent.approvalGates` lists an agent's).
   */
  toMermaid(options: GraphChartOptions = {}): string {
    return toMermaid(this.#nodes, this.#edges, this.#waiting, options);
  }

  /**
   * The graph in Graphviz DOT (`dot -Tsvg`), drawn as {@link toMermaid} draws it: conditional
   * edges dashed and labelled, waiting edges bold, approval gates as hexagons.
   */
  toDot(options: GraphChartOptions = {}): string {
    return toDot(this.name, this.#nodes, this.#edges, this.#waiting, options);
  }
}

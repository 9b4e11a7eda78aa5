import { type GraphProblem, GraphValidationError } from "../errors.js";
import { END, START } from "./constants.js";
import { edgeTargets, type OutEdges, type WaitingEdge } from "./edges.js";
import type { NodeEntry } from "./graph.js";
import { didYouMean } from "./suggest.js";

const show = (node: string) => (node === START ? "START" : node === END ? "END" : node);

/** A near miss among `names`, or the constant meant by a string like `"end"`. */
function suggestNode(name: string, names: readonly string[]): string {
  const lower = name.toLowerCase();
  if (lower === "end") return " To end the graph, use the `END` constant.";
  if (lower === "start") return " To start the graph, use the `START` constant.";
  return didYouMean(name, names);
}

/**
 * Checks a graph's structure and throws one `GraphValidationError` listing every problem:
 * unknown nodes, no entry, unreachable nodes, nodes that can never reach END, duplicate or
 * mixed edges, cycles with no conditional exit, waiting edges that could never fire. Every
 * message says how to fix it. Pure apart from the throw.
 */
export function validateGraph<S>(
  graph: string,
  nodes: ReadonlyMap<string, NodeEntry<S>>,
  edges: ReadonlyMap<string, OutEdges<S>>,
  waiting: readonly WaitingEdge[],
  buildProblems: readonly GraphProblem[],
  state: { readonly keys: readonly string[]; readonly reducers: object },
): void {
  const problems: GraphProblem[] = [...buildProblems];
  const names = [...nodes.keys()];
  const known = (n: string) => nodes.has(n) || n === END;

  for (const key of Object.keys(state.reducers)) {
    if (!state.keys.includes(key)) {
      problems.push({
        code: "UNKNOWN_REDUCER_KEY",
        message: `A reducer is set for \`${key}\`, which is not a key of the state (${state.keys.join(", ")}).${didYouMean(key, state.keys)} Rename the reducer's key, or add \`${key}\` to the state schema.`,
      });
    }
  }

  // Where each node may go: declared edges, plus `goto` declared for Command-returning nodes.
  // `undefined` means "anywhere" (a router without declared targets).
  const successors = new Map<string, readonly string[] | undefined>();
  for (const [from, out] of edges) {
    if (from !== START && !nodes.has(from)) {
      problems.push({
        code: "UNKNOWN_NODE",
        node: from,
        message: `An edge starts at \`${from}\`, which is not a node.${suggestNode(from, names)} Fix the name or add the node with \`addNode("${from}", …)\`. Known nodes: ${names.join(", ") || "(none)"}.`,
      });
      continue;
    }
    const targets = edgeTargets(out);
    for (const to of targets ?? []) {
      if (!known(to)) {
        problems.push({
          code: "UNKNOWN_NODE",
          node: to,
          message: `An edge from \`${show(from)}\` goes to \`${to}\`, which is not a node.${suggestNode(to, names)} Fix the name or add the node with \`addNode("${to}", …)\`. Known nodes: ${names.join(", ") || "(none)"}.`,
        });
      }
    }
    successors.set(from, targets);
  }
  for (const [name, entry] of nodes) {
    const goto = entry.options.goto;
    if (goto === undefined) continue;
    for (const to of goto) {
      if (!known(to)) {
        problems.push({
          code: "UNKNOWN_NODE",
          node: to,
          message: `Node \`${name}\` declares \`goto\` \`${to}\`, which is not a node.${suggestNode(to, names)} Fix the name in \`goto\` or add the node. Known nodes: ${names.join(", ") || "(none)"}.`,
        });
      }
    }
    const own = successors.get(name);
    successors.set(
      name,
      own === undefined && edges.has(name) ? undefined : [...(own ?? []), ...goto],
    );
  }

  // A waiting edge leads from each of its sources to its target.
  const waitingFrom = new Map<string, string[]>();
  for (const { sources, target } of waiting) {
    problems.push(...waitingEdgeProblems(sources, target, nodes, edges, names));
    if (!nodes.has(target)) continue;
    for (const source of new Set(sources)) {
      if (!nodes.has(source) || source === target) continue;
      waitingFrom.set(source, [...(waitingFrom.get(source) ?? []), target]);
      const own = successors.get(source);
      if (own === undefined && successors.has(source)) continue;
      successors.set(source, [...(own ?? []), target]);
    }
  }

  if (!edges.has(START)) {
    problems.push({
      code: "NO_ENTRY",
      message: `Nothing starts the graph. Add \`.addEdge(START, "${names[0] ?? "first"}")\`.`,
    });
  }

  for (const [name, entry] of nodes) {
    if (!successors.has(name) && !entry.options.finish) {
      problems.push({
        code: "CANNOT_REACH_END",
        node: name,
        message: `Node \`${name}\` has no outgoing edge and is not a finish node. Add an edge to END or to the next node, or mark it \`{ finish: true }\`.`,
      });
    }
  }

  // Forward reachability from START.
  const reached = new Set<string>();
  const stack = [START];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const next = successors.get(node);
    for (const to of next === undefined && successors.has(node) ? names : (next ?? [])) {
      if (!reached.has(to) && nodes.has(to)) {
        reached.add(to);
        stack.push(to);
      }
    }
  }
  if (edges.has(START)) {
    for (const name of names) {
      if (!reached.has(name)) {
        problems.push({
          code: "UNREACHABLE_NODE",
          node: name,
          message: `Node \`${name}\` can never run: no edge from START leads to it. Add an edge to it or remove it.`,
        });
      }
    }
  }

  // Backward reachability from END (finish nodes and "anywhere" routers count as reaching it).
  const reachesEnd = new Set<string>();
  let changed = true;
  while (changed) {
    changed = false;
    for (const name of names) {
      if (reachesEnd.has(name)) continue;
      const next = successors.get(name);
      const ends =
        nodes.get(name)?.options.finish === true ||
        (successors.has(name) && next === undefined) ||
        (next ?? []).some((to) => to === END || reachesEnd.has(to));
      if (ends) {
        reachesEnd.add(name);
        changed = true;
      }
    }
  }
  for (const name of names) {
    if (successors.has(name) && !reachesEnd.has(name) && reached.has(name)) {
      problems.push({
        code: "CANNOT_REACH_END",
        node: name,
        message: `Node \`${name}\` can never reach END: every path from it loops or stops. Add a conditional exit.`,
      });
    }
  }

  // Cycles made only of plain edges never exit: every target of a plain edge always runs.
  for (const cycle of plainCycles(nodes, edges, waitingFrom)) {
    const first = cycle[0]!;
    problems.push({
      code: "UNCONDITIONAL_CYCLE",
      node: first,
      message: `The cycle ${[...cycle, first].map(show).join(" → ")} has no conditional exit, so it never ends. Make one of its edges conditional.`,
    });
  }

  if (problems.length > 0) throw new GraphValidationError(graph, problems);
}

/**
 * The problems of one waiting edge: its target and sources must be nodes, listed once, and
 * every source must always go on to the target (no conditional edges, no `goto`), or the
 * target could wait for ever.
 */
function waitingEdgeProblems<S>(
  sources: readonly string[],
  target: string,
  nodes: ReadonlyMap<string, NodeEntry<S>>,
  edges: ReadonlyMap<string, OutEdges<S>>,
  names: readonly string[],
): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const into = `The waiting edge into \`${show(target)}\``;
  if (target === START || target === END) {
    problems.push({
      code: "INVALID_WAITING_EDGE",
      node: target,
      message: `A waiting edge goes to ${show(target)}, which is not a node that runs. ${
        target === END
          ? "The run ends once every branch has: add a plain edge from each node to END instead."
          : "Nothing can lead back to START: point the waiting edge at a node."
      }`,
    });
  } else if (!nodes.has(target)) {
    problems.push({
      code: "UNKNOWN_NODE",
      node: target,
      message: `A waiting edge goes to \`${target}\`, which is not a node.${suggestNode(target, names)} Fix the name or add the node with \`addNode("${target}", …)\`.`,
    });
  }
  const seen = new Set<string>();
  for (const source of sources) {
    if (seen.has(source)) {
      problems.push({
        code: "INVALID_WAITING_EDGE",
        node: target,
        message: `${into} lists \`${show(source)}\` twice. List each node once.`,
      });
      continue;
    }
    seen.add(source);
    if (source === START || source === END) {
      problems.push({
        code: "INVALID_WAITING_EDGE",
        node: target,
        message: `${into} lists ${show(source)}, which is not a node that runs. List nodes only${
          source === START ? "; start nodes with `addEdge(START, node)`" : ""
        }.`,
      });
    } else if (!nodes.has(source)) {
      problems.push({
        code: "UNKNOWN_NODE",
        node: source,
        message: `${into} lists \`${source}\`, which is not a node.${suggestNode(source, names)} Fix the name or add the node with \`addNode("${source}", …)\`.`,
      });
    } else if (source === target) {
      problems.push({
        code: "INVALID_WAITING_EDGE",
        node: target,
        message: `${into} lists \`${source}\` itself, so it would wait for ever. Remove it from the list.`,
      });
    } else {
      const kind = edges.get(source)?.kind;
      if (kind === "routes" || kind === "router" || nodes.get(source)?.options.goto) {
        problems.push({
          code: "INVALID_WAITING_EDGE",
          node: source,
          message: `\`${source}\` chooses where to go (conditional edges or a Command \`goto\`) and is listed in ${into.charAt(0).toLowerCase()}${into.slice(1)}: a run that routes it elsewhere would leave \`${show(target)}\` waiting for ever. Give \`${source}\` plain edges only, or drop it from the waiting edge and route it to \`${show(target)}\` directly.`,
        });
      }
    }
  }
  return problems;
}

/** Strongly connected components of the plain-edge subgraph that form a cycle. */
function plainCycles<S>(
  nodes: ReadonlyMap<string, NodeEntry<S>>,
  edges: ReadonlyMap<string, OutEdges<S>>,
  waitingFrom: ReadonlyMap<string, readonly string[]>,
): string[][] {
  // Waiting edges always lead on, like plain edges.
  const plain = (n: string): readonly string[] => {
    const out = edges.get(n);
    const entry = nodes.get(n);
    if (entry?.options.goto || entry?.options.finish) return [];
    const waits = waitingFrom.get(n) ?? [];
    if (out?.kind !== "plain") return waits;
    return [...out.targets.filter((t) => nodes.has(t)), ...waits];
  };
  // Tarjan's algorithm, iterative enough for the graph sizes users write.
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of plain(v)) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indices.get(w)!));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || plain(v).includes(v)) cycles.push(component.reverse());
    }
  };
  for (const name of nodes.keys()) if (!indices.has(name)) visit(name);
  return cycles;
}

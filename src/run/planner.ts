/**
 * The pure step planner of a run. A run's position is a value (`RunPlan`); `nextStep` says what
 * the run does next, and the transition functions return the plan after it. Only the run loop
 * (`run.ts`) holds a plan and carries steps out: executing nodes, listening to the queue,
 * writing checkpoints.
 */
import { MaxIterationsError, type RunCancelledError, type TrellisError } from "../errors.js";
import type { GateDecisionMeta, GateMeta, PauseMeta, RerunMeta } from "../store/checkpoint-meta.js";
import { RunPath } from "./run-path.js";

/** Where in the cycle of a step the run stands. */
export type Position =
  /** Nothing has been checked yet: the start check comes first. */
  | { readonly at: "start" }
  /** The check before the next node (if it listens) comes next. */
  | { readonly at: "before" }
  /** The checks are done: the frontier runs next. */
  | { readonly at: "node" }
  /** `node` just ran: its gate, or the check after it, comes next. */
  | { readonly at: "after"; readonly node: string };

/** How a run ends. */
export type Outcome =
  | { readonly status: "completed" }
  | { readonly status: "paused"; readonly pause: PauseMeta | undefined }
  | { readonly status: "cancelled"; readonly error: RunCancelledError }
  | {
      readonly status: "rejected";
      readonly error: TrellisError;
      readonly node: string;
      readonly requestId: string | undefined;
      readonly reason: string | undefined;
    }
  | { readonly status: "failed"; readonly error: TrellisError };

/** Everything that decides what a run does next. Immutable: transitions return a new plan. */
export interface RunPlan<S> {
  readonly state: S;
  /** Nodes executed in this lineage, oldest first. */
  readonly path: RunPath;
  /** The nodes that run next. */
  readonly frontier: readonly string[];
  /** Node executions in this run so far. */
  readonly iteration: number;
  readonly position: Position;
  /** The open approval request while the run waits at a gate. */
  readonly gate: GateMeta | undefined;
  /** What the next execution of a node receives because a human asked for it. */
  readonly rerun: RerunMeta | undefined;
  /** A `skip` waits for the next node. */
  readonly skipNext: boolean;
  /** For each target of a waiting edge, the sources that have run since it last ran. */
  readonly waiting: Readonly<Record<string, readonly string[]>>;
  /** Set once the run must end. */
  readonly outcome: Outcome | undefined;
}

/** What the planner needs to know about the graph and the interrupt configuration. */
export interface PlanPolicy {
  readonly maxIterations: number;
  /** Whether the run listens to its queue before / after `node`. */
  listens(phase: "before" | "after", node: string): boolean;
  /** The sources of the waiting edge into `target`, if it has one. */
  barrier(target: string): readonly string[] | undefined;
}

/** What the run does next. */
export type Step =
  | { readonly kind: "finish"; readonly outcome: Outcome }
  | {
      readonly kind: "check";
      readonly phase: "start" | "before" | "after";
      readonly node: string | null;
    }
  | { readonly kind: "gate"; readonly gate: GateMeta }
  | { readonly kind: "skip"; readonly node: string }
  | { readonly kind: "node"; readonly node: string }
  | { readonly kind: "superstep"; readonly nodes: readonly string[] };

const COMPLETED: Outcome = { status: "completed" };

/** A new plan at the start of a run. */
export function startPlan<S>(fields: {
  readonly state: S;
  readonly path: readonly string[] | RunPath;
  readonly frontier: readonly string[];
  readonly gate?: GateMeta | undefined;
  readonly rerun?: RerunMeta | undefined;
  readonly waiting?: Readonly<Record<string, readonly string[]>> | undefined;
  /** Skip the start check (a nested run resumed inside its parent's node). */
  readonly checked?: boolean;
  /**
   * A fresh nested run: its parent read the queue before the node that runs it, so it has no
   * start check of its own; the check before its first node (if that node listens) comes first.
   */
  readonly nested?: boolean;
}): RunPlan<S> {
  return {
    state: fields.state,
    path: fields.path instanceof RunPath ? fields.path : RunPath.of(fields.path),
    frontier: fields.frontier,
    iteration: 0,
    position: fields.checked ? { at: "node" } : fields.nested ? { at: "before" } : { at: "start" },
    gate: fields.gate,
    rerun: fields.rerun,
    skipNext: false,
    waiting: fields.waiting ?? {},
    outcome: undefined,
  };
}

/** What the run does next from `plan`. Pure. */
export function nextStep<S>(plan: RunPlan<S>, policy: PlanPolicy): Step {
  if (plan.outcome !== undefined) return { kind: "finish", outcome: plan.outcome };
  // A run resumed at a gate goes straight back to it: the gate reads every message.
  if (plan.gate !== undefined) return { kind: "gate", gate: plan.gate };
  const position = plan.position;
  if (position.at === "start") return { kind: "check", phase: "start", node: null };
  if (position.at === "after" && policy.listens("after", position.node)) {
    return { kind: "check", phase: "after", node: position.node };
  }
  const frontier = plan.frontier;
  if (frontier.length === 0) return { kind: "finish", outcome: COMPLETED };
  if (plan.iteration + frontier.length > policy.maxIterations) {
    return {
      kind: "finish",
      outcome: {
        status: "failed",
        error: new MaxIterationsError(policy.maxIterations, plan.path.last(8)),
      },
    };
  }
  if (frontier.length > 1) return { kind: "superstep", nodes: frontier };
  const node = frontier[0]!;
  if (position.at !== "node" && policy.listens("before", node)) {
    return { kind: "check", phase: "before", node };
  }
  if (plan.skipNext) return { kind: "skip", node };
  return { kind: "node", node };
}

/** A check found nothing that changes the run's course: move past it. */
export function passCheck<S>(plan: RunPlan<S>): RunPlan<S> {
  const at = plan.position.at;
  return { ...plan, position: at === "before" ? { at: "node" } : { at: "before" } };
}

/** The run must end. */
export function end<S>(plan: RunPlan<S>, outcome: Outcome): RunPlan<S> {
  return { ...plan, outcome };
}

/** The state changed in place (`update_state`): same position, so the check goes on. */
export function withState<S>(plan: RunPlan<S>, state: S): RunPlan<S> {
  return { ...plan, state };
}

/** A `skip` that arrived before a node was about to run: the next node is skipped. */
export function skipNext<S>(plan: RunPlan<S>): RunPlan<S> {
  return passCheck({ ...plan, skipNext: true });
}

/** `node` was skipped: its edges were followed with the current state. */
export function skipped<S>(
  plan: RunPlan<S>,
  node: string,
  targets: readonly string[],
  policy: PlanPolicy,
): RunPlan<S> {
  const { frontier, waiting } = schedule(plan.waiting, [node], [targets], policy);
  return { ...plan, frontier, waiting, skipNext: false, position: { at: "before" } };
}

/** `node` ran and its update was applied. */
export function ranNode<S>(
  plan: RunPlan<S>,
  node: string,
  state: S,
  targets: readonly string[],
  policy: PlanPolicy,
): RunPlan<S> {
  // The step every run takes most: one node, one plain target (or none). It needs no
  // scheduling, and the plan is built as one literal, which is cheaper than a spread per step.
  const plain = targets.length === 0 || (targets.length === 1 && !policy.barrier(targets[0]!));
  const { frontier, waiting } = plain
    ? { frontier: targets, waiting: plan.waiting }
    : schedule(plan.waiting, [node], [targets], policy);
  return {
    state,
    path: plan.path.append(node),
    frontier,
    iteration: plan.iteration + 1,
    position: { at: "after", node },
    gate: plan.gate,
    rerun: plan.rerun?.node === node ? undefined : plan.rerun,
    skipNext: false,
    waiting,
    outcome: plan.outcome,
  };
}

/** Several nodes ran on one state and their updates were merged. */
export function ranSuperstep<S>(
  plan: RunPlan<S>,
  nodes: readonly string[],
  state: S,
  targets: readonly (readonly string[])[],
  policy: PlanPolicy,
): RunPlan<S> {
  const { frontier, waiting } = schedule(plan.waiting, nodes, targets, policy);
  return {
    ...plan,
    state,
    path: plan.path.append(...nodes),
    frontier,
    waiting,
    iteration: plan.iteration + nodes.length,
    rerun: plan.rerun !== undefined && nodes.includes(plan.rerun.node) ? undefined : plan.rerun,
    skipNext: false,
    position: { at: "before" },
  };
}

/** An approval request was made at the node that just ran. */
export function openGate<S>(plan: RunPlan<S>, gate: GateMeta): RunPlan<S> {
  return { ...plan, gate };
}

/** A gate was decided: `approve`, or `reject` with an `onReject` node to go to. */
export function passGate<S>(plan: RunPlan<S>, onReject: string | undefined): RunPlan<S> {
  return {
    ...plan,
    gate: undefined,
    frontier: onReject === undefined ? plan.frontier : [onReject],
    position: { at: "before" },
  };
}

/** A gate was rejected for good. */
export function rejectAtGate<S>(
  plan: RunPlan<S>,
  decision: GateDecisionMeta,
  error: TrellisError,
): RunPlan<S> {
  return {
    ...plan,
    gate: undefined,
    outcome: {
      status: "rejected",
      error,
      node: decision.node,
      requestId: decision.requestId,
      reason: decision.content,
    },
  };
}

/**
 * The state and path were put back as they were before a node last ran (`go_back`, `rerun`,
 * `request_changes`): that node runs next (or, for a node of a parallel step, the whole step),
 * with `rerun` when a human asked for something.
 */
export function restored<S>(
  plan: RunPlan<S>,
  at: {
    readonly state: S;
    readonly path: readonly string[];
    readonly waiting: Readonly<Record<string, readonly string[]>>;
    readonly nodes: readonly string[];
    readonly rerun: RerunMeta | undefined;
  },
): RunPlan<S> {
  return {
    ...plan,
    state: at.state,
    path: RunPath.of(at.path),
    waiting: at.waiting,
    frontier: at.nodes,
    gate: undefined,
    rerun: at.rerun,
    skipNext: false,
    position: { at: "before" },
  };
}

/**
 * The next frontier after `ran` finished with these route targets: every target once, in
 * order, except targets of waiting edges, which join only once all their sources have run.
 * Pure.
 */
export function schedule(
  waiting: Readonly<Record<string, readonly string[]>>,
  ran: readonly string[],
  targets: readonly (readonly string[])[],
  policy: PlanPolicy,
): { frontier: readonly string[]; waiting: Readonly<Record<string, readonly string[]>> } {
  let seen: Record<string, readonly string[]> | undefined;
  const frontier: string[] = [];
  for (let i = 0; i < ran.length; i++) {
    for (const target of targets[i] ?? []) {
      const sources = policy.barrier(target);
      if (sources === undefined || !sources.includes(ran[i]!)) {
        if (!frontier.includes(target)) frontier.push(target);
        continue;
      }
      seen ??= { ...waiting };
      const so = Object.hasOwn(seen, target) ? seen[target]! : [];
      const now = so.includes(ran[i]!) ? so : [...so, ran[i]!];
      if (sources.every((source) => now.includes(source))) {
        delete seen[target];
        if (!frontier.includes(target)) frontier.push(target);
      } else {
        seen[target] = now;
      }
    }
  }
  if (frontier.length === 1 && seen === undefined) return { frontier, waiting };
  return { frontier, waiting: seen ?? waiting };
}

/**
 * `RunShell`: what the course changes (`course-changes.ts`), the gate steps (`run-gate.ts`) and
 * the end of a run (`run-finish.ts`) see of it. `Run` builds it once, on first use; its `plan` and `stop` read and move the
 * run's own, so the run stays the one place that holds run state.
 */
import type { Settled } from "../interrupts/settlement.js";
import type { AuditEntryInput } from "../store/audit-store.js";
import type { CheckpointMeta } from "../store/checkpoint-meta.js";
import type { CheckpointInput } from "./checkpointer.js";
import type { EventBase, GraphEvents, GraphEventType } from "./events.js";
import type { PlanPolicy, RunPlan } from "./planner.js";
import type { RunSetup, RunStopReason } from "./run-setup.js";

/** Settlements and audit entries that go with a write. */
export interface RunRecords {
  readonly settled: readonly Settled[];
  readonly audit: readonly AuditEntryInput[];
}

/** What a run keeps for its final checkpoint: records written with it, and what it announces once that is stored. */
export interface DeferredEnd extends RunRecords {
  readonly announce: readonly (() => void)[];
}

/** Checkpoint meta without the parts the checkpointer adds. */
export type OpenMeta = Omit<CheckpointMeta, "v" | "path">;

/** The run as its course changes, gate steps and end see it. */
export interface RunShell<S extends Record<string, unknown>> {
  readonly setup: RunSetup<S>;
  readonly policy: PlanPolicy;
  /** The run's plan; setting it moves the run. */
  plan: RunPlan<S>;
  /** Why a nested run stops without ending, once it does. */
  stop: RunStopReason | undefined;
  emit<K extends GraphEventType>(type: K, fields: Omit<GraphEvents[K], keyof EventBase>): void;
  /** Writes a checkpoint of the plan, with the settlements and audit entries that go with it. */
  checkpoint(
    input: Omit<CheckpointInput, "runId" | "iteration">,
    records?: Partial<RunRecords>,
    flush?: boolean,
  ): Promise<void>;
  /** The meta every node-less checkpoint carries while the plan has them open, and `extra`. */
  meta(extra?: OpenMeta): OpenMeta;
  /** Writes settlements and audit entries that need no checkpoint. */
  record(settled: readonly Settled[], audit: readonly AuditEntryInput[]): Promise<void>;
  /** Keeps settlements and audit entries for the run's final checkpoint. */
  defer(records: RunRecords): void;
  /** Calls `announce` once the run's final checkpoint is stored; never when that write fails. */
  announceAtEnd(announce: () => void): void;
  /** The approval gate configured on `node` (a path), if any. */
  gateOf(node: string): { readonly onReject?: string | undefined } | undefined;
}

import type { RunResult, RunStatus } from "../run/run-result.js";
import type { CliIO } from "./command.js";
import { EXIT } from "./command.js";
import { jsonLine } from "./json-line.js";
import { commandLine } from "./shell-quote.js";

/** The exit code of a run's outcome: 0 completed, 1 failed, 3 paused, 4 rejected, 5 cancelled. */
export function exitCodeOf(status: RunStatus): number {
  return EXIT[status];
}

/** Where a session can be continued from, for the commands printed after a run stops. */
export interface ContinueHint {
  /** The agents module to pass to `resume --agents`. */
  readonly module: string;
  /** The `--store` the command was given, repeated in the printed commands. */
  readonly store: string | undefined;
  /** `false` when the agent keeps its sessions in a store of its own (no other process sees them). */
  readonly sharesStore: boolean;
}

/** The commands that decide a gate or continue a session, ready to paste. */
export function continueCommands(
  result: Pick<RunResult<unknown>, "sessionId" | "status" | "gate">,
  hint: ContinueHint,
): string[] {
  const store = hint.store === undefined ? [] : ["--store", hint.store];
  const resume = commandLine([
    "trellis",
    "resume",
    result.sessionId,
    "--agents",
    hint.module,
    ...store,
  ]);
  if (result.status === "paused" && result.gate !== undefined) {
    const send = (...action: string[]) =>
      commandLine(["trellis", "send", result.sessionId, ...action, ...store]);
    return [send("approve"), send("reject"), send("request_changes", "--feedback", "…"), resume];
  }
  if (result.status === "paused" || result.status === "cancelled" || result.status === "failed") {
    return [resume];
  }
  return [];
}

/**
 * Prints how a run ended on the output: the summary line, the final state, and when the run
 * stopped short of the end, how to continue it (`send` at a gate, then `resume`). With `json`,
 * one `{"type":"result", …}` line. Returns the exit code.
 */
export function reportOutcome(
  result: RunResult<unknown>,
  io: CliIO,
  options: { readonly json: boolean; readonly hint: ContinueHint },
): number {
  const code = exitCodeOf(result.status);
  // A memory store ends with this process: there is nothing another command could continue.
  const kept = options.hint.sharesStore && options.hint.store !== "memory";
  const next = kept ? continueCommands(result, options.hint) : [];
  if (options.json) {
    io.out(
      jsonLine({
        type: "result",
        sessionId: result.sessionId,
        status: result.status,
        exitCode: code,
        path: result.path,
        iterations: result.iterations,
        checkpointId: result.checkpointId,
        state: result.state,
        error: result.error,
        gate: result.gate,
        next,
      }),
    );
    return code;
  }
  io.out(`■ ${result.status}  ${result.path.length} steps: ${result.path.join(" → ") || "(none)"}`);
  if (result.error !== undefined) io.out(`  ${result.error.name}: ${result.error.message}`);
  io.out(`\nFinal state:\n${JSON.stringify(result.state, null, 2)}`);
  if (result.status === "paused" && result.gate !== undefined) {
    io.out(
      `\nWaiting for approval at \`${result.gate.node}\` (revision ${result.gate.revision}, request ${result.gate.requestId}).`,
    );
  } else if (result.status === "paused") {
    io.out("\nPaused: the run holds no process.");
  } else if (result.status === "cancelled" || result.status === "failed") {
    io.out(`\nThe run ended ${result.status}; its last checkpoint is kept.`);
  }
  if (next.length > 1) {
    io.out("Decide from any shell, then continue the run:");
    for (const line of next) io.out(`  ${line}`);
  } else if (next.length === 1) {
    io.out(`Continue it: ${next[0]}`);
  } else if (
    options.hint.store === "memory" &&
    result.status !== "completed" &&
    result.status !== "rejected"
  ) {
    io.out(
      "The memory store ends with this process: run with --store sqlite:PATH (the default) or postgres:URL to continue sessions later.",
    );
  } else if (
    !options.hint.sharesStore &&
    result.status !== "completed" &&
    result.status !== "rejected"
  ) {
    io.out(
      "This agent keeps its sessions in a store of its own, so no other process can continue them. Export a default agents function (see docs/cli.md) to run it over --store.",
    );
  }
  return code;
}

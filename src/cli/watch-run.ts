import type { AnyAgent } from "../run/define-agents.js";
import type { GraphEvent, GraphEventType } from "../run/events.js";
import type { CliIO } from "./command.js";
import { formatEvent } from "./format-event.js";
import { jsonLine } from "./json-line.js";

const EVENT_TYPES = [
  "run:started",
  "run:finished",
  "node:started",
  "node:completed",
  "node:failed",
  "edge:taken",
  "state:updated",
  "checkpoint:saved",
  "custom",
  "interrupt:applied",
  "interrupt:refused",
  "approval:requested",
  "approval:decided",
  "state:restored",
] as const satisfies readonly GraphEventType[];

// Fails to compile when an event type is added to GraphEvents and not listed above.
const everyType: Exclude<GraphEventType, (typeof EVENT_TYPES)[number]> extends never
  ? true
  : false = true;
void everyType;

/**
 * Prints one session's events as they happen, from `run`, `resume` or a fork alike (through
 * `agent.on`): human-readable progress on the error stream, node by node, or every event as a
 * JSON line on the output with `json`. Returns a function that stops printing.
 */
export function watchRun(agent: AnyAgent, sessionId: string, io: CliIO, json: boolean): () => void {
  const print = (event: GraphEvent) => {
    if (event.sessionId !== sessionId) return;
    if (json) {
      io.out(jsonLine(event));
      return;
    }
    // The summary of the end is the command's result: it goes to the output (see reportOutcome).
    if (event.type === "run:finished") return;
    const line = formatEvent(event);
    if (line !== undefined) io.err(line);
  };
  const stops = EVENT_TYPES.map((type) => agent.on(type, print as never));
  return () => {
    for (const stop of stops) stop();
  };
}

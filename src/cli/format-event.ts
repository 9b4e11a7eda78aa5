import type { GraphEvent } from "../run/events.js";

const errorText = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** One human-readable line for an event, or `undefined` for events not worth a line. */
export function formatEvent(event: GraphEvent): string | undefined {
  switch (event.type) {
    case "run:started":
      return `▶ ${event.graph}  session ${event.sessionId}${event.resumedFrom ? `  (resumed from ${event.resumedFrom})` : ""}`;
    case "node:started":
      return `  … ${event.node}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ""}`;
    case "node:completed":
      return `  ✓ ${event.node.padEnd(16)} ${event.durationMs.toFixed(0).padStart(5)} ms`;
    case "node:failed":
      return `  ✗ ${event.node.padEnd(16)} attempt ${event.attempt}: ${errorText(event.error)}${event.willRetry ? " (retrying)" : ""}`;
    case "edge:taken":
      return `    → ${event.to.length === 0 ? "END" : event.to.join(", ")}${event.label ? `  [${event.label}]` : event.reason === "fallback" ? "  [fallback]" : ""}`;
    case "custom":
      return `    · ${event.name}${event.data === undefined ? "" : `: ${JSON.stringify(event.data)}`}`;
    case "approval:requested":
      return `  ⏸ ${event.node} waits for approval (revision ${event.revision}, request ${event.requestId})`;
    case "approval:decided":
      return `  ⚑ ${event.node}: ${event.decision} by ${event.by}${event.actor ? ` (${event.actor})` : ""}`;
    case "interrupt:applied":
      return `  » ${event.action.type}${event.source === "action" ? "" : ` (read from text by ${event.source})`}${event.node ? ` at ${event.node}` : ""}`;
    case "interrupt:refused":
      return `  » refused: ${errorText(event.error)}`;
    case "state:restored":
      return `  ↺ state restored to before ${event.next.join(", ") || "END"}`;
    case "run:finished":
      return `■ ${event.status}  ${event.path.length} steps: ${event.path.join(" → ") || "(none)"}${event.error ? `\n  ${errorText(event.error)}` : ""}`;
    default:
      return undefined;
  }
}

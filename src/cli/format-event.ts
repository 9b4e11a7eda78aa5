import type { GraphEvent } from "../run/events.js";

/** One human-readable line for an event, or `undefined` for events not worth a line. */
export function formatEvent(event: GraphEvent): string | undefined {
  switch (event.type) {
    case "run:started":
      return `▶ ${event.graph}  session ${event.sessionId}${event.resumedFrom ? `  (resumed from ${event.resumedFrom})` : ""}`;
    case "node:completed":
      return `  ✓ ${event.node.padEnd(16)} ${event.durationMs.toFixed(0).padStart(5)} ms`;
    case "node:failed":
      return `  ✗ ${event.node.padEnd(16)} attempt ${event.attempt}: ${event.error instanceof Error ? event.error.message : String(event.error)}${event.willRetry ? " (retrying)" : ""}`;
    case "edge:taken":
      return `    → ${event.to.length === 0 ? "END" : event.to.join(", ")}${event.label ? `  [${event.label}]` : event.reason === "fallback" ? "  [fallback]" : ""}`;
    case "custom":
      return `    · ${event.name}${event.data === undefined ? "" : `: ${JSON.stringify(event.data)}`}`;
    case "run:finished":
      return `■ ${event.status}  ${event.path.length} steps: ${event.path.join(" → ") || "(none)"}${event.error ? `\n  ${event.error.name}: ${event.error.message}` : ""}`;
    default:
      return undefined;
  }
}

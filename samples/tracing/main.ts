/**
 * Runs the agent of samples/tracing/agents.ts twice, over an in-memory store, — up to the approval gate, then, after a human's "lgtm",
 * to the end — and shows the two traces.
 *
 * Without arguments the spans stay in memory and are printed as a tree. With `--otlp [url]`
 * they go to Jaeger (default http://localhost:4318); search for the tag
 * `gen_ai.conversation.id=tracing-demo` to see both runs, linked.
 *
 *   npx tsx --conditions=trellis-source samples/tracing/main.ts
 *   npx tsx --conditions=trellis-source samples/tracing/main.ts --otlp
 */

import { InterruptService, MemoryStore } from "trellis";
import { setupTelemetry } from "trellis/telemetry";
import { formatSpanTree, spanTree } from "trellis/testing";
import build, { input } from "./agents.js";

const at = process.argv.indexOf("--otlp");
const url = at === -1 ? undefined : process.argv[at + 1];
const telemetry = await setupTelemetry(
  at === -1
    ? { exporter: "memory" }
    : { exporter: "otlp", ...(url === undefined ? {} : { endpoint: url }) },
);

const store = new MemoryStore();
const interrupts = new InterruptService({ store });
const agent = build({ store, interrupts });
const sessionId = "tracing-demo";
const first = await agent.run(input, { sessionId });
console.log(`first run: ${first.status} at the gate on ${first.gate?.node}`);
await interrupts.send(sessionId, "lgtm", { sender: "ana" });
const second = await agent.resume(sessionId);
console.log(`second run: ${second.status}`);

if (telemetry.memory !== undefined) {
  const trees = spanTree(telemetry.memory.getFinishedSpans());
  console.log(
    formatSpanTree(trees, {
      attributes: [
        "trellis.run.status",
        "trellis.attempt",
        "trellis.branch.count",
        "trellis.join",
        "trellis.interrupt.source",
        "trellis.approval.outcome",
      ],
    }),
  );
} else {
  console.log(
    `spans go to ${telemetry.url}; in Jaeger, search gen_ai.conversation.id=${sessionId}`,
  );
}
await telemetry.shutdown(); // with no collector listening: at most 2 s, and one warning line

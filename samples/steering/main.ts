/**
 * Steers the research run in samples/steering/agents.ts with free text, sent while it works:
 *
 * 1. "pause" while the second `read` runs: the run stops after it with status `paused` and
 *    holds no process (the default pause mode is `suspend`).
 * 2. "resume", queued while the run is paused; `agent.resume()` continues the run and obeys it.
 * 3. "go back to the outline" while the third `summarize` runs: the state from before the
 *    outline is restored and the run starts the outline again (the model takes another angle).
 * 4. "stop" while the fourth `summarize` runs: the run ends `cancelled`.
 *
 * Each message goes through the RuleBasedReasoner; its receipt says what it was read as.
 *
 *   npx tsx --conditions=trellis-source samples/steering/main.ts
 */
import { type InterruptReceipt, InterruptService, MemoryStore } from "trellis";
import { createSteeringAgent, input } from "./agents.js";

const store = new MemoryStore();
const interrupts = new InterruptService({ store });
const agent = createSteeringAgent({ store, interrupts });

const sessionId = "steering-demo";
const started = new Map<string, number>();
const receipts: Promise<void>[] = [];

/** Free text to send when a node starts for the n-th time in this session. */
const script: readonly { readonly node: string; readonly nth: number; readonly text: string }[] = [
  { node: "read", nth: 2, text: "pause" },
  { node: "summarize", nth: 3, text: "go back to the outline" },
  { node: "summarize", nth: 4, text: "stop" },
];

agent.on("node:started", (event) => {
  const nth = (started.get(event.node) ?? 0) + 1;
  started.set(event.node, nth);
  console.log(`  … ${event.node} (${nth})`);
  for (const step of script) {
    if (step.node === event.node && step.nth === nth) steer(step.text);
  }
});
agent.on("state:restored", (event) => {
  console.log(`  ↺ state restored: path [${event.path.join(", ")}], next ${event.next.join(", ")}`);
});

/** Sends free text and prints the decision once the run has applied or refused it. */
function steer(text: string): void {
  console.log(`  » "${text}"`);
  const sent = interrupts.send(sessionId, text, { sender: "researcher" });
  receipts.push(sent.then(report(text), (error: unknown) => console.error(String(error))));
}

function report(text: string) {
  return async (receipt: InterruptReceipt) => {
    const outcome = await receipt.decision;
    const what =
      outcome.status === "applied"
        ? `${outcome.status}: ${JSON.stringify(outcome.action)} (source ${outcome.source})`
        : outcome.status === "refused"
          ? `refused: ${outcome.error.message}`
          : outcome.status;
    console.log(`  « "${text}" → ${what}`);
  };
}

console.log(`▶ research on "${input.topic}"`);
const first = await agent.run(input, { sessionId });
console.log(`■ ${first.status} after ${first.path.join(" → ")}`);

if (first.status === "paused") {
  steer("resume");
  const second = await agent.resume(sessionId);
  console.log(`■ ${second.status}${second.error ? ` (${second.error.message})` : ""}`);
  console.log(`  sections: ${second.state.sections.join(", ")}`);
  console.log(`  notes kept: ${second.state.notes.length}`);
  console.log(`  report: ${second.state.report || "(not written)"}`);
}
await Promise.all(receipts);

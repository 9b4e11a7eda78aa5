/**
 * Plays the reviewer of the hitl-review agent, one session per outcome:
 *
 * 1. `approved`: the reviewer asks for changes once, then approves the revision.
 * 2. `rejected`: the reviewer rejects the first draft.
 * 3. `timeout`: the reviewer never answers; after 200 ms the gate's `onTimeout` applies.
 * 4. `revision-limit`: the reviewer keeps asking for changes until `maxRevisions` is reached.
 *
 * The gate waits in process (`timeoutMs: 200`), and the reviewer answers each
 * `approval:requested` event through the interrupt queue. The audit trail is printed at the end.
 *
 *   npx tsx --conditions=trellis-source samples/hitl-review/main.ts
 */
import { type InterruptInput, InterruptService, MemoryStore } from "trellis";
import { createReviewAgent, input } from "./agents.js";

const store = new MemoryStore();
const interrupts = new InterruptService({ store });
const agent = createReviewAgent(
  { store, interrupts },
  {
    timeoutMs: 200,
    onTimeout: "reject",
    maxRevisions: 2,
    onRevisionLimit: "reject",
  },
);

/** What the reviewer of each session says at each revision; `undefined`: says nothing. */
const reviewer: Record<string, (revision: number) => InterruptInput | undefined> = {
  approved: (revision) =>
    revision === 0
      ? { type: "request_changes", feedback: "Shorter, and name one animal." }
      : { type: "approve", comment: "Good: concrete and short." },
  rejected: () => ({ type: "reject", reason: "off-topic for this issue" }),
  timeout: () => undefined,
  "revision-limit": (revision) => ({
    type: "request_changes",
    feedback: `Another angle, please (round ${revision + 1}).`,
  }),
};

agent.on("approval:requested", (event) => {
  const decision = reviewer[event.sessionId]?.(event.revision);
  void review(event.sessionId, event.revision, decision);
});

agent.on("approval:decided", (event) => {
  console.log(
    `    gate: ${event.decision} by ${event.by}${event.actor ? ` (${event.actor})` : ""}`,
  );
});

/** Reads the draft waiting at the gate and sends the reviewer's decision, if any. */
async function review(
  sessionId: string,
  revision: number,
  decision: InterruptInput | undefined,
): Promise<void> {
  const checkpoint = await agent.getState(sessionId);
  console.log(`    draft (revision ${revision}): ${checkpoint?.state.draft}`);
  if (decision === undefined) {
    console.log("    reviewer: (no answer)");
    return;
  }
  console.log(`    reviewer: ${JSON.stringify(decision)}`);
  try {
    await interrupts.send(sessionId, decision, { sender: "reviewer@newsletter" });
  } catch (error) {
    console.error(`    could not send the decision: ${String(error)}`);
  }
}

for (const sessionId of Object.keys(reviewer)) {
  console.log(`\n▶ session ${sessionId}`);
  const result = await agent.run(input, { sessionId });
  console.log(`■ ${result.status}${result.error ? ` — ${result.error.message}` : ""}`);
  if (result.state.published) console.log(`  published: ${result.state.published}`);
}

console.log(
  "\nAudit trail (seq, time since the first entry, kind, actor, node #iteration, detail)",
);
for (const sessionId of Object.keys(reviewer)) {
  console.log(`\n  ${sessionId}`);
  const { items } = await agent.auditTrail(sessionId);
  const start = items[0]?.at ?? 0;
  for (const entry of items) {
    const data = entry.data as Record<string, unknown> | undefined;
    const where = entry.node === undefined ? "" : `${entry.node} #${entry.iteration}`;
    console.log(
      `  ${String(entry.seq).padStart(3)}  +${String(entry.at - start).padStart(4)} ms  ${entry.kind.padEnd(19)} ${(entry.actor ?? "").padEnd(20)} ${where.padEnd(9)} ${describe(entry.kind, data)}`,
    );
  }
}

/** One line of detail for an audit entry. */
function describe(kind: string, data: Record<string, unknown> | undefined): string {
  if (kind === "approval.requested") return `revision ${data?.revision}`;
  if (kind === "interrupt.received") return JSON.stringify(data?.action ?? data?.text);
  if (kind !== "approval.decided") return "";
  const content = data?.content ? ` "${data.content}"` : "";
  const by = data?.by ? ` (by ${data.by})` : "";
  const refused = data?.refusedBy ? ` (refused: ${data.refusedBy})` : "";
  return `${data?.decision}${content}${by}${refused}`;
}

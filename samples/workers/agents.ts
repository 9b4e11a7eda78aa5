/**
 * The agents every worker process runs: a review flow, `draft → review (approval gate) →
 * publish`. `publish` makes its side effect once per step, whatever crashes, by passing
 * `ctx.idempotencyKey` to the outside system (here a log line standing in for an API call
 * with an `Idempotency-Key` header).
 */
import { defineAgents, END, Graph, GraphAgent, START } from "trellis";
import { z } from "zod";

const State = z.object({
  topic: z.string().min(1),
  draft: z.string().default(""),
  published: z.string().default(""),
});

const graph = new Graph({ state: State, name: "review" })
  .addNode("draft", (s) => ({ draft: `A short note on ${s.topic}.` }))
  .addNode("review", () => ({}))
  .addNode("publish", async (s, ctx) => {
    // Call the outside world with the step's key: a repeat after a crash is recognised there.
    console.log(`[pid ${process.pid}] publish ${ctx.sessionId} key=${ctx.idempotencyKey}`);
    return { published: s.draft };
  })
  .addEdge(START, "draft")
  .addEdge("draft", "review")
  .addEdge("review", "publish")
  .addEdge("publish", END)
  .compile();

export default defineAgents(({ store, interrupts }) => ({
  review: new GraphAgent({
    graph,
    store,
    interrupts,
    interruptConfig: { approvals: { review: {} } },
  }),
}));

export const input = { topic: "tide pools" };

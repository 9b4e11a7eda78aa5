/**
 * An agents module for `trellis serve` and the review page: a newsletter pipeline that outlines,
 * drafts, checks the length (drafting again while it is too long), and publishes. An approval
 * gate on `draft` holds each run until a reviewer decides on the page; a request for changes
 * re-runs the writer with the feedback.
 *
 *   npm run trellis -- serve --dev --agents samples/review-page/agents.ts
 */
import { defineAgents, END, Graph, GraphAgent, START } from "trellis";
import { z } from "zod";

const State = z.object({
  topic: z.string().min(1),
  outline: z.string().default(""),
  draft: z.string().default(""),
  tries: z.number().default(0),
  published: z.string().default(""),
});
type State = z.infer<typeof State>;

/** The offline writer: a first draft, then one that says what the reviewer asked for. */
function write(state: State, feedback: string | undefined): string {
  const base = `${state.outline}. At low tide the rocks of ${state.topic} hold small pools full of life.`;
  return feedback === undefined ? base : `${base} (Revised: ${feedback})`;
}

export const graph = new Graph({ state: State, name: "newsletter" })
  .addNode("outline", (s) => ({ outline: `Three facts about ${s.topic}` }))
  .addNode("draft", (s, ctx) => ({ draft: write(s, ctx.feedback), tries: s.tries + 1 }))
  .addNode("check", () => ({}))
  .addNode("publish", (s) => ({ published: s.draft }))
  .addEdge(START, "outline")
  .addEdge("outline", "draft")
  .addEdge("draft", "check")
  .addConditionalEdges("check", {
    routes: [{ to: "draft", when: (s) => s.draft.length > 600 && s.tries < 3, label: "too long" }],
    fallback: "publish",
  })
  .addEdge("publish", END)
  .compile();

export default defineAgents(({ store, interrupts }) => ({
  newsletter: new GraphAgent({
    graph,
    name: "newsletter",
    store,
    interrupts,
    interruptConfig: { approvals: { draft: { maxRevisions: 2 } } },
  }),
}));

/** What a run starts with when none is given. */
export const input = { topic: "tide pools" };

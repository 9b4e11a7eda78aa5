/**
 * Tracing: a small review workflow whose trace shows every kind of span Trellis writes. A writer
 * agent drafts, a nested graph polishes, a parallel group checks facts and tone, and an approval
 * gate on `publish` waits for a human (free text, read by the offline rules).
 * Offline it uses a scripted model; with GEMINI_API_KEY set it asks Gemini.
 */

import {
  agentNode,
  defineAgents,
  END,
  Graph,
  GraphAgent,
  nestedGraph,
  parallelGroup,
  ScriptedModel,
  START,
} from "trellis";
import { createModelFromEnv } from "trellis/gemini";
import { z } from "zod";

const State = z.object({
  topic: z.string().min(1),
  draft: z.string().default(""),
  checks: z.array(z.string()).default([]),
  published: z.boolean().default(false),
});
type State = z.infer<typeof State>;

const model =
  createModelFromEnv() ??
  new ScriptedModel({
    model: "scripted-writer",
    responses: (request) => `A short note on ${String(request.prompt).slice(10)}.`,
  });

const polish = new Graph({ state: State, name: "polish" })
  .addNode("trim", (s) => ({ draft: s.draft.trim() }))
  .addEdge(START, "trim")
  .addEdge("trim", END)
  .compile();

export const graph = new Graph({ state: State, name: "review", reducers: { checks: "append" } })
  .addNode(
    "write",
    agentNode<State>({
      name: "writer",
      model,
      instructions: "You write one-paragraph notes.",
      prompt: (s) => `Write on: ${s.topic}`,
      update: ({ text }) => ({ draft: text }),
    }),
  )
  .addNode("polish", nestedGraph<State, State>(polish))
  .addNode(
    "check",
    parallelGroup<State>({
      branches: {
        facts: (s) => ({ checks: [`facts: ${s.draft.length > 0 ? "ok" : "empty"}`] }),
        tone: () => ({ checks: ["tone: ok"] }),
      },
    }),
  )
  .addNode("publish", () => ({ published: true }))
  .addEdge(START, "write")
  .addEdge("write", "polish")
  .addEdge("polish", "check")
  .addEdge("check", "publish")
  .addEdge("publish", END)
  .compile();

/**
 * The agents `trellis run` builds over the store it opened. The gate on `publish` has no
 * timeout: the run suspends there until someone decides.
 */
export default defineAgents(
  ({ store, interrupts }) =>
    new GraphAgent({
      name: "review-agent",
      graph,
      store,
      interrupts,
      interruptConfig: { approvals: { publish: {} } },
    }),
);

export const input = { topic: "tide pools" };

/**
 * Human-in-the-loop review: a writer agent drafts a newsletter paragraph, and an approval gate
 * on `draft` holds the run until a reviewer approves, rejects or asks for changes. A request
 * for changes re-runs the writer with the reviewer's feedback in its prompt, at most
 * `maxRevisions` times. Offline it uses a scripted model; with GEMINI_API_KEY set it asks Gemini.
 *
 * `trellis run samples/hitl-review/agents.ts` stops at the gate with status `paused` (exit 3);
 * `trellis send <session> approve` from any shell decides it and `trellis resume` goes on (see
 * README.md). `main.ts` plays the reviewer in one process.
 */

import {
  type AgentsContext,
  type ApprovalGate,
  agentNode,
  defineAgents,
  END,
  Graph,
  GraphAgent,
  type ModelClient,
  ScriptedModel,
  START,
} from "trellis";
import { createModelFromEnv } from "trellis/gemini";
import { z } from "zod";

const State = z.object({
  topic: z.string().min(1),
  draft: z.string().default(""),
  published: z.string().default(""),
});
type State = z.infer<typeof State>;

const FEEDBACK_MARKER = "Follow this feedback:\n";

/** The offline writer: a first draft, then a revision that quotes the reviewer's feedback. */
function scriptedModel(): ModelClient {
  return new ScriptedModel({
    model: "scripted-writer",
    responses: (request) => {
      const prompt = typeof request.prompt === "string" ? request.prompt : "";
      const topic = /about (.+)\.$/m.exec(prompt)?.[1] ?? "the topic";
      const feedback = prompt.includes(FEEDBACK_MARKER)
        ? prompt.slice(prompt.indexOf(FEEDBACK_MARKER) + FEEDBACK_MARKER.length).trim()
        : undefined;
      if (feedback === undefined) {
        return `${topic[0]?.toUpperCase()}${topic.slice(1)} are small worlds that flood and drain twice a day, and the animals living there have found many clever and varied ways to cope with the constant change.`;
      }
      return `Revised after "${feedback}": at low tide, ochre sea stars cling to the rocks of ${topic} and wait for the water to return.`;
    },
  });
}

const model = createModelFromEnv() ?? scriptedModel();

export const graph = new Graph({ state: State, name: "hitl-review" })
  .addNode(
    "draft",
    agentNode<State>({
      name: "writer",
      model,
      instructions: "You write one short paragraph for a nature newsletter.",
      prompt: (s) => `Write a newsletter paragraph about ${s.topic}.`,
      update: ({ text }) => ({ draft: text.trim() }),
    }),
  )
  .addNode("publish", (s) => ({ published: s.draft }))
  .addEdge(START, "draft")
  .addEdge("draft", "publish")
  .addEdge("publish", END)
  .compile();

/**
 * The review agent over a store and interrupt queue, with an approval gate on `draft`. Without
 * `timeoutMs` the gate suspends the run (status `paused`, no process held) until a decision is
 * sent and the session is resumed, by this process or any other sharing the store.
 */
export function createReviewAgent(
  { store, interrupts }: AgentsContext,
  gate: ApprovalGate = { maxRevisions: 2 },
) {
  return new GraphAgent({
    graph,
    name: "hitl-review",
    store,
    interrupts,
    interruptConfig: { approvals: { draft: gate } },
  });
}

/** The agents `trellis run | resume | send` build over the store they opened (`--store`). */
export default defineAgents((context) => ({ "hitl-review": createReviewAgent(context) }));

/** What `trellis run` passes when no `--input` is given. */
export const input = { topic: "tide pools" };

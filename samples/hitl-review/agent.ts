/**
 * Human-in-the-loop review: a writer agent drafts a newsletter paragraph, and an approval gate
 * on `draft` holds the run until a reviewer approves, rejects or asks for changes. A request
 * for changes re-runs the writer with the reviewer's feedback in its prompt, at most
 * `maxRevisions` times. Offline it uses a scripted model; with GEMINI_API_KEY set it asks Gemini.
 *
 * `trellis run` has no reviewer, so the run stops at the gate with status `paused`;
 * `main.ts` plays the reviewer.
 */

import {
  type ApprovalGate,
  agentNode,
  END,
  Graph,
  GraphAgent,
  InterruptService,
  MemoryStore,
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
 * An agent with its own store and interrupt queue, and an approval gate on `draft`. Without
 * `timeoutMs` the gate suspends the run until a decision is sent and `agent.resume()` is called.
 */
export function createReviewAgent(gate: ApprovalGate = { maxRevisions: 2 }) {
  const store = new MemoryStore();
  const interrupts = new InterruptService({ store });
  const agent = new GraphAgent({
    graph,
    name: "hitl-review",
    store,
    interrupts,
    interruptConfig: { approvals: { draft: gate } },
  });
  return { agent, interrupts, store };
}

export const { agent, interrupts } = createReviewAgent();

/** What `trellis run` passes when no `--input` is given. */
export const input = { topic: "tide pools" };

/**
 * Quickstart: a content pipeline. outline → draft → critique, looping back to draft until
 * the critique scores it good enough or the round limit is reached → final.
 * Offline it uses a scripted model; with GEMINI_API_KEY set it asks Gemini.
 */

import {
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
  maxRounds: z.number().int().min(1).default(3),
  outline: z.array(z.string()).default([]),
  draft: z.string().default(""),
  round: z.number().default(0),
  score: z.number().default(0),
  notes: z.array(z.string()).default([]),
  final: z.string().default(""),
});
type State = z.infer<typeof State>;

const Outline = z.object({ sections: z.array(z.string()).min(1) });
const Critique = z.object({ score: z.number().min(0).max(10), note: z.string() });

/** The offline model: answers each prompt from the state it was given, deterministically. */
function scriptedModel(): ModelClient {
  return new ScriptedModel({
    model: "scripted-writer",
    responses: (request) => {
      const prompt = typeof request.prompt === "string" ? request.prompt : "";
      if (prompt.startsWith("OUTLINE")) {
        return { sections: ["Why it matters", "How it works", "Where to start"] };
      }
      if (prompt.startsWith("CRITIQUE")) {
        const round = Number(/round (\d+)/.exec(prompt)?.[1] ?? 1);
        return round < 2
          ? { score: 5, note: "Too abstract: add a concrete example." }
          : { score: 8, note: "Clear and concrete." };
      }
      const round = Number(/round (\d+)/.exec(prompt)?.[1] ?? 1);
      return `Draft ${round}: ${prompt.split("\n")[1] ?? ""}${round > 1 ? " For example, a tide pool at dawn." : ""}`;
    },
  });
}

const model = createModelFromEnv() ?? scriptedModel();

export const graph = new Graph({
  state: State,
  name: "content-pipeline",
  reducers: { notes: "append" },
})
  .addNode(
    "outline",
    agentNode<State, z.infer<typeof Outline>>({
      name: "outliner",
      model,
      instructions: "You outline short blog posts as three section titles.",
      prompt: (s) => `OUTLINE a post about ${s.topic}.`,
      output: Outline,
      update: ({ data }) => ({ outline: data.sections }),
    }),
  )
  .addNode(
    "draft",
    agentNode<State>({
      name: "writer",
      model,
      instructions: "You write one tight paragraph from an outline.",
      prompt: (s) =>
        `DRAFT round ${s.round + 1} about ${s.topic}.\nSections: ${s.outline.join("; ")}.${s.notes.length ? `\nAddress: ${s.notes.at(-1)}` : ""}`,
      update: ({ text }, s) => ({ draft: text, round: s.round + 1 }),
    }),
  )
  .addNode(
    "critique",
    agentNode<State, z.infer<typeof Critique>>({
      name: "critic",
      model,
      instructions: "You score drafts from 0 to 10 and give one note.",
      prompt: (s) => `CRITIQUE round ${s.round}:\n${s.draft}`,
      output: Critique,
      update: ({ data }) => ({ score: data.score, notes: [data.note] }),
    }),
  )
  .addNode("final", (s) => ({ final: s.draft }))
  .addEdge(START, "outline")
  .addEdge("outline", "draft")
  .addEdge("draft", "critique")
  .addConditionalEdges("critique", {
    routes: [
      { to: "final", when: (s) => s.score >= 7, priority: 1, label: "good enough" },
      { to: "draft", when: (s) => s.round < s.maxRounds, label: "revise" },
    ],
    fallback: "final",
  })
  .addEdge("final", END)
  .compile();

/** The agents `trellis run` builds over the store it opened (`--store`, SQLite by default). */
export default defineAgents(
  ({ store, interrupts }) => new GraphAgent({ graph, name: "quickstart", store, interrupts }),
);

/** What `trellis run` passes when no `--input` is given. */
export const input = { topic: "tide pools" };

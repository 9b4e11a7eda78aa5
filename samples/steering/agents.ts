/**
 * Steering: a research run that outlines a topic, then loops over the outline's sections
 * (search → read → summarize, once per section) and finally writes a report. It listens to its
 * interrupt queue around every node, so a person can pause it, resume it, send it back to the
 * outline or stop it, in plain English through the offline `RuleBasedReasoner`.
 * Offline it uses a scripted model; with GEMINI_API_KEY set it asks Gemini.
 */

import {
  type AgentsContext,
  agentNode,
  defineAgents,
  END,
  Graph,
  GraphAgent,
  type ModelClient,
  RuleBasedReasoner,
  ScriptedModel,
  START,
  systemClock,
} from "trellis";
import { createModelFromEnv } from "trellis/gemini";
import { z } from "zod";

const State = z.object({
  topic: z.string().min(1),
  sections: z.array(z.string()).default([]),
  index: z.number().int().default(0),
  sources: z.array(z.string()).default([]),
  excerpt: z.string().default(""),
  notes: z.array(z.string()).default([]),
  report: z.string().default(""),
});
type State = z.infer<typeof State>;

const Outline = z.object({ sections: z.array(z.string()).min(1).max(5) });

/** How long the offline steps take, so there is time to steer the run while it works. */
const WORK_MS = 40;

/** The offline model: a first outline, a second one with another angle, and short notes. */
function scriptedModel(): ModelClient {
  let outlines = 0;
  return new ScriptedModel({
    model: "scripted-researcher",
    delayMs: WORK_MS,
    responses: (request) => {
      const prompt = typeof request.prompt === "string" ? request.prompt : "";
      if (prompt.startsWith("OUTLINE")) {
        outlines++;
        return outlines === 1
          ? { sections: ["Habitat", "Species", "Threats"] }
          : { sections: ["Tides and zones", "Who lives where", "How to visit gently"] };
      }
      if (prompt.startsWith("SUMMARIZE")) {
        const section = prompt.split("\n")[1] ?? "";
        return `${section}: two findings from the sources, in one sentence.`;
      }
      return `Report in ${(prompt.match(/^- /gm) ?? []).length} parts.`;
    },
  });
}

const model = createModelFromEnv() ?? scriptedModel();

export const graph = new Graph({ state: State, name: "steering", reducers: { notes: "append" } })
  .addNode(
    "outline",
    agentNode<State, z.infer<typeof Outline>>({
      name: "outliner",
      model,
      instructions: "You outline a short research report as at most five section titles.",
      prompt: (s) => `OUTLINE a research report on ${s.topic}.`,
      output: Outline,
      update: ({ data }) => ({ sections: data.sections, index: 0 }),
    }),
  )
  .addNode("search", async (s, ctx) => {
    await systemClock.sleep(WORK_MS, ctx.signal);
    const section = s.sections[s.index] ?? s.topic;
    return { sources: [`${section}: field guide`, `${section}: survey paper`] };
  })
  .addNode("read", async (s, ctx) => {
    await systemClock.sleep(WORK_MS, ctx.signal);
    return { excerpt: s.sources.map((source) => `notes from ${source}`).join("; ") };
  })
  .addNode(
    "summarize",
    agentNode<State>({
      name: "summarizer",
      model,
      instructions: "You summarise research excerpts for one section in one sentence.",
      prompt: (s) => `SUMMARIZE\n${s.sections[s.index] ?? s.topic}\n${s.excerpt}`,
      update: ({ text }, s) => ({ notes: [text.trim()], index: s.index + 1 }),
    }),
  )
  .addNode(
    "write",
    agentNode<State>({
      name: "writer",
      model,
      instructions: "You write a short report from section notes, in their order.",
      prompt: (s) => `REPORT on ${s.topic}\n${s.notes.map((note) => `- ${note}`).join("\n")}`,
      update: ({ text }) => ({ report: text.trim() }),
    }),
  )
  .addEdge(START, "outline")
  .addEdge("outline", "search")
  .addEdge("search", "read")
  .addEdge("read", "summarize")
  .addConditionalEdges("summarize", {
    routes: [{ to: "search", when: (s) => s.index < s.sections.length, label: "next section" }],
    fallback: "write",
  })
  .addEdge("write", END)
  .compile();

/**
 * The research agent over a store and the interrupt queue people steer it through; it checks
 * the queue before and after every node.
 */
export function createSteeringAgent({ store, interrupts }: AgentsContext) {
  return new GraphAgent({
    graph,
    name: "steering",
    store,
    interrupts,
    interruptConfig: { check: "both", reasoner: new RuleBasedReasoner() },
  });
}

/** The agents `trellis run` builds over the store it opened (`--store`, SQLite by default). */
export default defineAgents((context) => createSteeringAgent(context));

/** What `trellis run` passes when no `--input` is given. */
export const input = { topic: "tide pool ecology" };

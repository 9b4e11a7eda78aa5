/**
 * Research: a planner agent splits a topic into sub-questions, a dynamic parallel group
 * researches each one at the same time (at most three at once), the findings are merged in
 * question order, and a writer agent turns them into a short report.
 * Offline it uses a scripted model; with GEMINI_API_KEY set it asks Gemini.
 */

import {
  agentNode,
  defineAgents,
  dynamicParallelGroup,
  END,
  Graph,
  GraphAgent,
  type ModelClient,
  ScriptedModel,
  START,
} from "trellis";
import { createModelFromEnv } from "trellis/gemini";
import { z } from "zod";

const Finding = z.object({ question: z.string(), answer: z.string() });

const State = z.object({
  topic: z.string().min(1),
  questions: z.array(z.string()).default([]),
  findings: z.array(Finding).default([]),
  report: z.string().default(""),
});
type State = z.infer<typeof State>;

const Plan = z.object({ questions: z.array(z.string()).min(1).max(5) });

/** The offline model: answers each prompt deterministically from what it asks. */
function scriptedModel(): ModelClient {
  return new ScriptedModel({
    model: "scripted-researcher",
    responses: (request) => {
      const prompt = typeof request.prompt === "string" ? request.prompt : "";
      if (prompt.startsWith("PLAN")) {
        const topic = prompt.slice("PLAN research on ".length).replace(/\.$/, "");
        return {
          questions: [
            `What is ${topic}?`,
            `Why does ${topic} matter?`,
            `What are the open problems in ${topic}?`,
          ],
        };
      }
      if (prompt.startsWith("ANSWER")) {
        const question = prompt.split("\n")[1] ?? "";
        return `A short, sourced answer to "${question}".`;
      }
      const count = (prompt.match(/^- /gm) ?? []).length;
      return `Report: ${count} findings, summarised in order.\n${prompt.split("\n").slice(1).join("\n")}`;
    },
  });
}

const model = createModelFromEnv() ?? scriptedModel();

export const graph = new Graph({ state: State, name: "research", reducers: { findings: "append" } })
  .addNode(
    "plan",
    agentNode<State, z.infer<typeof Plan>>({
      name: "planner",
      model,
      instructions: "You split a research topic into at most five precise sub-questions.",
      prompt: (s) => `PLAN research on ${s.topic}.`,
      output: Plan,
      update: ({ data }) => ({ questions: data.questions }),
    }),
  )
  .addNode(
    "research",
    dynamicParallelGroup<State, string>({
      items: (s) => s.questions,
      branch: async (_s, ctx, question) => {
        const answer = await model.generate(
          {
            system: "You answer one research question in two sentences.",
            prompt: `ANSWER\n${question}`,
          },
          { signal: ctx.signal },
        );
        return { findings: [{ question, answer: answer.text }] };
      },
      concurrency: 3,
      branchTimeoutMs: 60_000,
      errors: "collect",
    }),
  )
  .addNode(
    "report",
    agentNode<State>({
      name: "writer",
      model,
      instructions: "You write a short report from numbered findings, in their order.",
      prompt: (s) =>
        `REPORT on ${s.topic}\n${s.findings.map((f) => `- ${f.question} ${f.answer}`).join("\n")}`,
      update: ({ text }) => ({ report: text }),
    }),
  )
  .addEdge(START, "plan")
  .addEdge("plan", "research")
  .addEdge("research", "report")
  .addEdge("report", END)
  .compile();

/** The agents `trellis run` builds over the store it opened (`--store`, SQLite by default). */
export default defineAgents(
  ({ store, interrupts }) => new GraphAgent({ graph, name: "research", store, interrupts }),
);

/** What `trellis run` passes when no `--input` is given. */
export const input = { topic: "tide pool ecology" };

import { describe, expect, it } from "vitest";
import { z } from "zod";
import { DynamicSelectionError } from "../../src/errors.js";
import {
  agentNode,
  END,
  Graph,
  GraphAgent,
  type NodeDefinition,
  ScriptedModel,
  START,
  silentLogger,
} from "../../src/index.js";
import { dynamicNode } from "../../src/patterns/dynamic-node.js";
import { historyOf } from "../graph/helpers.js";

const State = z.object({
  kind: z.string().default(""),
  answer: z.string().default(""),
  log: z.array(z.string()).default([]),
});
type State = z.output<typeof State>;

function agentWith(node: NodeDefinition<State>) {
  const graph = new Graph({ state: State, name: "router", reducers: { log: "append" } })
    .addNode("route", node)
    .addEdge(START, "route")
    .addEdge("route", END)
    .compile();
  return new GraphAgent({ graph, logger: silentLogger });
}

const options = {
  billing: (s: Readonly<State>) => ({ answer: `billing: ${s.kind}` }),
  tech: {
    kind: "function",
    run: (_s, ctx) => ({ answer: "tech", log: [ctx.node] }),
  } satisfies NodeDefinition<State>,
};

describe("dynamicNode", () => {
  it("runs the option that `select` chooses, with the node's context", async () => {
    const agent = agentWith(dynamicNode<State>({ select: (s) => s.kind, options }));
    const result = await agent.run({ kind: "tech" });
    expect(result.status).toBe("completed");
    expect(result.state).toMatchObject({ answer: "tech", log: ["route"] });
    expect((await agent.run({ kind: "billing" })).state.answer).toBe("billing: billing");
  });

  it("awaits an async `select`, e.g. a model that classifies", async () => {
    const model = new ScriptedModel({ model: "classifier", responses: () => "billing" });
    const agent = agentWith(
      dynamicNode<State>({
        select: async (s, ctx) =>
          (await model.generate({ prompt: s.kind }, { signal: ctx.signal })).text,
        options: {
          ...options,
          scripted: agentNode<State>({
            model,
            instructions: "x",
            prompt: () => "y",
            update: () => ({}),
          }),
        },
      }),
    );
    expect((await agent.run({ kind: "refund" })).state.answer).toBe("billing: refund");
  });

  it("emits the choice and keeps it in the node's checkpoint meta", async () => {
    const agent = agentWith(dynamicNode<State>({ select: () => "tech", options }));
    const chosen: unknown[] = [];
    agent.on("custom", (e) => {
      if (e.name === "dynamic:selected") chosen.push({ node: e.node, data: e.data });
    });
    await agent.run({}, { sessionId: "s" });
    expect(chosen).toEqual([{ node: "route", data: { option: "tech" } }]);
    const checkpoint = (await historyOf(agent, "s")).find((c) => c.node === "route");
    expect(checkpoint?.meta.notes?.selected).toBe("tech");
  });

  it("runs the fallback for an unknown choice and records what was asked for", async () => {
    const agent = agentWith(
      dynamicNode<State>({ select: () => "legal", options, fallback: "billing" }),
    );
    const result = await agent.run({ kind: "legal" }, { sessionId: "f" });
    expect(result.state.answer).toBe("billing: legal");
    const checkpoint = (await historyOf(agent, "f")).find((c) => c.node === "route");
    expect(checkpoint?.meta.notes).toMatchObject({ selected: "billing", requested: "legal" });
  });

  it("fails with DynamicSelectionError listing the options when there is no fallback", async () => {
    const agent = agentWith(dynamicNode<State>({ select: () => "legal", options }));
    const result = await agent.run({});
    expect(result.status).toBe("failed");
    const cause = result.error?.cause as DynamicSelectionError;
    expect(cause).toBeInstanceOf(DynamicSelectionError);
    expect(cause.options).toEqual(["billing", "tech"]);
    expect(cause.message).toContain("`billing`, `tech`");
  });

  it("rejects a fallback that is not an option", () => {
    expect(() => dynamicNode<State>({ select: () => "x", options, fallback: "nope" })).toThrow(
      /`fallback`/,
    );
    expect(() => dynamicNode<State>({ select: () => "x", options: {} })).toThrow(/`options`/);
  });
});

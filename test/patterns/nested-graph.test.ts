import { describe, expect, it } from "vitest";
import { z } from "zod";
import { NestedGraphError } from "../../src/errors.js";
import { END, Graph, GraphAgent, type GraphEvent, START, silentLogger } from "../../src/index.js";
import { nestedGraph } from "../../src/patterns/nested-graph.js";
import { turns, untilAborted } from "../graph/helpers.js";

const Parent = z.object({
  request: z.string().default(""),
  answer: z.string().default(""),
  log: z.array(z.string()).default([]),
});
type Parent = z.output<typeof Parent>;

const Child = z.object({
  question: z.string().default(""),
  reply: z.string().default(""),
  log: z.array(z.string()).default([]),
});
type Child = z.output<typeof Child>;

/** child: draft → check → END. `check` may be replaced to hang or fail. */
function childGraph(
  check: (s: Readonly<Child>, signal: AbortSignal) => Partial<Child> | Promise<Partial<Child>>,
) {
  const calls = { draft: 0, check: 0 };
  const graph = new Graph({ state: Child, name: "child", reducers: { log: "append" } })
    .addNode("draft", (s) => {
      calls.draft++;
      return { reply: `re: ${s.question}`, log: ["draft"] };
    })
    .addNode("check", (s, ctx) => {
      calls.check++;
      return check(s, ctx.signal);
    })
    .addEdge(START, "draft")
    .addEdge("draft", "check")
    .addEdge("check", END)
    .compile();
  return { graph, calls };
}

function parentAgent(node: ReturnType<typeof nestedGraph<Parent, Child>>) {
  const graph = new Graph({ state: Parent, name: "parent", reducers: { log: "append" } })
    .addNode("before", () => ({ log: ["before"] }))
    .addNode("inner", node)
    .addNode("after", () => ({ log: ["after"] }))
    .addEdge(START, "before")
    .addEdge("before", "inner")
    .addEdge("inner", "after")
    .addEdge("after", END)
    .compile();
  return new GraphAgent({ graph, logger: silentLogger });
}

describe("nestedGraph", () => {
  it("maps the parent's state in and the child's result out", async () => {
    const { graph } = childGraph(() => ({ log: ["check"] }));
    const agent = parentAgent(
      nestedGraph<Parent, Child>(graph, {
        input: (p) => ({ question: p.request }),
        output: (c) => ({ answer: c.reply, log: [`child ran ${c.log.join("+")}`] }),
      }),
    );
    const result = await agent.run({ request: "refund?" });
    expect(result.status).toBe("completed");
    expect(result.state.answer).toBe("re: refund?");
    expect(result.state.log).toEqual(["before", "child ran draft+check", "after"]);
    expect(result.path).toEqual(["before", "inner", "after"]);
  });

  it("copies shared keys in and out by default, without appending twice", async () => {
    const { graph } = childGraph(() => ({ log: ["check"] }));
    const agent = parentAgent(nestedGraph<Parent, Child>(graph));
    const result = await agent.run({ request: "x" });
    expect(result.state.log).toEqual(["before", "draft", "check", "after"]);
    expect(result.state.answer).toBe("");
  });

  it("emits the child's events with the child graph's name and each node's own path", async () => {
    const { graph } = childGraph(() => ({}));
    const agent = parentAgent(nestedGraph<Parent, Child>(graph));
    const events: GraphEvent[] = [];
    const finished: GraphEvent[] = [];
    agent.on("node:started", (e) => events.push(e));
    agent.on("run:finished", (e) => finished.push(e));
    await agent.run({});
    expect(finished.map((e) => e.graph)).toEqual(["parent"]);
    expect(events.map((e) => [e.graph, e.type === "node:started" ? e.node : ""])).toEqual([
      ["parent", "before"],
      ["parent", "inner"],
      ["child", "inner/draft"],
      ["child", "inner/check"],
      ["parent", "after"],
    ]);
  });

  it("keeps the child's checkpoints in the session's thread named after the node", async () => {
    const { graph } = childGraph(() => ({}));
    const agent = parentAgent(nestedGraph<Parent, Child>(graph));
    await agent.run({}, { sessionId: "s" });
    expect(await agent.store.checkpoints.list("s/inner", "")).toEqual([]);
    const child = await agent.store.checkpoints.list("s", "inner");
    expect(child.map((c) => c.node).filter(Boolean)).toEqual(["check", "draft"]);
    expect(child[0]?.status).toBe("completed");
  });

  it("fails the node with NestedGraphError wrapping the child's error", async () => {
    const { graph } = childGraph(() => {
      throw new Error("checker down");
    });
    const result = await parentAgent(nestedGraph<Parent, Child>(graph)).run({});
    expect(result.status).toBe("failed");
    const cause = result.error?.cause as NestedGraphError;
    expect(cause).toBeInstanceOf(NestedGraphError);
    expect(cause.status).toBe("failed");
    expect(cause.message).toContain("checker down");
  });

  it("continues the child where it stopped when the parent is resumed", async () => {
    let hang = true;
    const { graph, calls } = childGraph((_s, signal) =>
      hang ? untilAborted(signal) : { log: ["check"] },
    );
    const agent = parentAgent(nestedGraph<Parent, Child>(graph));
    const controller = new AbortController();
    const running = agent.run({ request: "q" }, { sessionId: "r", signal: controller.signal });
    while (calls.check === 0) await turns(1);
    controller.abort("stop");
    expect((await running).status).toBe("cancelled");
    await turns(2);
    hang = false;
    const resumed = await agent.resume("r");
    expect(resumed.status).toBe("completed");
    expect(calls).toEqual({ draft: 1, check: 2 });
    expect(resumed.state.log).toEqual(["before", "draft", "check", "after"]);
  });

  it("starts the child afresh when the node runs again in a new run", async () => {
    const { graph, calls } = childGraph(() => ({}));
    const agent = parentAgent(nestedGraph<Parent, Child>(graph));
    await agent.run({}, { sessionId: "twice" });
    await agent.run({}, { sessionId: "twice" });
    expect(calls).toEqual({ draft: 2, check: 2 });
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { findSpan, findSpans, formatSpanTree, spanTree } from "../../src/entries/testing.js";
import {
  agentNode,
  END,
  Graph,
  GraphAgent,
  InterruptService,
  MemoryStore,
  nestedGraph,
  parallelGroup,
  ScriptedModel,
  START,
} from "../../src/index.js";
import { setupTelemetry, type TelemetryHandle } from "../../src/telemetry/setup-telemetry.js";

const State = z.object({
  topic: z.string().default("tides"),
  draft: z.string().default(""),
  notes: z.array(z.string()).default([]),
});
type State = z.infer<typeof State>;

function build() {
  const child = new Graph({ state: State, name: "polish", reducers: { notes: "append" } })
    .addNode("tidy", () => ({ notes: ["tidied"] }))
    .addEdge(START, "tidy")
    .addEdge("tidy", END)
    .compile();
  const model = new ScriptedModel({ responses: () => "A draft about tides." });
  return new Graph({ state: State, name: "article", reducers: { notes: "append" } })
    .addNode(
      "write",
      agentNode<State>({
        name: "writer",
        model,
        instructions: "Write.",
        prompt: (s) => `Write about ${s.topic}`,
        update: ({ text }) => ({ draft: text }),
      }),
    )
    .addNode("polish", nestedGraph<State, State>(child))
    .addNode(
      "check",
      parallelGroup<State>({
        branches: { facts: () => ({ notes: ["facts ok"] }), tone: () => ({ notes: ["tone ok"] }) },
      }),
    )
    .addNode("review", (s) => ({ notes: [`reviewed ${s.draft.length}`] }))
    .addEdge(START, "write")
    .addEdge("write", "polish")
    .addEdge("polish", "check")
    .addEdge("check", "review")
    .addEdge("review", END)
    .compile();
}

let telemetry: TelemetryHandle | undefined;
afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
});

describe("run spans", () => {
  it("nests node, agent, model, nested-graph, branch, approval and interrupt spans and links a resumed run", async () => {
    telemetry = await setupTelemetry({ exporter: "memory", serviceName: "trellis-test" });
    const store = new MemoryStore();
    const interrupts = new InterruptService({ store });
    const agent = new GraphAgent({
      graph: build(),
      store,
      interrupts,
      interruptConfig: { approvals: { review: {} } },
    });

    const first = await agent.run({}, { sessionId: "traced" });
    expect(first.status).toBe("paused");
    await interrupts.send("traced", "looks good, ship it", { sender: "ana" });
    const second = await agent.resume("traced");
    expect(second.status).toBe("completed");

    await telemetry.flush();
    const roots = spanTree(telemetry.memory!.getFinishedSpans());
    const runs = roots.filter((r) => r.name === "invoke_workflow article");
    expect(runs, formatSpanTree(roots)).toHaveLength(2);
    const [one, two] = runs as [(typeof runs)[0], (typeof runs)[0]];

    expect(one.attributes).toMatchObject({
      "gen_ai.operation.name": "invoke_workflow",
      "gen_ai.conversation.id": "traced",
      "trellis.run.status": "paused",
    });
    const writer = findSpan([one], "invoke_agent writer");
    expect(writer?.attributes).toMatchObject({
      "gen_ai.agent.name": "writer",
      "gen_ai.provider.name": "scripted",
    });
    const chat = writer?.children.find((c) => c.name.startsWith("chat "));
    expect(chat?.kind).toBe("client");
    expect(chat?.attributes["gen_ai.usage.output_tokens"]).toBeGreaterThan(0);

    const polish = findSpan([one], "node polish");
    expect(polish?.children.map((c) => c.name)).toContain("invoke_workflow polish");
    // A nested node is named by its path: the nested node, then its own name.
    expect(findSpan(polish ? [polish] : [], "node polish/tidy")).toBeDefined();

    const group = findSpan([one], "parallel check");
    expect(group?.children.map((c) => c.name).sort()).toEqual(["branch facts", "branch tone"]);

    expect(findSpan([one], "approval review")).toBeDefined();
    expect(findSpans([one], "checkpoint write").length).toBeGreaterThan(4);
    const route = findSpan([one], "node review")?.events.find((e) => e.name === "trellis.route");
    expect(route?.attributes?.["trellis.route.targets"]).toEqual(["END"]);

    // The resumed run links to the run it continues and records the decision it obeyed.
    expect(two.links.map((l) => l.spanId)).toContain(one.spanId);
    expect(two.attributes["trellis.session.resumed_from"]).toBeTypeOf("string");
    expect(two.events.map((e) => e.name)).toContain("trellis.resumed");
    const decision = findSpan([two], "interrupt approve");
    expect(decision?.attributes).toMatchObject({
      "trellis.interrupt.action": "approve",
      "trellis.interrupt.source": "rules",
    });
    expect(decision?.attributes["trellis.interrupt.confidence"]).toBeGreaterThan(0.5);
    expect(two.attributes["trellis.run.status"]).toBe("completed");
  });

  it("names a nested node's spans by the nested node's path, not the child graph's name, for two nodes over one child", async () => {
    telemetry = await setupTelemetry({ exporter: "memory", serviceName: "trellis-test" });
    const payments = new Graph({ state: State, name: "payments", reducers: { notes: "append" } })
      .addNode("charge", () => ({ notes: ["charged"] }))
      .addEdge(START, "charge")
      .addEdge("charge", END)
      .compile();
    const graph = new Graph({ state: State, name: "shop", reducers: { notes: "append" } })
      .addNode("billing", nestedGraph<State, State>(payments))
      .addNode("refund", nestedGraph<State, State>(payments))
      .addEdge(START, "billing")
      .addEdge("billing", "refund")
      .addEdge("refund", END)
      .compile();
    const result = await new GraphAgent({ graph }).run({});
    expect(result.status).toBe("completed");
    const names = telemetry.memory!.getFinishedSpans().map((span) => span.name);
    expect(names).toContain("node billing/charge");
    expect(names).toContain("node refund/charge");
    expect(names.filter((name) => name.includes("payments/charge"))).toEqual([]);
  });

  it("marks a failed run's root span as an error with error.type", async () => {
    telemetry = await setupTelemetry({ exporter: "memory" });
    const graph = new Graph({ state: State, name: "broken" })
      .addNode("boom", () => {
        throw new Error("disk full");
      })
      .addEdge(START, "boom")
      .addEdge("boom", END)
      .compile();
    const result = await new GraphAgent({ graph }).run({});
    expect(result.status).toBe("failed");
    await telemetry.flush();
    const [root] = spanTree(telemetry.memory!.getFinishedSpans());
    expect(root?.status.code).toBe("error");
    expect(root?.attributes["error.type"]).toBe("NODE_FAILED");
    expect(findSpan(root ? [root] : [], "node boom")?.status.code).toBe("error");
  });

  it("ends a child rejected at its gate as an outcome, and the nested node it fails as an error", async () => {
    telemetry = await setupTelemetry({ exporter: "memory" });
    const store = new MemoryStore();
    const interrupts = new InterruptService({ store });
    const agent = new GraphAgent({
      graph: build(),
      store,
      interrupts,
      interruptConfig: { approvals: { "polish/tidy": {} } },
    });
    expect((await agent.run({}, { sessionId: "nested-reject" })).status).toBe("paused");
    await interrupts.send("nested-reject", { type: "reject", reason: "off topic" });
    expect((await agent.resume("nested-reject")).status).toBe("failed");
    await telemetry.flush();
    const [, resumed] = spanTree(telemetry.memory!.getFinishedSpans());
    const node = findSpan(resumed ? [resumed] : [], "node polish");
    const child = node?.children.find((c) => c.name === "invoke_workflow polish");
    expect(child?.attributes["trellis.run.status"]).toBe("rejected");
    expect(child?.status.code).toBe("unset");
    expect(findSpan(child ? [child] : [], "interrupt reject")?.status.code).toBe("unset");
    expect(node?.status.code).toBe("error");
    expect(resumed?.attributes["trellis.run.status"]).toBe("failed");
  });

  it("records states and updates on spans only when content recording is on", async () => {
    telemetry = await setupTelemetry({ exporter: "memory" });
    const graph = new Graph({ state: State, name: "private" })
      .addNode("note", () => ({ draft: "secret plan" }))
      .addEdge(START, "note")
      .addEdge("note", END)
      .compile();
    await new GraphAgent({ graph }).run({ topic: "payroll" });
    await new GraphAgent({ graph, telemetry: { recordContent: true } }).run({ topic: "payroll" });
    await telemetry.flush();
    const [quiet, loud] = spanTree(telemetry.memory!.getFinishedSpans());
    const all = (root: typeof quiet) => JSON.stringify(root);
    expect(all(quiet)).not.toContain("payroll");
    expect(all(quiet)).not.toContain("secret plan");
    expect(String(loud?.attributes["trellis.state.input"])).toContain("payroll");
    expect(
      String(findSpan(loud ? [loud] : [], "node note")?.attributes["trellis.state.update"]),
    ).toContain("secret plan");
  });
});

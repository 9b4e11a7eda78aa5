import { describe, expect, it } from "vitest";
import {
  type InterruptReasoner,
  type ModelClient,
  ModelReasoner,
  type ModelRequest,
  type ModelResponse,
  RuleBasedReasoner,
  silentLogger,
} from "../../src/index.js";
import { decided, ofType, requested, reviewGraph, setup, until, writerGraph } from "./harness.js";

/** A model that answers from a list, one answer per call, and keeps the requests. */
class FakeModel implements ModelClient {
  readonly provider = "fake";
  readonly model = "fake-reasoner";
  readonly requests: ModelRequest[] = [];
  readonly #answers: readonly (ModelResponse | Error)[];

  constructor(answers: readonly (ModelResponse | Error)[]) {
    this.#answers = answers;
  }

  async generate(request: ModelRequest): Promise<ModelResponse> {
    const answer = this.#answers[this.requests.length];
    this.requests.push(request);
    if (answer === undefined) throw new Error("the fake model has no more answers");
    if (answer instanceof Error) throw answer;
    return answer;
  }
}

const goBackToOutline = {
  reasoning: "The human wants to redo the outline.",
  action: "go_back",
  to: "outline",
  confidence: 0.9,
};
const good = (data: object): ModelResponse => ({
  text: JSON.stringify(data),
  data,
  model: "fake-reasoner",
});
const broken: ModelResponse = { text: '{"action": "go_back", "to": ', model: "fake-reasoner" };

/** The writer graph with `polish` held; sends `text` while it runs. */
async function steer(text: string, reasoner?: InterruptReasoner) {
  const t = setup({
    graph: writerGraph,
    ...(reasoner === undefined ? {} : { interruptConfig: { reasoner } }),
  });
  const hold = t.probe.hold("polish");
  const run = t.agent.run({}, { sessionId: "s" });
  await hold.entered;
  const receipt = await t.interrupts.send("s", text, { sender: "ana" });
  hold.release();
  return { ...t, result: await run, receipt };
}

describe("free text through the RuleBasedReasoner", () => {
  it('reads "go back to the outline" as go_back and records the source', async () => {
    const { result, receipt, probe, events } = await steer("go back to the outline");
    expect(await decided(receipt)).toMatchObject({
      status: "applied",
      action: { type: "go_back", to: "outline" },
      source: "rules",
    });
    expect(result.state.log).toEqual(["outline", "draft", "polish"]);
    expect(probe.counts()).toEqual({ outline: 2, draft: 2, polish: 2 });
    expect(ofType(events, "interrupt:applied")[0]).toMatchObject({ source: "rules" });
  });

  it("falls back to its configured action when nothing matches, and says so", async () => {
    const reasoner = new RuleBasedReasoner({ logger: silentLogger });
    const { result, receipt } = await steer("the weather is nice", reasoner);
    expect(await decided(receipt)).toMatchObject({
      status: "applied",
      action: { type: "continue" },
      source: "fallback",
    });
    expect(result.status).toBe("completed");
  });

  it("turns feedback at a gate into request_changes, and lgtm into approve", async () => {
    const t = setup({
      graph: reviewGraph,
      interruptConfig: { approvals: { review: { timeoutMs: 600_000 } } },
    });
    const run = t.agent.run({}, { sessionId: "s" });
    await requested(t);
    const changes = await t.interrupts.send("s", "make it shorter");
    await requested(t, 2);
    const approve = await t.interrupts.send("s", "lgtm");
    const result = await run;

    expect(await decided(changes)).toMatchObject({
      action: { type: "request_changes", feedback: "make it shorter" },
      source: "rules",
    });
    expect(await decided(approve)).toMatchObject({ action: { type: "approve" }, source: "rules" });
    expect(result.state.log).toEqual(["draft", "review:make it shorter", "publish"]);
  });
});

describe("free text on arrival", () => {
  it("is read by the reasoner when it arrives, with where the run stands at that moment", async () => {
    const seen: { node: string | null; path: readonly string[] }[] = [];
    const reasoner: InterruptReasoner = {
      decide: async (_message, context) => {
        seen.push({ node: context.currentNode, path: context.path });
        return {
          decision: { action: { type: "continue" }, reasoning: "", confidence: 1 },
          source: "rules",
          attempts: 1,
          problems: [],
        };
      },
    };
    const t = setup({ interruptConfig: { reasoner } });
    const hold = t.probe.hold("b");
    const run = t.agent.run({}, { sessionId: "s" });
    await hold.entered;
    const receipt = await t.interrupts.send("s", "carry on");
    await until(() => seen.length === 1);
    // Read while b still runs, and not read a second time at the check after it.
    expect(seen).toEqual([{ node: "b", path: ["a"] }]);
    hold.release();
    expect((await run).status).toBe("completed");
    expect((await decided(receipt)).status).toBe("applied");
    expect(seen).toHaveLength(1);
  });
});

describe("free text through the ModelReasoner", () => {
  it("retries once after a broken answer, then applies the good one (source model)", async () => {
    const model = new FakeModel([broken, good(goBackToOutline)]);
    const reasoner = new ModelReasoner({ model, logger: silentLogger });
    const { result, receipt, probe } = await steer("let's redo the structure", reasoner);

    expect(await decided(receipt)).toMatchObject({
      status: "applied",
      action: { type: "go_back", to: "outline" },
      source: "model",
      detail: "The human wants to redo the outline.",
    });
    expect(probe.count("outline")).toBe(2);
    expect(result.state.log).toEqual(["outline", "draft", "polish"]);
    expect(model.requests).toHaveLength(2);
    const first = model.requests[0]?.prompt;
    const retry = model.requests[1]?.prompt;
    // Free text is read when it arrives: `polish` was running then.
    expect(JSON.stringify(first)).toContain("Current node: polish");
    expect(JSON.stringify(first)).toContain("Nodes you can go back to: outline, draft\\n");
    expect(JSON.stringify(retry)).toContain("Your answer was refused");
  });

  it("falls back (source fallback) after two broken answers, and the run goes on", async () => {
    const model = new FakeModel([broken, broken]);
    const reasoner = new ModelReasoner({ model, logger: silentLogger });
    const { result, receipt, probe } = await steer("let's redo the structure", reasoner);
    expect(await decided(receipt)).toMatchObject({
      status: "applied",
      action: { type: "continue" },
      source: "fallback",
    });
    expect(result.status).toBe("completed");
    expect(probe.count("outline")).toBe(1);
  });

  it("retries an answer that names a node one cannot go back to", async () => {
    const model = new FakeModel([
      good({ ...goBackToOutline, to: "publish" }),
      good(goBackToOutline),
    ]);
    const reasoner = new ModelReasoner({ model, logger: silentLogger });
    const { receipt } = await steer("back to the outline", reasoner);
    expect(await decided(receipt)).toMatchObject({
      action: { type: "go_back", to: "outline" },
      source: "model",
    });
  });

  it("falls back at once when the model call fails", async () => {
    const model = new FakeModel([new Error("quota exceeded")]);
    const reasoner = new ModelReasoner({
      model,
      logger: silentLogger,
      fallback: { type: "pause" },
    });
    const { result, receipt } = await steer("redo it", reasoner);
    expect(await decided(receipt)).toMatchObject({
      action: { type: "pause" },
      source: "fallback",
    });
    expect(model.requests).toHaveLength(1);
    expect(result.status).toBe("paused");
  });
});

/**
 * Keys named like prototype members inside `update_state` values: `__proto__` is refused when
 * the message is sent (validation would drop it silently, and assignment would treat it as the
 * prototype); `constructor` and friends are ordinary data where the state holds a record, and an
 * unknown state key where they name one.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  END,
  Graph,
  GraphAgent,
  InterruptService,
  InvalidInterruptError,
  MemoryStore,
  START,
  StateValidationError,
  silentLogger,
} from "../../src/index.js";
import { toInterruptDecision } from "../../src/interrupts/interrupt-decision.js";
import { decided, refusedWith, setup } from "./harness.js";

/** What a sender's JSON (from the CLI, the review API, a file) parses to. */
const fromJson = (text: string): Record<string, unknown> => JSON.parse(text);

describe("update_state values with keys named __proto__", () => {
  it.each([
    ["at the top", '{"__proto__":{"note":"x"}}', "values.__proto__"],
    ["inside a value", '{"note":{"__proto__":{"polluted":true}}}', "values.note.__proto__"],
    ["inside an array", '{"log":[{"a":1},{"__proto__":1}]}', "values.log[1].__proto__"],
  ])("are refused at send %s, naming where, and nothing is queued", async (_where, json, path) => {
    const { interrupts, store } = setup();
    const error = await interrupts
      .send("s", { type: "update_state", values: fromJson(json) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInterruptError);
    const issues = (error as InvalidInterruptError).issues;
    expect(issues).toEqual([expect.stringContaining(`${path}: a key named \`__proto__\``)]);
    expect((error as Error).message).toContain(path);
    expect((await store.interrupts.stats("s")).depth).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it("are refused in a model's decision, which then falls back", () => {
    const result = toInterruptDecision({
      reasoning: "r",
      action: "update_state",
      values: '{"note":"x","__proto__":{"note":"y"}}',
      confidence: 0.9,
    });
    expect(result).toEqual({
      success: false,
      problem: expect.stringContaining("values.__proto__: a key named `__proto__`"),
    });
  });
});

describe("update_state values with keys named constructor", () => {
  it("refuses `constructor` as a state key when the run applies it, leaving the state untouched", async () => {
    const { agent, interrupts, probe } = setup();
    const hold = probe.hold("a");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const receipt = await interrupts.send("s", {
      type: "update_state",
      values: fromJson('{"constructor":{"prototype":{"polluted":true}}}'),
    });
    hold.release();
    const result = await run;
    await refusedWith(receipt, StateValidationError);
    expect(result.state.note).toBe("");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("keeps `constructor`, `toString` and `hasOwnProperty` as own data inside a record key", async () => {
    const State = z.object({
      tags: z.record(z.string(), z.string()).default({}),
      seen: z.array(z.string()).default([]),
    });
    const store = new MemoryStore({ logger: silentLogger });
    const interrupts = new InterruptService({ store, logger: silentLogger });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const started = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const graph = new Graph({ state: State, name: "tags" })
      .addNode("a", async () => {
        entered();
        await held;
        return {};
      })
      .addNode("b", (state) => ({ seen: Object.keys(state.tags) }))
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("b", END)
      .compile();
    const agent = new GraphAgent({ graph, store, interrupts, logger: silentLogger });
    const run = agent.run({}, { sessionId: "tags" });
    await started;
    const receipt = await interrupts.send("tags", {
      type: "update_state",
      values: fromJson('{"tags":{"constructor":"c","toString":"t","hasOwnProperty":"h"}}'),
    });
    release();
    const result = await run;
    expect((await decided(receipt)).status).toBe("applied");
    expect(result.state.seen).toEqual(["constructor", "toString", "hasOwnProperty"]);
    expect(Object.hasOwn(result.state.tags, "constructor")).toBe(true);
    expect(result.state.tags.toString).toBe("t");
    // Read back from the store, the same own keys.
    expect((await agent.getState("tags"))?.state.tags).toEqual({
      constructor: "c",
      toString: "t",
      hasOwnProperty: "h",
    });
  });
});

import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  Command,
  END,
  Graph,
  GraphAgent,
  InvalidNodeResultError,
  type NodeFn,
  parallelGroup,
  START,
} from "../../src/index.js";

const State = z.object({ count: z.number().default(0), data: z.any().optional() });
type State = z.output<typeof State>;

class Report {
  constructor(readonly count: number) {}
}

/** START → node → after → END. */
function agentFor(node: () => unknown) {
  const after = vi.fn<NodeFn<State>>(() => undefined);
  const graph = new Graph({ state: State, name: "results" })
    .addNode("node", node as NodeFn<State>)
    .addNode("after", after)
    .addEdge(START, "node")
    .addEdge("node", "after")
    .addEdge("after", END)
    .compile();
  return { agent: new GraphAgent({ graph }), after };
}

const INVALID: readonly (readonly [string, () => unknown, string])[] = [
  ["42", () => 42, "`42` (number)"],
  ["true", () => true, "`true` (boolean)"],
  ["a function", () => () => ({ count: 1 }), "a function"],
  ["a Map", () => new Map([["count", 1]]), "a `Map`"],
  ["a string", () => "done", '`"done"` (string)'],
  ["an array", () => [{ count: 1 }], "an array of 1"],
  ["a class instance", () => new Report(1), "an instance of `Report`"],
];

describe("what a node returns", () => {
  it.each(INVALID)(
    "fails the run with InvalidNodeResultError when a node returns %s",
    async (_name, result, found) => {
      const { agent, after } = agentFor(result);
      const run = await agent.run({});
      expect(run.status).toBe("failed");
      expect(run.error).toBeInstanceOf(InvalidNodeResultError);
      const error = run.error as InvalidNodeResultError;
      expect(error.code).toBe("NODE_RESULT_INVALID");
      expect(error.node).toBe("node");
      expect(error.message).toContain(`Node \`node\` returned ${found}`);
      expect(error.message).toContain("a `Command`");
      expect(after).not.toHaveBeenCalled();
      expect(run.state).toEqual({ count: 0 });
    },
  );

  it("fails the run when a Command's update is not a plain object", async () => {
    const { agent } = agentFor(() => new Command({ update: new Map() as never, goto: END }));
    const run = await agent.run({});
    expect(run.error).toBeInstanceOf(InvalidNodeResultError);
    expect(run.error?.message).toContain("a Command whose `update` is a `Map`");
  });

  it.each([
    ["undefined", () => undefined],
    ["null", () => null],
    ["an empty object", () => ({})],
    ["an object without a prototype", () => Object.assign(Object.create(null), { count: 2 })],
    ["a Command", () => new Command({ update: { count: 3 }, goto: "after" })],
  ])("accepts %s", async (_name, result) => {
    const { agent, after } = agentFor(result);
    const run = await agent.run({});
    expect(run.status).toBe("completed");
    expect(after).toHaveBeenCalledOnce();
  });

  it("fails a parallel branch that returns something else, naming the branch", async () => {
    const graph = new Graph({ state: State })
      .addNode(
        "group",
        parallelGroup<State>({
          branches: { ok: () => ({ count: 1 }), bad: (() => 42) as unknown as NodeFn<State> },
        }),
      )
      .addEdge(START, "group")
      .addEdge("group", END)
      .compile();
    const run = await new GraphAgent({ graph }).run({});
    expect(run.status).toBe("failed");
    const cause = run.error?.cause as { failures: { error: unknown }[] } | undefined;
    const error = cause?.failures[0]?.error as InvalidNodeResultError;
    expect(error).toBeInstanceOf(InvalidNodeResultError);
    expect(error.branch).toBe("bad");
    expect(error.message).toContain("Branch `bad` of parallel group `group` returned `42`");
  });
});

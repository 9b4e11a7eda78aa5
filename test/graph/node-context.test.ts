import { describe, expect, it } from "vitest";
import { z } from "zod";
import { END, Graph, GraphAgent, parallelGroup, START } from "../../src/index.js";

const State = z.object({ notes: z.array(z.string()).default([]) });
type State = z.infer<typeof State>;

describe("node context", () => {
  it("keeps emit and signal working when a node or a branch destructures its context", async () => {
    const graph = new Graph({ state: State, name: "ctx", reducers: { notes: "append" } })
      .addNode("solo", (_s, { emit, signal, node }) => {
        emit("seen", { node });
        return { notes: [`solo aborted=${signal.aborted}`] };
      })
      .addNode(
        "group",
        parallelGroup<State>({
          branches: {
            left: (_s, { emit, signal, node }) => {
              emit("seen", { node });
              return { notes: [`left aborted=${signal.aborted}`] };
            },
          },
        }),
      )
      .addEdge(START, "solo")
      .addEdge("solo", "group")
      .addEdge("group", END)
      .compile();
    const agent = new GraphAgent({ graph });
    const seen: unknown[] = [];
    agent.on("custom", (e) => seen.push(e.data));

    const result = await agent.run({});

    expect(result.status).toBe("completed");
    expect(result.state.notes).toEqual(["solo aborted=false", "left aborted=false"]);
    expect(seen).toEqual([{ node: "solo" }, { node: "group/left" }]);
  });
});

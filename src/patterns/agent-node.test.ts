import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { InvalidOptionError } from "../errors.js";
import { Graph } from "../graph/graph.js";
import type { NodeContext } from "../graph/node.js";
import { silentLogger } from "../logger.js";
import { ScriptedModel } from "../models/scripted-model.js";
import { agentNode } from "./agent-node.js";

interface Post {
  topic: string;
  outline: string[];
  draft: string;
}

function context(overrides: Partial<NodeContext> = {}): NodeContext {
  return {
    signal: new AbortController().signal,
    sessionId: "s1",
    runId: "r1",
    node: "outline",
    iteration: 1,
    attempt: 1,
    feedback: undefined,
    revision: undefined,
    item: undefined,
    emit: () => {},
    logger: silentLogger,
    idempotencyKey: "k1",
    ...overrides,
  };
}

const state: Post = { topic: "tide pools", outline: [], draft: "" };

describe("agentNode", () => {
  it("describes an agent node with its model", () => {
    const model = new ScriptedModel({ responses: [], model: "fake" });
    const node = agentNode<Post>({
      name: "outliner",
      model,
      instructions: "You outline.",
      prompt: (s) => s.topic,
      update: ({ text }) => ({ draft: text }),
    });
    expect(node.kind).toBe("agent");
    expect(node.agentName).toBe("outliner");
    expect(node.model).toEqual({ provider: "scripted", name: "fake" });
  });

  it("leaves agentName out when no name is given", () => {
    const node = agentNode<Post>({
      model: new ScriptedModel({ responses: [] }),
      instructions: "x",
      prompt: () => "x",
      update: () => ({}),
    });
    expect(node).not.toHaveProperty("agentName");
  });

  it("calls the model with the instructions, prompt and the node's signal", async () => {
    const model = new ScriptedModel({ responses: ["A draft"] });
    const controller = new AbortController();
    let seenSignal: AbortSignal | undefined;
    const spy = {
      provider: model.provider,
      model: model.model,
      generate: (...args: Parameters<ScriptedModel["generate"]>) => {
        seenSignal = args[1]?.signal;
        return model.generate(...args);
      },
    };
    const node = agentNode<Post>({
      model: spy,
      instructions: (s) => `Write about ${s.topic}.`,
      prompt: (s, ctx) => `Draft ${s.topic} (run ${ctx.runId})`,
      update: ({ text }) => ({ draft: text }),
      temperature: 0.3,
    });
    const update = await node.run(state, context({ signal: controller.signal }));
    expect(update).toEqual({ draft: "A draft" });
    expect(seenSignal).toBe(controller.signal);
    expect(model.calls[0]).toEqual({
      system: "Write about tide pools.",
      prompt: "Draft tide pools (run r1)",
      temperature: 0.3,
    });
  });

  it("adds human feedback to the prompt when the node is re-run", async () => {
    const model = new ScriptedModel({ responses: ["shorter draft"] });
    const node = agentNode<Post>({
      model,
      instructions: "x",
      prompt: () => "Draft it",
      update: ({ text }) => ({ draft: text }),
    });
    await node.run(state, context({ feedback: "Make it shorter" }));
    const prompt = model.calls[0]?.prompt;
    expect(prompt).toMatch(/^Draft it\n\n/);
    expect(prompt).toContain("Make it shorter");
  });

  it("gives the validated structured answer to update", async () => {
    const model = new ScriptedModel({ responses: [{ sections: ["Intro", "Life", "End"] }] });
    const node = agentNode({
      model,
      instructions: "x",
      prompt: (s: Readonly<Post>) => s.topic,
      output: z.object({ sections: z.array(z.string()) }),
      update: ({ data }): Partial<Post> => ({ outline: data.sections }),
    });
    expect(await node.run(state, context())).toEqual({ outline: ["Intro", "Life", "End"] });
    expect(model.calls[0]?.schema).toBeDefined();
  });

  it("lets the model's error fail the node", async () => {
    const model = new ScriptedModel({ responses: [new Error("quota exceeded")] });
    const node = agentNode<Post>({
      model,
      instructions: "x",
      prompt: () => "x",
      update: () => ({}),
    });
    await expect(node.run(state, context())).rejects.toThrow("quota exceeded");
  });

  it("validates its options", () => {
    expect(() =>
      agentNode<Post>({
        model: {} as ScriptedModel,
        instructions: "x",
        prompt: () => "x",
        update: () => ({}),
      }),
    ).toThrow(InvalidOptionError);
    expect(() =>
      agentNode<Post>({
        model: new ScriptedModel({ responses: [] }),
        instructions: "x",
        prompt: "x" as unknown as () => string,
        update: () => ({}),
      }),
    ).toThrow('Expected `prompt` to be a function `(state, ctx) => string`, got `"x"` (string).');
  });

  it("infers the state from addNode and the answer's type from the output schema", () => {
    const State = z.object({ topic: z.string(), outline: z.array(z.string()).default([]) });
    const graph = new Graph({ state: State }).addNode(
      "outline",
      agentNode({
        model: new ScriptedModel({ responses: [] }),
        instructions: "x",
        prompt: (s) => {
          expectTypeOf(s.topic).toEqualTypeOf<string>();
          return s.topic;
        },
        output: z.object({ sections: z.array(z.string()) }),
        update: ({ data }) => {
          expectTypeOf(data).toEqualTypeOf<{ sections: string[] }>();
          return { outline: data.sections };
        },
      }),
    );
    expect(graph).toBeInstanceOf(Graph);
  });
});

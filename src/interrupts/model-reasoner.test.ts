import { describe, expect, it } from "vitest";
import { z } from "zod";
import { InvalidOptionError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ModelClient, ModelRequest, ModelResponse } from "../models/model-client.js";
import { ScriptedModel } from "../models/scripted-model.js";
import type { ReasonerContext } from "./interrupt-reasoner.js";
import { ModelReasoner } from "./model-reasoner.js";

function recordingLogger() {
  const warnings: Array<{ message: string; attributes: Record<string, unknown> | undefined }> = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (message, attributes) => warnings.push({ message, attributes }),
    error: () => {},
  };
  return { logger, warnings };
}

/** A model that returns `data` exactly as scripted, without validating it (as a careless adapter might). */
class UncheckedModel implements ModelClient {
  readonly provider = "unchecked";
  readonly model = "unchecked-1";
  readonly calls: ModelRequest[] = [];
  readonly #answers: unknown[];
  constructor(answers: unknown[]) {
    this.#answers = answers;
  }
  async generate(request: ModelRequest): Promise<ModelResponse> {
    this.calls.push(request);
    const data = this.#answers.shift();
    return { text: JSON.stringify(data) ?? "", data, model: this.model };
  }
}

const context: ReasonerContext = {
  graph: "blog",
  currentNode: "draft",
  path: ["research", "outline", "draft"],
  allowedActions: ["continue", "pause", "cancel", "go_back", "rerun", "skip", "update_state"],
  goBackTargets: ["research", "outline"],
  state: { topic: "tide pools", words: 120 },
  atApprovalGate: false,
};

const good = {
  reasoning: "The human wants the outline redone.",
  action: "go_back",
  to: "outline",
  confidence: 0.9,
};

function promptText(request: ModelRequest | undefined): string {
  const prompt = request?.prompt;
  if (prompt === undefined) return "";
  return typeof prompt === "string"
    ? prompt
    : prompt.map((m) => `${m.role}: ${m.content}`).join("\n");
}

describe("ModelReasoner", () => {
  it("returns the model's decision when the first answer is good", async () => {
    const model = new ScriptedModel({ responses: [good] });
    const { logger, warnings } = recordingLogger();
    const outcome = await new ModelReasoner({ model, logger }).decide(
      "go back to the outline",
      context,
    );
    expect(outcome).toEqual({
      decision: {
        action: { type: "go_back", to: "outline" },
        reasoning: "The human wants the outline redone.",
        confidence: 0.9,
      },
      source: "model",
      attempts: 1,
      problems: [],
    });
    expect(warnings).toHaveLength(0);
    expect(model.calls[0]?.temperature).toBe(0);
    expect(model.calls[0]?.system).toContain("single control action");
  });

  it("retries once after invalid JSON, telling the model what was wrong", async () => {
    const model = new ScriptedModel({ responses: ["{not json", good] });
    const outcome = await new ModelReasoner({ model, logger: recordingLogger().logger }).decide(
      "go back to the outline",
      context,
    );
    expect(outcome.source).toBe("model");
    expect(outcome.attempts).toBe(2);
    expect(outcome.problems).toEqual(["the answer is not valid JSON"]);
    expect(model.calls[0]?.prompt).toHaveLength(1);
    const retry = model.calls[1]?.prompt;
    expect(retry).toHaveLength(3);
    expect(retry?.slice(1)).toEqual([
      { role: "assistant", content: "{not json" },
      { role: "user", content: expect.stringContaining("refused: the answer is not valid JSON") },
    ]);
  });

  it("retries after an action that is not allowed (refused by the narrowed schema)", async () => {
    const model = new ScriptedModel({
      responses: [{ ...good, action: "approve", to: undefined }, good],
    });
    const outcome = await new ModelReasoner({ model, logger: recordingLogger().logger }).decide(
      "ok",
      context,
    );
    expect(outcome.source).toBe("model");
    expect(outcome.problems).toHaveLength(1);
    expect(outcome.problems[0]).toMatch(/does not match the schema \(action:/);
  });

  it("checks answers again when the model does not validate them", async () => {
    const model = new UncheckedModel([undefined, { ...good, action: "approve", to: undefined }]);
    const outcome = await new ModelReasoner({ model, logger: recordingLogger().logger }).decide(
      "ok",
      { ...context, allowedActions: ["continue", "go_back"] },
    );
    expect(outcome.source).toBe("fallback");
    expect(outcome.problems).toEqual([
      expect.stringMatching(/^the answer does not match the schema \(\(root\):/),
      expect.stringMatching(/^the answer does not match the schema \(action:/),
    ]);
    expect(model.calls).toHaveLength(2);
  });

  it("retries after a go_back target that does not exist", async () => {
    const model = new ScriptedModel({ responses: [{ ...good, to: "introduction" }, good] });
    const outcome = await new ModelReasoner({ model, logger: recordingLogger().logger }).decide(
      "go back to the intro",
      context,
    );
    expect(outcome.attempts).toBe(2);
    expect(outcome.problems[0]).toMatch(/^the answer does not match the schema \(to:/);
    expect(outcome.decision.action).toEqual({ type: "go_back", to: "outline" });
  });

  it("refuses go_back to a node that is not a target even when the schema cannot list them", async () => {
    const model = new ScriptedModel({
      responses: [
        { ...good, to: "outline" },
        { ...good, action: "pause" },
      ],
    });
    const { logger } = recordingLogger();
    // With no targets, `to` is a plain string in the schema; the context check refuses it.
    const outcome = await new ModelReasoner({ model, logger }).decide("back to the outline", {
      ...context,
      goBackTargets: [],
    });
    expect(outcome.problems).toEqual(["go_back to `outline`: there is no node to go back to"]);
    expect(outcome.decision.action).toEqual({ type: "pause" });
  });

  it("refuses going back more steps than have run", async () => {
    const model = new ScriptedModel({
      responses: [
        { ...good, to: undefined, steps: 5 },
        { ...good, to: undefined, steps: 2 },
      ],
    });
    const outcome = await new ModelReasoner({ model, logger: recordingLogger().logger }).decide(
      "go back 5 steps",
      context,
    );
    expect(outcome.problems).toEqual(["go_back 5 steps: only 3 nodes have run"]);
    expect(outcome.decision.action).toEqual({ type: "go_back", steps: 2 });
  });

  it("retries after a confidence below the minimum", async () => {
    const model = new ScriptedModel({ responses: [{ ...good, confidence: 0.3 }, good] });
    const outcome = await new ModelReasoner({
      model,
      minConfidence: 0.6,
      logger: recordingLogger().logger,
    }).decide("hmm, the outline?", context);
    expect(outcome.source).toBe("model");
    expect(outcome.problems).toEqual([
      expect.stringContaining("confidence 0.3 is below the minimum 0.6"),
    ]);
  });

  it("falls back after two bad answers, recording and logging both problems", async () => {
    const model = new ScriptedModel({ responses: ["nope", { ...good, confidence: 0.1 }] });
    const { logger, warnings } = recordingLogger();
    const outcome = await new ModelReasoner({ model, logger, fallback: { type: "pause" } }).decide(
      "go back to the outline",
      context,
    );
    expect(outcome.source).toBe("fallback");
    expect(outcome.attempts).toBe(2);
    expect(outcome.decision.action).toEqual({ type: "pause" });
    expect(outcome.decision.confidence).toBe(0);
    expect(outcome.decision.reasoning).toContain("Fell back to `pause`");
    expect(outcome.problems).toEqual([
      "the answer is not valid JSON",
      expect.stringContaining("confidence 0.1 is below the minimum 0.5"),
    ]);
    expect(model.calls).toHaveLength(2);
    expect(warnings.map((w) => w.attributes?.problem ?? w.attributes?.problems)).toEqual([
      outcome.problems[0],
      outcome.problems[1],
      outcome.problems,
    ]);
    expect(warnings[2]?.message).toContain("fell back to `pause`");
  });

  it("falls back to continue by default when the model call fails", async () => {
    const model = new ScriptedModel({ responses: [new Error("503 overloaded")] });
    const outcome = await new ModelReasoner({ model, logger: recordingLogger().logger }).decide(
      "pause please",
      context,
    );
    expect(outcome).toMatchObject({
      source: "fallback",
      attempts: 1,
      decision: { action: { type: "continue" } },
      problems: ["the model call failed: 503 overloaded"],
    });
  });

  it("rejects with the signal's reason instead of falling back when aborted", async () => {
    const controller = new AbortController();
    const model: ModelClient = {
      provider: "fake",
      model: "fake",
      generate: (_request, options) =>
        new Promise((_resolve, reject) => {
          options?.signal?.addEventListener("abort", () => reject(options.signal?.reason));
        }),
    };
    const pending = new ModelReasoner({ model, logger: recordingLogger().logger }).decide(
      "stop",
      context,
      { signal: controller.signal },
    );
    controller.abort(new Error("session closed"));
    await expect(pending).rejects.toThrow("session closed");
  });

  it("falls back without asking the model when no action is allowed", async () => {
    const model = new ScriptedModel({ responses: [] });
    const outcome = await new ModelReasoner({ model, logger: recordingLogger().logger }).decide(
      "stop",
      { ...context, allowedActions: [] },
    );
    expect(outcome.source).toBe("fallback");
    expect(outcome.attempts).toBe(0);
    expect(model.calls).toHaveLength(0);
  });

  it("puts the run's situation and the message in the prompt", async () => {
    const model = new ScriptedModel({ responses: [good] });
    await new ModelReasoner({ model, logger: recordingLogger().logger }).decide(
      "go back to the outline",
      context,
    );
    const prompt = promptText(model.calls[0]);
    expect(prompt).toContain("Workflow: blog");
    expect(prompt).toContain("Current node: draft");
    expect(prompt).toContain("research → outline → draft");
    expect(prompt).toContain("- go_back:");
    expect(prompt).not.toContain("- approve:");
    expect(prompt).toContain("Nodes you can go back to: research, outline");
    expect(prompt).toContain("Waiting at an approval gate: no");
    expect(prompt).toContain('{"topic":"tide pools","words":120}');
    expect(prompt).toContain("<<<\ngo back to the outline\n>>>");
  });

  it("sends a schema narrowed to the allowed actions and go-back targets", async () => {
    const model = new ScriptedModel({ responses: [good] });
    await new ModelReasoner({ model, logger: recordingLogger().logger }).decide("x", {
      ...context,
      allowedActions: ["cancel", "go_back"],
    });
    const schema = model.calls[0]?.schema;
    expect(schema).toBeDefined();
    const json = z.toJSONSchema(schema as z.ZodType, { io: "input" }) as {
      properties: Record<string, { enum?: string[] }>;
    };
    expect(json.properties.action?.enum).toEqual(["cancel", "go_back"]);
    expect(json.properties.to?.enum).toEqual(["research", "outline"]);
    expect(Object.keys(json.properties).sort()).toEqual(
      ["action", "confidence", "reason", "reasoning", "steps", "to"].sort(),
    );
  });

  it("removes secret keys at any depth before showing the state", async () => {
    const model = new ScriptedModel({ responses: [good] });
    await new ModelReasoner({
      model,
      secretKeys: ["apiKey", "password"],
      logger: recordingLogger().logger,
    }).decide("go back to the outline", {
      ...context,
      state: {
        topic: "tide pools",
        api_key: "sk-top",
        user: { name: "Ada", password: "hunter2", nested: [{ APIKEY: "sk-deep", ok: 1 }] },
      },
    });
    const prompt = promptText(model.calls[0]);
    expect(prompt).toContain('{"topic":"tide pools","user":{"name":"Ada","nested":[{"ok":1}]}}');
    expect(prompt).not.toMatch(/sk-top|hunter2|sk-deep/);
  });

  it("removes the default secret keys when none are configured", async () => {
    const model = new ScriptedModel({ responses: [good] });
    await new ModelReasoner({ model, logger: recordingLogger().logger }).decide("x", {
      ...context,
      state: { token: "t-1", auth: { accessToken: "t-2", clientSecret: "t-3" }, ok: true },
    });
    const prompt = promptText(model.calls[0]);
    expect(prompt).toContain('{"auth":{},"ok":true}');
  });

  it("truncates the state to maxStateChars", async () => {
    const model = new ScriptedModel({ responses: [good] });
    const long = "x".repeat(500);
    await new ModelReasoner({ model, maxStateChars: 100, logger: recordingLogger().logger }).decide(
      "x",
      { ...context, state: { long } },
    );
    const prompt = promptText(model.calls[0]);
    const full = JSON.stringify({ long });
    expect(prompt).toContain(
      `${full.slice(0, 100)}… [truncated: ${full.length - 100} more characters]`,
    );
    expect(prompt).not.toContain(full.slice(0, 101));
  });

  it("copes with state that JSON cannot hold as is", async () => {
    const model = new ScriptedModel({ responses: [good] });
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    await new ModelReasoner({ model, logger: recordingLogger().logger }).decide("x", {
      ...context,
      state: { cyclic, big: 10n, when: new Date(0), tags: new Set(["a"]), fn: () => 1 },
    });
    expect(promptText(model.calls[0])).toContain(
      '{"cyclic":{"name":"loop","self":"[circular]"},"big":"10","when":"1970-01-01T00:00:00.000Z","tags":["a"]}',
    );
  });

  it("turns update_state values given as JSON text into an object", async () => {
    const model = new ScriptedModel({
      responses: [
        { reasoning: "r", action: "update_state", values: '{"words":300}', confidence: 0.8 },
      ],
    });
    const outcome = await new ModelReasoner({ model, logger: recordingLogger().logger }).decide(
      "make it 300 words",
      context,
    );
    expect(outcome.decision.action).toEqual({ type: "update_state", values: { words: 300 } });
  });

  it("refuses go_back with both a target and steps", async () => {
    const model = new ScriptedModel({ responses: [{ ...good, steps: 1 }, good] });
    const outcome = await new ModelReasoner({ model, logger: recordingLogger().logger }).decide(
      "back",
      context,
    );
    expect(outcome.problems[0]).toContain("the `go_back` action is invalid");
    expect(outcome.source).toBe("model");
  });

  it("validates its options and input", async () => {
    const model = new ScriptedModel({ responses: [] });
    expect(() => new ModelReasoner({ model, minConfidence: 2 })).toThrow(
      "Expected `minConfidence` to be a number from 0 to 1, got `2` (number).",
    );
    expect(() => new ModelReasoner({ model, fallback: { type: "go_back" } as never })).toThrow(
      InvalidOptionError,
    );
    expect(() => new ModelReasoner({ model: {} as ModelClient })).toThrow(InvalidOptionError);
    const reasoner = new ModelReasoner({ model });
    await expect(reasoner.decide("  ", context)).rejects.toThrow(InvalidOptionError);
    await expect(
      reasoner.decide("x", { ...context, allowedActions: ["fly"] } as unknown as ReasonerContext),
    ).rejects.toThrow(/context\.allowedActions\.0/);
  });
});

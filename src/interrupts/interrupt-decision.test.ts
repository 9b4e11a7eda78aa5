import { describe, expect, it } from "vitest";
import { z } from "zod";
import { toResponseJsonSchema } from "../models/gemini-model.js";
import {
  createModelDecisionSchema,
  fallbackDecision,
  InterruptDecisionSchema,
  toInterruptDecision,
} from "./interrupt-decision.js";

describe("InterruptDecisionSchema", () => {
  it("accepts a valid action with reasoning and confidence", () => {
    const decision = {
      action: { type: "cancel", reason: "wrong data" },
      reasoning: "r",
      confidence: 1,
    };
    expect(InterruptDecisionSchema.parse(decision)).toEqual(decision);
  });

  it("refuses a confidence outside 0..1 and unknown actions", () => {
    expect(
      InterruptDecisionSchema.safeParse({
        action: { type: "pause" },
        reasoning: "",
        confidence: 1.2,
      }).success,
    ).toBe(false);
    expect(
      InterruptDecisionSchema.safeParse({ action: { type: "fly" }, reasoning: "", confidence: 0.5 })
        .success,
    ).toBe(false);
  });
});

describe("createModelDecisionSchema", () => {
  it("lists only the allowed actions and the fields they use", () => {
    const schema = createModelDecisionSchema({
      allowedActions: ["pause", "request_changes"],
      goBackTargets: ["outline"],
    });
    const json = toResponseJsonSchema(schema) as {
      properties: Record<string, { enum?: string[] }>;
      required: string[];
    };
    expect(json.properties.action?.enum).toEqual(["pause", "request_changes"]);
    expect(Object.keys(json.properties)).toEqual(["reasoning", "action", "feedback", "confidence"]);
    expect(json.required).toEqual(["reasoning", "action", "confidence"]);
  });

  it("makes `to` an enum of the go-back targets", () => {
    const schema = createModelDecisionSchema({
      allowedActions: ["go_back"],
      goBackTargets: ["research", "outline"],
    });
    expect(
      schema.safeParse({ reasoning: "", action: "go_back", to: "intro", confidence: 1 }).success,
    ).toBe(false);
    expect(
      schema.safeParse({ reasoning: "", action: "go_back", to: "outline", confidence: 1 }).success,
    ).toBe(true);
  });

  it("produces a JSON schema with only keywords Gemini's structured output supports", () => {
    const schema = createModelDecisionSchema({
      allowedActions: [
        "continue",
        "pause",
        "resume",
        "cancel",
        "go_back",
        "rerun",
        "skip",
        "update_state",
      ],
      goBackTargets: ["a"],
    });
    const supported = new Set([
      "type",
      "properties",
      "required",
      "enum",
      "description",
      "minimum",
      "maximum",
      "items",
      "additionalProperties",
      "anyOf",
      "$defs",
      "$ref",
      "format",
      "title",
    ]);
    const used = new Set<string>();
    const walk = (node: unknown): void => {
      if (node === null || typeof node !== "object") return;
      for (const [key, value] of Object.entries(node)) {
        used.add(key);
        if (key === "properties") for (const child of Object.values(value as object)) walk(child);
        else walk(value);
      }
    };
    walk(toResponseJsonSchema(schema));
    expect([...used].filter((key) => !supported.has(key) && !/^\d+$/.test(key))).toEqual([]);
  });
});

describe("toInterruptDecision", () => {
  it("keeps only the fields the action uses and trims them", () => {
    const result = toInterruptDecision({
      reasoning: "r",
      action: "rerun",
      guidance: "  more formal ",
      feedback: "ignored",
      to: "ignored",
      confidence: 0.7,
    });
    expect(result).toEqual({
      success: true,
      decision: {
        action: { type: "rerun", guidance: "more formal" },
        reasoning: "r",
        confidence: 0.7,
      },
    });
  });

  it("treats blank strings as absent", () => {
    const result = toInterruptDecision({
      reasoning: "r",
      action: "go_back",
      to: "",
      steps: 2,
      confidence: 1,
    });
    expect(result).toMatchObject({
      success: true,
      decision: { action: { type: "go_back", steps: 2 } },
    });
  });

  it("reports an invalid action instead of throwing", () => {
    const result = toInterruptDecision({
      reasoning: "r",
      action: "request_changes",
      confidence: 1,
    });
    expect(result.success).toBe(false);
    expect(!result.success && result.problem).toMatch(
      /^the `request_changes` action is invalid: action\.feedback/,
    );
  });

  it("reports values that are not JSON", () => {
    const result = toInterruptDecision({
      reasoning: "r",
      action: "update_state",
      values: "{x",
      confidence: 1,
    });
    expect(result).toEqual({
      success: false,
      problem: expect.stringContaining("`values` must be a JSON object"),
    });
  });
});

describe("fallbackDecision", () => {
  it("has zero confidence and says why", () => {
    const decision = fallbackDecision({ type: "pause" }, "the model is down");
    expect(decision).toEqual({
      action: { type: "pause" },
      reasoning: "Fell back to `pause`: the model is down",
      confidence: 0,
    });
    expect(InterruptDecisionSchema.safeParse(decision).success).toBe(true);
    expect(z.number().parse(decision.confidence)).toBe(0);
  });
});

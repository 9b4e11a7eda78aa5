import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Clock } from "../clock.js";
import { InvalidOptionError, ModelOutputError, ScriptExhaustedError } from "../errors.js";
import { ScriptedModel } from "./scripted-model.js";

/** A clock whose sleeps only end when aborted or released by hand. */
function manualClock(): Clock & { release(): void } {
  const waiting: Array<() => void> = [];
  return {
    now: () => 0,
    sleep(_ms, signal) {
      return new Promise<void>((resolve, reject) => {
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
        waiting.push(resolve);
      });
    },
    release() {
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

describe("ScriptedModel", () => {
  it("answers in order and records every request", async () => {
    const model = new ScriptedModel({ responses: ["one", "two"] });
    expect((await model.generate({ prompt: "a" })).text).toBe("one");
    expect((await model.generate({ prompt: "b", system: "be brief" })).text).toBe("two");
    expect(model.calls.map((c) => c.prompt)).toEqual(["a", "b"]);
    expect(model.calls[1]?.system).toBe("be brief");
    expect(model.provider).toBe("scripted");
    expect(model.model).toBe("scripted");
  });

  it("estimates token usage from characters", async () => {
    const model = new ScriptedModel({ responses: ["12345678"], model: "fake-1" });
    const response = await model.generate({ prompt: "abcd", system: "ef" });
    // "ef\nabcd" is 7 characters → 2 tokens; the answer's 8 characters → 2 tokens.
    expect(response.usage).toEqual({ inputTokens: 2, outputTokens: 2 });
    expect(response.model).toBe("fake-1");
  });

  it("parses a string answer as JSON and validates it when the request has a schema", async () => {
    const schema = z.object({ title: z.string() });
    const model = new ScriptedModel({ responses: ['{"title":"Tide pools"}'] });
    const response = await model.generate({ prompt: "title?", schema });
    expect(response.data).toEqual({ title: "Tide pools" });
  });

  it("validates an object answer and serialises it as the text", async () => {
    const schema = z.object({ n: z.number() });
    const model = new ScriptedModel({ responses: [{ n: 3 }] });
    const response = await model.generate({ prompt: "n?", schema });
    expect(response.data).toEqual({ n: 3 });
    expect(response.text).toBe('{"n":3}');
  });

  it("leaves data undefined without a schema", async () => {
    const model = new ScriptedModel({ responses: [{ n: 3 }] });
    const response = await model.generate({ prompt: "n?" });
    expect(response.data).toBeUndefined();
    expect(response.text).toBe('{"n":3}');
  });

  it("throws ModelOutputError with the raw text for invalid JSON", async () => {
    const model = new ScriptedModel({ responses: ["not json {"] });
    const error = await model
      .generate({ prompt: "x", schema: z.object({}) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelOutputError);
    expect(error).toMatchObject({
      problem: "invalid_json",
      text: "not json {",
      code: "MODEL_OUTPUT_INVALID",
    });
  });

  it("throws ModelOutputError listing the issues when the answer does not match", async () => {
    const model = new ScriptedModel({ responses: [{ title: 42 }] });
    const error = await model
      .generate({ prompt: "x", schema: z.object({ title: z.string() }) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelOutputError);
    expect((error as ModelOutputError).problem).toBe("schema_mismatch");
    expect((error as ModelOutputError).issues[0]).toMatch(/^title:/);
  });

  it("throws a scripted Error", async () => {
    const model = new ScriptedModel({ responses: [new Error("quota exceeded")] });
    await expect(model.generate({ prompt: "x" })).rejects.toThrow("quota exceeded");
  });

  it("throws ScriptExhaustedError when it runs out of answers", async () => {
    const model = new ScriptedModel({ responses: ["only"], model: "m" });
    await model.generate({ prompt: "1" });
    const error = await model.generate({ prompt: "2" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScriptExhaustedError);
    expect(error).toMatchObject({ code: "SCRIPT_EXHAUSTED", scripted: 1 });
    expect((error as Error).message).toContain("called 2 times but has 1 scripted answer");
  });

  it("asks a function for each answer with the call index", async () => {
    const model = new ScriptedModel({
      responses: (request, i) =>
        `${i}:${typeof request.prompt === "string" ? request.prompt : "?"}`,
    });
    expect((await model.generate({ prompt: "a" })).text).toBe("0:a");
    expect((await model.generate({ prompt: "b" })).text).toBe("1:b");
  });

  it("rejects with the signal's reason when already aborted", async () => {
    const model = new ScriptedModel({ responses: ["x"] });
    const controller = new AbortController();
    controller.abort(new Error("stopped"));
    await expect(model.generate({ prompt: "x" }, { signal: controller.signal })).rejects.toThrow(
      "stopped",
    );
    expect(model.calls).toHaveLength(0);
  });

  it("aborts while waiting out its delay", async () => {
    const clock = manualClock();
    const model = new ScriptedModel({ responses: ["x"], delayMs: 1000, clock });
    const controller = new AbortController();
    const pending = model.generate({ prompt: "x" }, { signal: controller.signal });
    controller.abort(new Error("cancelled"));
    await expect(pending).rejects.toThrow("cancelled");
  });

  it("answers after its delay", async () => {
    const clock = manualClock();
    const model = new ScriptedModel({ responses: ["late"], delayMs: 1000, clock });
    const pending = model.generate({ prompt: "x" });
    await Promise.resolve();
    clock.release();
    expect((await pending).text).toBe("late");
  });

  it("validates its options and requests", async () => {
    expect(() => new ScriptedModel({ responses: "nope" as unknown as string[] })).toThrow(
      InvalidOptionError,
    );
    expect(() => new ScriptedModel({ responses: [], delayMs: -1 })).toThrow(
      "Expected `delayMs` to be a number from 0 and up, got `-1` (number).",
    );
    const model = new ScriptedModel({ responses: ["x"] });
    await expect(model.generate({ prompt: "  " })).rejects.toThrow(InvalidOptionError);
    await expect(model.generate({ prompt: [] })).rejects.toThrow(InvalidOptionError);
  });
});

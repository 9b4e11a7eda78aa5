import type { GoogleGenAI } from "@google/genai";
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { MissingApiKeyError, ModelCallError, ModelOutputError } from "../errors.js";
import {
  createModelFromEnv,
  type GeminiClientLike,
  GeminiModel,
  type GeminiRequest,
  type GeminiResponseLike,
  toResponseJsonSchema,
} from "./gemini-model.js";

/** A fake `GoogleGenAI` that records requests and answers from a list. */
function fakeClient(...answers: Array<GeminiResponseLike | Error>) {
  const requests: GeminiRequest[] = [];
  const client: GeminiClientLike = {
    models: {
      async generateContent(params) {
        requests.push(params);
        const answer = answers.shift();
        if (answer === undefined) throw new Error("no fake answer left");
        if (answer instanceof Error) throw answer;
        return answer;
      },
    },
  };
  return { client, requests };
}

describe("GeminiModel", () => {
  let savedKey: string | undefined;
  beforeEach(() => {
    savedKey = process.env.GEMINI_API_KEY;
    delete process.env.GEMINI_API_KEY;
  });
  afterEach(() => {
    if (savedKey === undefined) delete process.env.GEMINI_API_KEY;
    else process.env.GEMINI_API_KEY = savedKey;
  });

  it("sends the prompt, system instructions, temperature and signal", async () => {
    const { client, requests } = fakeClient({
      text: "Hello",
      usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 3, thoughtsTokenCount: 5 },
    });
    const model = new GeminiModel({ client });
    const controller = new AbortController();
    const response = await model.generate(
      { prompt: "Say hello", system: "Be brief", temperature: 0.2 },
      { signal: controller.signal },
    );
    expect(response).toEqual({
      text: "Hello",
      model: "gemini-2.5-flash",
      usage: { inputTokens: 12, outputTokens: 8 },
    });
    expect(requests[0]).toEqual({
      model: "gemini-2.5-flash",
      contents: "Say hello",
      config: { systemInstruction: "Be brief", temperature: 0.2, abortSignal: controller.signal },
    });
    expect(model.provider).toBe("gemini");
  });

  it("maps a conversation to user and model turns", async () => {
    const { client, requests } = fakeClient({ text: "ok" });
    await new GeminiModel({ client, model: "gemini-2.5-pro" }).generate({
      prompt: [
        { role: "user", content: "Q" },
        { role: "assistant", content: "A" },
        { role: "user", content: "Again" },
      ],
    });
    expect(requests[0]?.model).toBe("gemini-2.5-pro");
    expect(requests[0]?.contents).toEqual([
      { role: "user", parts: [{ text: "Q" }] },
      { role: "model", parts: [{ text: "A" }] },
      { role: "user", parts: [{ text: "Again" }] },
    ]);
  });

  it("asks for JSON with a schema from zod and validates the answer", async () => {
    const schema = z.object({ title: z.string(), tags: z.array(z.string()).optional() });
    const { client, requests } = fakeClient({
      text: '{"title":"Tide pools"}',
      modelVersion: "gemini-2.5-flash-001",
    });
    const response = await new GeminiModel({ client }).generate({ prompt: "title?", schema });
    expect(response.data).toEqual({ title: "Tide pools" });
    expect(response.model).toBe("gemini-2.5-flash-001");
    const config = requests[0]?.config;
    expect(config?.responseMimeType).toBe("application/json");
    expect(config?.responseJsonSchema).toEqual(toResponseJsonSchema(schema));
    expect(config?.responseJsonSchema).toMatchObject({
      type: "object",
      required: ["title"],
      properties: { title: { type: "string" } },
    });
    expect(config?.responseJsonSchema).not.toHaveProperty("$schema");
  });

  it("throws ModelOutputError with the raw text when the JSON is invalid", async () => {
    const { client } = fakeClient({ text: "{oops" });
    const error = await new GeminiModel({ client })
      .generate({ prompt: "x", schema: z.object({}) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelOutputError);
    expect(error).toMatchObject({ problem: "invalid_json", text: "{oops" });
  });

  it("throws ModelOutputError when the JSON does not match the schema", async () => {
    const { client } = fakeClient({ text: '{"title":1}' });
    const error = await new GeminiModel({ client })
      .generate({ prompt: "x", schema: z.object({ title: z.string() }) })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ModelOutputError", problem: "schema_mismatch" });
  });

  it("says why an empty answer is empty", async () => {
    const { client } = fakeClient({ promptFeedback: { blockReason: "SAFETY" } });
    await expect(new GeminiModel({ client }).generate({ prompt: "x" })).rejects.toThrow(
      /the prompt was blocked \(SAFETY\)/,
    );
  });

  it("wraps provider errors in ModelCallError with the cause", async () => {
    const cause = new Error("429 quota exceeded");
    const { client } = fakeClient(cause);
    const error = await new GeminiModel({ client })
      .generate({ prompt: "x" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelCallError);
    expect((error as ModelCallError).cause).toBe(cause);
    expect((error as Error).message).toContain("429 quota exceeded");
  });

  it("rejects with the signal's reason when aborted", async () => {
    const controller = new AbortController();
    const client: GeminiClientLike = {
      models: {
        generateContent: (params) =>
          new Promise((_resolve, reject) => {
            params.config?.abortSignal?.addEventListener("abort", () =>
              reject(new Error("fetch aborted")),
            );
          }),
      },
    };
    const pending = new GeminiModel({ client }).generate(
      { prompt: "x" },
      { signal: controller.signal },
    );
    controller.abort(new Error("run cancelled"));
    await expect(pending).rejects.toThrow("run cancelled");
  });

  it("needs an API key when no client is given", () => {
    const error = (() => {
      try {
        new GeminiModel();
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(MissingApiKeyError);
    expect((error as Error).message).toContain("GEMINI_API_KEY");
    expect(() => new GeminiModel({ apiKey: "" })).toThrow(MissingApiKeyError);
  });

  it("reads the API key from GEMINI_API_KEY without calling the network", () => {
    process.env.GEMINI_API_KEY = "test-key";
    expect(new GeminiModel().model).toBe("gemini-2.5-flash");
  });

  it("takes a GoogleGenAI client as it is, without naming its types", () => {
    expectTypeOf<GoogleGenAI>().toExtend<GeminiClientLike>();
  });

  it("validates its options", () => {
    const { client } = fakeClient();
    expect(() => new GeminiModel({ client, model: "" })).toThrow(
      'Expected `model` to be a non-empty model name, got `""` (string).',
    );
    expect(() => new GeminiModel({ client: {} as GeminiClientLike })).toThrow(
      /models\.generateContent/,
    );
  });
});

describe("createModelFromEnv", () => {
  it("returns undefined without GEMINI_API_KEY", () => {
    expect(createModelFromEnv({ env: {} })).toBeUndefined();
    expect(createModelFromEnv({ env: { GEMINI_API_KEY: " " } })).toBeUndefined();
  });

  it("returns a GeminiModel when GEMINI_API_KEY is set, honouring GEMINI_MODEL", () => {
    const model = createModelFromEnv({
      env: { GEMINI_API_KEY: "k", GEMINI_MODEL: "gemini-2.5-pro" },
    });
    expect(model).toBeInstanceOf(GeminiModel);
    expect(model?.model).toBe("gemini-2.5-pro");
    expect(createModelFromEnv({ env: { GEMINI_API_KEY: "k" } })?.model).toBe("gemini-2.5-flash");
  });
});

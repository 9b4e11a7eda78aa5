import { describe, expect, it, vi } from "vitest";

const constructed: unknown[] = [];

vi.mock("@google/genai", () => ({
  GoogleGenAI: class {
    readonly models = {
      generateContent: async () => ({ text: "from the mocked SDK" }),
    };
    constructor(options: unknown) {
      constructed.push(options);
    }
  },
}));

const { GeminiModel } = await import("./gemini-model.js");

describe("GeminiModel with @google/genai", () => {
  it("creates one GoogleGenAI client on first use with the API key", async () => {
    const model = new GeminiModel({ apiKey: "secret-key" });
    expect(constructed).toHaveLength(0);
    expect((await model.generate({ prompt: "a" })).text).toBe("from the mocked SDK");
    await model.generate({ prompt: "b" });
    expect(constructed).toEqual([{ apiKey: "secret-key" }]);
  });
});

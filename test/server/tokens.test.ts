import { describe, expect, it } from "vitest";
import {
  createServer,
  parseTokens,
  TokenRegistry,
  tokensFromEnv,
} from "../../src/entries/server.js";
import { InterruptService, InvalidOptionError, MemoryStore } from "../../src/index.js";
import { TOKENS } from "./harness.js";

describe("API tokens", () => {
  it("finds the caller of a known token and nobody for anything else", () => {
    const registry = new TokenRegistry(TOKENS);
    expect(registry.find(TOKENS[1].token)).toEqual({ name: "rita", role: "reviewer" });
    expect(registry.find(TOKENS[3].token)).toEqual({ name: "ada", role: "admin" });
    for (const wrong of [
      "",
      `${TOKENS[0].token} `,
      TOKENS[0].token.slice(0, -1),
      "x".repeat(100_000),
    ]) {
      expect(registry.find(wrong)).toBeUndefined();
    }
  });

  it("refuses short tokens, unknown roles, unknown keys, repeats, and never shows a token in the message", () => {
    const cases: unknown[] = [
      [],
      [{ token: "short", name: "a", role: "admin" }],
      [{ token: "long-enough-token-1234", name: "a", role: "root" }],
      [{ token: "long-enough-token-1234", name: "a", role: "admin", extra: 1 }],
      [
        { token: "long-enough-token-1234", name: "a", role: "admin" },
        { token: "long-enough-token-1234", name: "b", role: "viewer" },
      ],
      [
        { token: "long-enough-token-1234", name: "a", role: "admin" },
        { token: "long-enough-token-5678", name: "a", role: "viewer" },
      ],
      JSON.parse('[{"token":"long-enough-token-1234","name":"a","role":"admin","__proto__":{}}]'),
      { token: "long-enough-token-1234" },
    ];
    for (const value of cases) {
      let thrown: unknown;
      try {
        parseTokens(value);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(value)).toBeInstanceOf(InvalidOptionError);
      expect((thrown as Error).message).not.toContain("long-enough-token");
      expect((thrown as Error).message).not.toContain("short");
    }
    expect(() => tokensFromEnv("not json")).toThrow(InvalidOptionError);
  });

  it("createServer refuses missing auth, tokens with dev, and an InterruptService over another store", async () => {
    const store = new MemoryStore();
    const interrupts = new InterruptService({ store });
    const base = { store, interrupts, agents: {} };
    await expect(createServer({ ...base } as never)).rejects.toThrow(InvalidOptionError);
    await expect(createServer({ ...base, auth: { tokens: [] } })).rejects.toThrow(
      InvalidOptionError,
    );
    await expect(
      createServer({ ...base, auth: { dev: true, tokens: TOKENS } } as never),
    ).rejects.toThrow(InvalidOptionError);
    await expect(
      createServer({
        ...base,
        interrupts: new InterruptService({ store: new MemoryStore() }),
        auth: { tokens: TOKENS },
      }),
    ).rejects.toThrow(/InterruptService over the server's `store`/);
    await expect(
      createServer({ ...base, auth: { tokens: TOKENS }, limits: { maxBodyBytes: 0 } }),
    ).rejects.toThrow(InvalidOptionError);
    await expect(
      createServer({ ...base, auth: { tokens: TOKENS }, limits: { nope: 1 } as never }),
    ).rejects.toThrow(/limits.nope/);
    await expect(
      createServer({
        ...base,
        auth: { tokens: TOKENS },
        webhooks: [{ url: "ftp://x", secret: "s".repeat(16) }],
      }),
    ).rejects.toThrow(InvalidOptionError);
    await expect(
      createServer({
        ...base,
        auth: { tokens: TOKENS },
        webhooks: [{ url: "http://127.0.0.1/x", secret: "short" }],
      }),
    ).rejects.toThrow(InvalidOptionError);
  });

  it("mounts routes of one's own beside the API, public unless guarded, the API still authenticated", async () => {
    const store = new MemoryStore();
    const server = await createServer({
      store,
      interrupts: new InterruptService({ store }),
      agents: {},
      auth: { tokens: TOKENS },
      routes: (app) => {
        app.get("/", (c) => c.html("<h1>Review</h1>"));
      },
    });
    const listening = await server.listen({ port: 0 });
    try {
      const page = await fetch(`${listening.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("Review");
      expect((await fetch(`${listening.url}/api/sessions`)).status).toBe(401);
    } finally {
      await server.close();
    }
  });

  it("never logs a presented token", async () => {
    const store = new MemoryStore();
    const lines: string[] = [];
    const record = (m: string, a?: Record<string, unknown>) =>
      lines.push(`${m} ${JSON.stringify(a ?? {})}`);
    const logger = { debug: record, info: record, warn: record, error: record };
    const server = await createServer({
      store,
      interrupts: new InterruptService({ store }),
      agents: {},
      auth: { tokens: TOKENS },
      logger,
    });
    const listening = await server.listen({ port: 0 });
    try {
      for (const token of ["wrong-token-abcdefghijkl", TOKENS[0].token]) {
        await fetch(`${listening.url}/api/runs`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
          body: "{",
        });
        await fetch(`${listening.url}/api/sessions/x/events?token=${token}`);
      }
    } finally {
      await server.close();
    }
    expect(lines.join("\n")).not.toMatch(/wrong-token|viewer-token/);
  });
});

describe("loopback", () => {
  it("tells loopback hosts and addresses from others", async () => {
    const { isLoopbackAddress, isLoopbackHost } = await import("../../src/server/auth.js");
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of [
      "0.0.0.0",
      "::",
      "192.168.1.2",
      "10.0.0.1",
      "example.org",
      "127.0.0.1.nip.io",
      "localhost.evil",
    ]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
    expect(isLoopbackAddress("::ffff:127.0.0.1")).toBe(true);
    expect(isLoopbackAddress("::ffff:10.0.0.1")).toBe(false);
    expect(isLoopbackAddress(undefined)).toBe(false);
  });

  it("refuses to listen beyond loopback in dev mode", async () => {
    const store = new MemoryStore();
    const server = await createServer({
      store,
      interrupts: new InterruptService({ store }),
      agents: {},
      auth: { dev: true },
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    await expect(server.listen({ port: 0, host: "0.0.0.0" })).rejects.toThrow(
      /InsecureListen|loopback/,
    );
    await expect(server.listen({ port: 0, host: "::" })).rejects.toThrow(/loopback/);
    await server.close();
  });
});

import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { serve, serveCommand } from "../../src/cli/serve.js";
import { spawnFixture } from "./child.js";
import { ADMIN, REVIEWER, TOKENS, tempDir, until, VIEWER } from "./harness.js";

const dir = tempDir("server-serve");
const AGENTS = new URL("./fixtures/review-agents.ts", import.meta.url).pathname;

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe("trellis serve", () => {
  it("has the Command shape", () => {
    expect(serveCommand.name).toBe("serve");
    expect(serveCommand.help).toContain("--webhook");
  });

  it("serves a review over HTTP from its own process and shuts down cleanly on SIGTERM", async () => {
    const tokens = `${dir}/tokens.json`;
    writeFileSync(tokens, JSON.stringify(TOKENS));
    const child = spawnFixture("serve-child.ts", [
      "--store",
      `sqlite:${dir}/serve.db`,
      "--agents",
      AGENTS,
      "--port",
      "0",
      "--tokens",
      tokens,
    ]);
    const line = await child.line();
    const url = /on (http:\/\/\S+)/.exec(line)?.[1];
    expect(line).toContain("agents: review, pausable");
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const r = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      // biome-ignore lint/suspicious/noExplicitAny: answers of many shapes.
      return { status: r.status, body: (await r.json()) as any };
    };
    expect((await call("GET", "/api/sessions", VIEWER)).status).toBe(200);
    expect((await call("POST", "/api/runs", VIEWER, { agent: "review" })).status).toBe(403);
    const started = await call("POST", "/api/runs", ADMIN, { agent: "review", sessionId: "cli-1" });
    expect(started.status).toBe(202);
    await until(
      async () => ((await call("GET", "/api/sessions/cli-1", VIEWER)).body.gate ? true : undefined),
      "the gate",
    );
    const approved = await call("POST", "/api/sessions/cli-1/interrupts?wait=10000", REVIEWER, {
      type: "approve",
    });
    expect(approved.body.decision.status).toBe("applied");
    await until(
      async () =>
        (await call("GET", "/api/sessions/cli-1", VIEWER)).body.status === "completed"
          ? true
          : undefined,
      "completion",
    );
    child.process.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    expect(child.stderr()).toContain("Shutting down");
    expect(child.stderr()).not.toContain(ADMIN);
  });

  it("refuses to start without tokens or --dev, and refuses --dev beyond loopback", async () => {
    const never = new AbortController().signal;
    const a = io();
    expect(await serve(["--store", "memory"], a.io, never, {})).toBe(2);
    expect(a.err.join("\n")).toContain("--dev");
    const b = io();
    expect(
      await serve(
        ["--store", "memory", "--dev", "--host", "0.0.0.0", "--port", "0"],
        b.io,
        never,
        {},
      ),
    ).toBe(1);
    expect(b.err.join("\n")).toContain("InsecureListenError");
    const c = io();
    expect(
      await serve(
        ["--store", "memory", "--port", "0", "--webhook", "http://127.0.0.1:9/x"],
        c.io,
        never,
        { TRELLIS_TOKENS: JSON.stringify(TOKENS) },
      ),
    ).toBe(2);
    expect(c.err.join("\n")).toContain("TRELLIS_WEBHOOK_SECRET");
    const d = io();
    expect(await serve(["--store", "memory", "--port", "x"], d.io, never, {})).toBe(2);
    const e = io();
    expect(
      await serve(["--store", "memory", "--port", "0"], e.io, never, {
        TRELLIS_TOKENS: '[{"token":"short","name":"a","role":"admin"}]',
      }),
    ).toBe(2);
    expect(e.err.join("\n")).not.toContain("short");
  });

  it("serves --dev on loopback with a loud warning, and stops when told", async () => {
    const controller = new AbortController();
    const a = io();
    let url = "";
    const done = serve(
      ["--store", "memory", "--dev", "--port", "0"],
      a.io,
      controller.signal,
      {},
      (u) => {
        url = u;
      },
    );
    await until(() => (url === "" ? undefined : url), "listening");
    expect(a.err.join("\n")).toContain("DEV MODE");
    const r = await fetch(`${url}/api/sessions`);
    expect(r.status).toBe(200);
    controller.abort();
    expect(await done).toBe(0);
  });
});

/**
 * Every command's help and usage errors, the read-only commands (sessions, history, audit,
 * viz), modules of both forms, `--json`, `--otlp` and error output. Most run `main()` in this
 * process (cheap); what depends on being a process (exit codes, stderr, no stack) runs a child.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { EXIT } from "../../src/cli/command.js";
import { COMMANDS } from "../../src/cli/commands.js";
import { main } from "../../src/cli/main.js";
import { captureIO, GATED, jsonLines, tempDir, trellis, trellisDone, until } from "./helpers.js";

// A few tests start a real process; on a loaded machine one can take seconds to start.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const dir = tempDir("commands");
const store = `sqlite:${join(dir.path, "inbox.db")}`;
afterAll(() => dir.remove());

async function cli(args: string[]) {
  const io = captureIO();
  const code = await main(args, io);
  return { code, out: io.outLines.join("\n"), err: io.errLines.join("\n") };
}

describe("trellis --help and usage errors", () => {
  it("lists every command with its summary, and prints each command's help", async () => {
    const { code, out } = await cli(["--help"]);
    expect(code).toBe(0);
    for (const command of COMMANDS) {
      expect(out).toContain(`  ${command.name}`);
      expect(out).toContain(command.summary);
      const help = await cli([command.name, "--help"]);
      expect(help.code).toBe(0);
      expect(help.out).toBe(command.help);
      const shared = command.name === "mermaid" ? "viz" : command.name;
      expect(help.out.startsWith(`Usage: trellis ${shared} `)).toBe(true);
      expect((await cli(["help", command.name])).out).toBe(command.help);
    }
    expect(COMMANDS.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        "run",
        "resume",
        "send",
        "sessions",
        "history",
        "audit",
        "viz",
        "mermaid",
      ]),
    );
  });

  it("prints the package version", async () => {
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(await cli(["--version"])).toMatchObject({ code: 0, out: version });
  });

  it.each([
    [[], "Usage: trellis <command>"],
    [["explode"], "UsageError [CLI_USAGE]: Unknown command `explode`"],
    [["rnu", "x.ts"], "Did you mean `run`?"],
    [["run"], "`trellis run` needs <module>"],
    [["run", GATED, "--bogus"], "Unknown option `--bogus`"],
    [["run", GATED, "extra"], 'Unexpected argument "extra"'],
    [["run", GATED, "--input", "{nope", "--store", "memory"], "`--input` is not valid JSON"],
    [
      ["run", GATED, "--agent", "nobody", "--store", "memory"],
      "No agent `nobody` in the module; it has `gated`",
    ],
    [["resume", "s1"], "needs --agents <module>"],
    [["send", "s1"], "`trellis send` needs <message>"],
    [["send", "s1", '{"type":', "--store", "memory"], "`--message` is not valid JSON"],
    [
      ["send", "s1", "approve", "--wait", "soon"],
      "Expected `--wait` to be an integer from 0 and up",
    ],
    [["sessions", "--limit", "0"], "Expected `--limit` to be an integer from 1 to 500"],
    [["sessions", "--status", "sleeping"], "Expected `--status` to be one of running, paused"],
    [["history"], "`trellis history` needs <session>"],
    [["audit", "s1", "--offset=-1"], "Expected `--offset` to be an integer from 0 and up"],
    [["viz", GATED, "--format", "png"], "Expected `--format` to be mermaid or dot"],
    [["run", GATED, "--store", "redis:x"], "Expected `--store` to be"],
  ])("exits 2 for %j", async (args, message) => {
    const { code, err } = await cli(args as string[]);
    if (args[args.length - 1] === "redis:x") {
      // A bad --store is an invalid option (exit 1), named like the others.
      expect(code).toBe(EXIT.failed);
    } else {
      expect(code).toBe(EXIT.usage);
    }
    expect(err).toContain(message);
  });

  it("as a process: exits 2 on an unknown command, with usage on stderr and nothing on stdout", async () => {
    const result = await trellisDone(["explode"]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("Unknown command `explode`");
    expect(result.stderr).toContain("Commands:");
  });
});

describe("agents modules", () => {
  it("names a module that throws on import and exits 1, without a stack unless --verbose", async () => {
    const module = "test/cli/fixtures/throws-on-import.ts";
    const result = await trellisDone(["run", module, "--store", "memory"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^AgentModuleError \[AGENT_MODULE_INVALID\]: `test\/cli\/fixtures\/throws-on-import.ts` could not be imported \(RangeError: the agents module could not start\)/,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const verbose = await cli(["run", module, "--store", "memory", "--verbose"]);
    expect(verbose.code).toBe(1);
    expect(verbose.err).toMatch(/\n\s+at /);
    expect(verbose.err).toContain("Caused by: RangeError: the agents module could not start");
  });

  it("still runs a module that exports a ready `agent`, over the agent's own store", async () => {
    const { code, out, err } = await cli([
      "run",
      "test/cli/fixtures/ready-agent.ts",
      "--session",
      "ready",
    ]);
    expect(code).toBe(0);
    expect(out.split("\n")[0]).toBe("session ready");
    expect(out).toContain("■ completed  3 steps: inc → inc → inc");
    expect(err).toContain("✓ inc");
  });

  it("refuses a module that exports no agents", async () => {
    const { code, err } = await cli(["viz", "test/cli/helpers.ts"]);
    expect(code).toBe(1);
    expect(err).toContain("exports neither an agents function nor a GraphAgent");
  });
});

describe("trellis run | head -1", () => {
  it("goes on to the end of the run when its reader closes the pipe after the session id", async () => {
    const pipeStore = `sqlite:${join(dir.path, "pipe.db")}`;
    const run = trellis(["run", GATED, "--store", pipeStore, "--session", "piped"]);
    await until(() => run.stdout().startsWith("session piped\n"), "the session id");
    run.child.stdout!.destroy();
    const done = await run.done;
    expect(done.stderr).not.toContain("EPIPE");
    expect(done.code).toBe(3);
    const inbox = JSON.parse((await cli(["sessions", "--store", pipeStore, "--json"])).out) as {
      items: { sessionId: string; status: string }[];
    };
    expect(inbox.items).toMatchObject([{ sessionId: "piped", status: "paused" }]);
  });
});

describe("trellis viz", () => {
  it("prints Mermaid and DOT with the approval gate marked, and mermaid is an alias", async () => {
    const mermaid = await cli(["viz", GATED]);
    expect(mermaid.code).toBe(0);
    expect(mermaid.out).toContain('draft{{"draft<br/><small>approval gate</small>"}}');
    expect(mermaid.out).toContain("prepare --> slow");
    expect((await cli(["mermaid", GATED])).out).toBe(mermaid.out);
    const dot = await cli(["viz", GATED, "--format", "dot"]);
    expect(dot.out).toMatch(/^digraph "gated" \{/);
    expect(dot.out).toContain('"draft" [label="draft\\napproval gate", shape=hexagon');
    expect(dot.out).toContain('"slow" -> "draft";');
    const json = JSON.parse((await cli(["viz", GATED, "--json", "--format", "dot"])).out) as Record<
      string,
      unknown
    >;
    expect(json).toMatchObject({ agent: "gated", graph: "gated", format: "dot", gates: ["draft"] });
    expect(json.chart).toBe(`${dot.out}\n`);
  });
});

describe("trellis sessions, history and audit", () => {
  beforeAll(async () => {
    // Oldest first: done-1 is approved and completes, gated-1 waits at the gate, done-2
    // completes, gated-2 waits.
    for (const session of ["done-1", "gated-1", "done-2", "gated-2"]) {
      expect((await cli(["run", GATED, "--store", store, "--session", session])).code).toBe(3);
      if (session.startsWith("done")) {
        const approved = await cli([
          "send",
          session,
          "approve",
          "--agents",
          GATED,
          "--store",
          store,
        ]);
        expect(approved.code).toBe(0);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  });

  it("lists the sessions waiting for approval first, newest first, with paging", async () => {
    const all = await cli(["sessions", "--store", store, "--json"]);
    const page = JSON.parse(all.out) as { items: { sessionId: string }[]; total: number };
    expect(page.items.map((s) => s.sessionId)).toEqual(["gated-2", "gated-1", "done-2", "done-1"]);
    expect(page.total).toBe(4);
    const second = JSON.parse(
      (await cli(["sessions", "--store", store, "--json", "--limit", "2", "--offset", "1"])).out,
    ) as typeof page;
    expect(second.items.map((s) => s.sessionId)).toEqual(["gated-1", "done-2"]);
    const third = JSON.parse(
      (await cli(["sessions", "--store", store, "--json", "--limit", "2", "--offset", "3"])).out,
    ) as typeof page;
    expect(third.items.map((s) => s.sessionId)).toEqual(["done-1"]);
    const waiting = JSON.parse(
      (await cli(["sessions", "--store", store, "--json", "--waiting"])).out,
    ) as typeof page;
    expect(waiting).toMatchObject({ total: 2 });
    const completed = JSON.parse(
      (await cli(["sessions", "--store", store, "--json", "--status", "completed"])).out,
    ) as typeof page;
    expect(completed.items.map((s) => s.sessionId)).toEqual(["done-2", "done-1"]);
    const text = await cli(["sessions", "--store", store]);
    expect(text.out.split("\n")[0]).toMatch(/^SESSION\s+STATUS\s+GRAPH\s+APPROVAL\s+UPDATED$/);
    expect(text.out.split("\n")[1]).toMatch(/^gated-2\s+waiting\s+gated\s+draft \(revision 0\)/);
    expect(text.out).toContain("1–4 of 4");
  });

  it("prints a session's checkpoints, with states through --agents", async () => {
    const text = await cli(["history", "gated-1", "--store", store]);
    expect(text.code).toBe(0);
    expect(text.out.split("\n")[0]).toMatch(
      /paused\s+→ publish {2}waits for approval at draft \(revision 0\)$/,
    );
    const withStates = jsonLines(
      (await cli(["history", "gated-1", "--store", store, "--agents", GATED, "--json"])).out,
    );
    expect(withStates[0]).toMatchObject({
      status: "paused",
      state: { draft: "About tides" },
      path: ["prepare", "slow", "draft"],
    });
    const noResume = await cli(["resume", "nobody", "--agents", GATED, "--store", store]);
    expect(noResume.code).toBe(1);
    expect(noResume.err).toContain("CheckpointNotFoundError [CHECKPOINT_NOT_FOUND]");
    const missing = await cli(["history", "nobody", "--store", store]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(
      /^CheckpointNotFoundError \[CHECKPOINT_NOT_FOUND\]: Session `nobody` has no checkpoint/,
    );
  });

  it("prints the audit trail, paged", async () => {
    const json = jsonLines((await cli(["audit", "done-1", "--store", store, "--json"])).out);
    expect(json.map((e) => e.kind)).toEqual(
      expect.arrayContaining([
        "interrupt.received",
        "run.started",
        "approval.decided",
        "run.finished",
      ]),
    );
    expect(json.map((e) => e.seq)).toEqual(json.map((_, i) => i + 1));
    const page = await cli(["audit", "done-1", "--store", store, "--limit", "2"]);
    expect(page.out).toContain(`1–2 of ${json.length}: --offset 2 for more`);
    expect((await cli(["audit", "nobody", "--store", store])).out).toContain(
      "has no audit entries",
    );
  });

  it("tells a sender that a paused session stays paused for a message that does not wake it", async () => {
    const { code, out } = await cli(["send", "gated-1", "skip", "--store", store]);
    expect(code).toBe(0);
    expect(out).toContain("suspended at the approval gate `draft`");
    const text = await cli([
      "send",
      "gated-2",
      "tell me more",
      "--text",
      "--store",
      store,
      "--json",
    ]);
    const lines = jsonLines(text.out);
    expect(lines[0]).toMatchObject({ type: "receipt", sessionId: "gated-2" });
    expect(lines[1]).toMatchObject({ type: "next", gate: "draft" });
  });
});

function body(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    request.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
    });
    request.on("end", () => resolve(text));
  });
}

describe("trellis --otlp", () => {
  it("exports the run's spans over OTLP/HTTP and flushes them before it returns", async () => {
    const received: { path: string | undefined; body: string }[] = [];
    const server = createServer(async (request, response) => {
      received.push({ path: request.url, body: await body(request) });
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const { code } = await cli([
        "run",
        "samples/quickstart/agents.ts",
        "--store",
        "memory",
        "--otlp",
        `http://127.0.0.1:${port}`,
      ]);
      expect(code).toBe(0);
    } finally {
      server.close();
    }
    expect(received[0]?.path).toBe("/v1/traces");
    const names = received.flatMap((r) =>
      (
        JSON.parse(r.body) as { resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[] }
      ).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))),
    );
    expect(names).toContain("invoke_workflow quickstart");
    expect(names).toContain("invoke_agent writer");
  });

  it("gives up on the last spans after a bounded wait when the collector never answers", async () => {
    const server = createServer(() => {
      // Never answers.
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const started = Date.now();
    try {
      const result = await cli([
        "run",
        "samples/quickstart/agents.ts",
        "--store",
        "memory",
        "--otlp",
        `http://127.0.0.1:${port}`,
      ]);
      expect(result.code).toBe(0);
      expect(result.err).toContain("Telemetry shut down without exporting");
      expect(result.err).toContain("flushTimeoutMs");
    } finally {
      server.closeAllConnections();
      server.close();
    }
    expect(Date.now() - started).toBeLessThan(9_000);
  });
});

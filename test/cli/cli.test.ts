import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";

function body(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    request.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
    });
    request.on("end", () => resolve(text));
  });
}

describe("trellis CLI", () => {
  it("runs a sample end to end and prints the path and final state", async () => {
    const lines: string[] = [];
    const code = await main(["run", "samples/quickstart/agent.ts", "--session", "cli-1"], (l) =>
      lines.push(l),
    );
    expect(code).toBe(0);
    const text = lines.join("\n");
    expect(text).toContain("▶ content-pipeline  session cli-1");
    expect(text).toMatch(
      /■ completed {2}6 steps: outline → draft → critique → draft → critique → final/,
    );
    expect(text).toContain('"final": "Draft 2');
  });

  it("exports the run's spans over OTLP/HTTP with --otlp <url>", async () => {
    const received: { path: string | undefined; body: string }[] = [];
    const server = createServer(async (request, response) => {
      received.push({ path: request.url, body: await body(request) });
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const code = await main(
        ["run", "samples/quickstart/agent.ts", "--otlp", `http://127.0.0.1:${port}`],
        () => {},
      );
      expect(code).toBe(0);
    } finally {
      server.close();
    }
    expect(received.length).toBeGreaterThan(0);
    expect(received[0]?.path).toBe("/v1/traces");
    const names = received.flatMap((r) =>
      (
        JSON.parse(r.body) as { resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[] }
      ).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))),
    );
    expect(names).toContain("invoke_workflow quickstart");
    expect(names).toContain("invoke_agent writer");
    expect(names.filter((n) => n.startsWith("chat ")).length).toBe(5);
  });

  it("prints the package version with --version", async () => {
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    const lines: string[] = [];
    expect(await main(["--version"], (l) => lines.push(l))).toBe(0);
    expect(lines).toEqual([version]);
  });

  it("prints a Mermaid chart and refuses an unknown command", async () => {
    const lines: string[] = [];
    expect(await main(["mermaid", "samples/quickstart/agent.ts"], (l) => lines.push(l))).toBe(0);
    expect(lines.join("\n")).toContain('critique -. "good enough" .-> final');
    expect(await main(["explode", "x.ts"], () => {})).toBe(2);
  });
});

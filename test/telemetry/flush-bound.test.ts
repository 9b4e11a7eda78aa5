import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { diag, trace } from "@opentelemetry/api";
import { afterEach, describe, expect, it, vi } from "vitest";
import { InvalidOptionError } from "../../src/errors.js";
import type { Logger } from "../../src/logger.js";
import { setupTelemetry, type TelemetryHandle } from "../../src/telemetry/setup-telemetry.js";
import { TrellisTracer } from "../../src/telemetry/tracing.js";

const SCRIPT = fileURLToPath(new URL("./fixtures/exit-without-collector.ts", import.meta.url));

/** A URL where nothing listens: a port that was just free. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  return `http://127.0.0.1:${port}`;
}

/** A collector that takes the request and never answers. */
async function silentCollector(): Promise<{ url: string; server: Server }> {
  const server = createServer(() => {});
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function recordingLogger() {
  return { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() } satisfies Logger;
}

let handle: TelemetryHandle | undefined;
const servers: Server[] = [];
afterEach(async () => {
  await handle?.shutdown();
  handle = undefined;
  trace.disable();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

describe("flushTimeoutMs", () => {
  it("lets a process with no collector exit within the default 2 s, with one warning line", async () => {
    const url = await deadUrl();
    const child = spawn(process.execPath, ["--import", "tsx", SCRIPT, url], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    const [code] = (await once(child, "exit")) as [number | null];
    const exitedAt = Date.now();
    expect(code).toBe(0);
    const report = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
      startedAt: number;
      shutdownMs: number;
      warnings: string[];
    };
    expect(report.shutdownMs).toBeLessThan(2500);
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toContain(`${url}/v1/traces`);
    expect(report.warnings[0]).toContain("3 span(s)");
    // From the shutdown to the process's end: without the bound, the exporter's retries held
    // it about 8 s.
    expect(exitedAt - report.startedAt).toBeLessThan(5000);
  }, 30_000);

  it("returns from shutdown() at the bound when the collector never answers, and says so once", async () => {
    const { url, server } = await silentCollector();
    servers.push(server);
    const logger = recordingLogger();
    handle = await setupTelemetry({
      exporter: "otlp",
      endpoint: url,
      logger,
      flushTimeoutMs: 300,
      diagnostics: false,
    });
    new TrellisTracer().startSpan("lost").end();
    const started = Date.now();
    await handle.shutdown();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(String(logger.warn.mock.calls[0]?.[0])).toMatch(/no answer within 300 ms/);
    await handle.shutdown(); // idempotent: no second warning
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it("bounds flush() too", async () => {
    const { url, server } = await silentCollector();
    servers.push(server);
    const logger = recordingLogger();
    handle = await setupTelemetry({
      exporter: "otlp",
      endpoint: url,
      logger,
      flushTimeoutMs: 200,
      timeoutMs: 60_000,
      diagnostics: false,
    });
    new TrellisTracer().startSpan("slow").end();
    const started = Date.now();
    await handle.flush();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(String(logger.warn.mock.calls[0]?.[0])).toMatch(/longer than 200 ms/);
  });

  it("forwards each distinct OpenTelemetry diagnostic once", async () => {
    const logger = recordingLogger();
    handle = await setupTelemetry({ exporter: "memory", logger });
    for (let i = 0; i < 3; i++) diag.error("Export failed", { code: 14 });
    diag.error("Something else");
    expect(logger.error).toHaveBeenCalledTimes(2);
    expect(String(logger.error.mock.calls[0]?.[0])).toBe("OpenTelemetry: Export failed");
  });

  it.each([0, -1, 1.5, 600_001, "2000"])("refuses flushTimeoutMs %j", async (value) => {
    await expect(
      setupTelemetry({ exporter: "memory", flushTimeoutMs: value as number }),
    ).rejects.toThrow(InvalidOptionError);
  });
});

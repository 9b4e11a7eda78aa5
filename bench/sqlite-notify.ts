/**
 * How long an interrupt queued in one process takes to reach a subscriber of the same SQLite
 * file in another process (the notifier polls `PRAGMA data_version` every `pollIntervalMs`).
 * The script starts a copy of itself that queues `count` messages `intervalMs` apart; each id
 * carries its send time.
 *
 *   npx tsx bench/sqlite-notify.ts [count] [intervalMs] [pollIntervalMs]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "../src/logger.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";

const wallTime = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function send(path: string, count: number, intervalMs: number): Promise<void> {
  const store = await SqliteStore.open({ path, logger: silentLogger });
  for (let i = 0; i < count; i++) {
    const now = Date.now();
    const result = await store.interrupts.enqueue(
      {
        id: `lat-${i}-${wallTime()}`,
        sessionId: "latency",
        priority: 2,
        queuedAt: now,
        expiresAt: now + 60_000,
        kind: "text",
        text: "ping",
      },
      { maxQueueSize: 1_000_000, maxSessions: 10 },
      { sessionId: "latency", at: now, kind: "interrupt.received" },
    );
    if (!result.ok) throw new Error(result.reason);
    await sleep(intervalMs);
  }
  await store.close();
}

async function measure(count: number, intervalMs: number, pollIntervalMs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "trellis-bench-notify-"));
  const path = join(dir, "trellis.db");
  try {
    const store = await SqliteStore.open({ path, logger: silentLogger, pollIntervalMs });
    const latencies: number[] = [];
    store.notifier.subscribe("latency", (event) => {
      if (event.kind === "queued") latencies.push(wallTime() - Number(event.id.split("-")[2]));
    });
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        fileURLToPath(import.meta.url),
        "send",
        path,
        String(count),
        String(intervalMs),
      ],
      { stdio: "inherit" },
    );
    await new Promise((resolve) => child.on("exit", resolve));
    const deadline = Date.now() + 2_000;
    while (latencies.length < count && Date.now() < deadline) await sleep(10);
    await store.close();
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
    console.log(
      `${sorted.length}/${count} events, poll every ${pollIntervalMs} ms: p50 ${at(0.5).toFixed(1)} ms, p90 ${at(0.9).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "send") {
  await send(rest[0]!, Number(rest[1]), Number(rest[2]));
} else {
  await measure(Number(mode ?? 1000), Number(rest[0] ?? 5), Number(rest[1] ?? 10));
}

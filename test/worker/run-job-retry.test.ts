/**
 * A worker's retry after a store fault failed a run: it continues what was not stored, and
 * leaves alone an end that reached the store though its answer was lost.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { StoreUnavailableError } from "../../src/errors.js";
import {
  END,
  Graph,
  GraphAgent,
  InterruptService,
  MemoryStore,
  START,
  type Store,
  silentLogger,
} from "../../src/index.js";
import type { ClaimedJob } from "../../src/worker/job.js";
import { runJob } from "../../src/worker/run-job.js";
import { CrashableStore, commitWithStatus } from "../engine/crashable-store.js";
import { eventually } from "../engine/engine-checks.js";

const Log = z.object({ log: z.array(z.string()).default([]) });

/** START → draft (waits for `release`) → publish → END, counting executions. */
function agentOver(store: Store, counts: Map<string, number>, release: Promise<void>) {
  const node = (name: string, wait?: Promise<void>) => async () => {
    counts.set(name, (counts.get(name) ?? 0) + 1);
    await wait;
    return { log: [name] };
  };
  const graph = new Graph({ state: Log, reducers: { log: "append" }, name: "retry-guard" })
    .addNode("draft", node("draft", release))
    .addNode("publish", node("publish"))
    .addEdge(START, "draft")
    .addEdge("draft", "publish")
    .addEdge("publish", END)
    .compile();
  const interrupts = new InterruptService({ store, logger: silentLogger });
  const agent = new GraphAgent({
    graph,
    store,
    interrupts,
    logger: silentLogger,
    leaseTtlMs: 1_000,
  });
  return { agent, interrupts };
}

function retryJob(sessionId: string, run: string): ClaimedJob {
  const data = { v: 1 as const, kind: "retry" as const, agent: "a", sessionId, attempt: 1, run };
  return { id: "job-1", queue: "trellis-resume", data, retryCount: 0, createdAt: Date.now() };
}

const cut = () => {
  throw new StoreUnavailableError("memory", "the connection was cut");
};

/** Runs the agent over `cutting` until a suspend pause ends it. */
async function runToPause(cutting: CrashableStore, counts: Map<string, number>, id: string) {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const one = agentOver(cutting, counts, released);
  const run = one.agent.run({}, { sessionId: id });
  await eventually(() => counts.has("draft"), "draft starts");
  await one.interrupts.send(id, { type: "pause", mode: "suspend" }, { sender: "ana" });
  release();
  return run;
}

describe("a worker's retry after a store fault", () => {
  it("skips a session whose pause reached the store though the run reported it failed", async () => {
    const store = new MemoryStore({ logger: silentLogger });
    const counts = new Map<string, number>();
    const cutting = new CrashableStore(store);
    cutting.after(commitWithStatus("paused"), cut);
    const first = await runToPause(cutting, counts, "lost-answer");
    expect(first.status).toBe("failed");
    expect((await store.sessions.get("lost-answer"))?.status).toBe("paused");

    const { agent } = agentOver(store, counts, Promise.resolve());
    const result = await runJob(retryJob("lost-answer", first.runId), agent, store);
    expect(result).toEqual({ kind: "skipped", reason: "the run to retry ended paused after all" });
    // Resuming would have gone past the pause someone asked for.
    expect((await store.sessions.get("lost-answer"))?.status).toBe("paused");
    expect(counts.get("publish")).toBeUndefined();
  });

  it("redoes a pause whose write did not reach the store", async () => {
    const store = new MemoryStore({ logger: silentLogger });
    const counts = new Map<string, number>();
    const cutting = new CrashableStore(store);
    cutting.before(commitWithStatus("paused"), cut);
    const first = await runToPause(cutting, counts, "unwritten");
    expect(first.status).toBe("failed");
    expect((await store.sessions.get("unwritten"))?.status).toBe("running");

    const { agent } = agentOver(store, counts, Promise.resolve());
    const result = await runJob(retryJob("unwritten", first.runId), agent, store);
    // The pause is still queued: the continued run obeys it.
    expect(result).toMatchObject({ kind: "ran", status: "paused", takeover: true });
    expect(counts.get("draft")).toBe(1);
  });

  it("continues a resumed run whose first write failed, past the earlier run's pause", async () => {
    const store = new MemoryStore({ logger: silentLogger });
    const counts = new Map<string, number>();
    const paused = await runToPause(new CrashableStore(store), counts, "resumed");
    expect(paused.status).toBe("paused");

    const cutting = new CrashableStore(store);
    // Nothing of the resumed run reaches the store: its process lost the connection for good.
    cutting.before(
      (call) => call.name === "commit",
      () => {
        cutting.crash();
        cut();
      },
    );
    const second = await agentOver(cutting, counts, Promise.resolve()).agent.resume("resumed");
    expect(second.status).toBe("failed");
    expect(second.runId).not.toBe(paused.runId);
    // The lease it took runs out: nobody could tell it to let go.
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    const { agent } = agentOver(store, counts, Promise.resolve());
    const result = await runJob(retryJob("resumed", second.runId), agent, store);
    expect(result).toMatchObject({ kind: "ran", status: "completed" });
    expect(Object.fromEntries(counts)).toEqual({ draft: 1, publish: 1 });
  });

  it("without the failed run's id, continues a session as before", async () => {
    const store = new MemoryStore({ logger: silentLogger });
    const counts = new Map<string, number>();
    const paused = await runToPause(new CrashableStore(store), counts, "no-run");
    const { agent } = agentOver(store, counts, Promise.resolve());
    const job = retryJob("no-run", paused.runId);
    const { run: _run, ...data } = job.data as { run: string };
    const result = await runJob({ ...job, data: data as ClaimedJob["data"] }, agent, store);
    expect(result).toMatchObject({ kind: "ran", status: "completed" });
  });
});
